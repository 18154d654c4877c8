// RULER's effective length from scores: the longest evaluated length whose average over tasks
// stays above a threshold, the default threshold being 0.9 x the average at the training length.
// Pure functions over plain values (no LibTorch types), tested on fixture scores.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ctx {

// One cell's mean score: a task at a length (and depth; cells of one task and length are averaged
// first, so every task counts once per length).
struct TaskScore {
  std::string task;
  int64_t length = 0;
  double score = 0;
};

// Length -> mean over tasks of each task's mean over its cells at that length.
std::map<int64_t, double> average_over_tasks(const std::vector<TaskScore>& scores);

struct EffectiveLength {
  int64_t length = 0;            // 0 when no length qualifies
  double threshold = 0;
  int64_t reference_length = 0;  // the length the default threshold comes from (reference_average)
  double reference_score = 0;
  std::map<int64_t, double> averages;
};

// The reference for the default threshold: the evaluated length nearest to `train_length` at or
// below it (the shortest evaluated length when all are above it) and its average.
std::pair<int64_t, double> reference_average(const std::map<int64_t, double>& averages,
                                             int64_t train_length);

// The longest length L such that every evaluated length up to L averages strictly above the
// threshold ("stays above": a dip at a shorter length ends it); 0 when the shortest does not.
int64_t longest_above(const std::map<int64_t, double>& averages, double threshold);

// Both together: `threshold` when given, else 0.9 x reference_average(averages, train_length).
EffectiveLength effective_length(const std::map<int64_t, double>& averages, int64_t train_length,
                                 std::optional<double> threshold = std::nullopt);

}  // namespace ctx
