// Effective length: averaging over tasks and the threshold rule.
#include "eval/effective_length.h"

#include <iterator>
#include <tuple>

namespace ctx {

constexpr double kDefaultFraction = 0.9;

std::map<int64_t, double> average_over_tasks(const std::vector<TaskScore>& scores) {
  std::map<std::pair<int64_t, std::string>, std::pair<double, int64_t>> per_task;
  for (const auto& s : scores) {
    auto& [sum, n] = per_task[{s.length, s.task}];
    sum += s.score;
    n += 1;
  }
  std::map<int64_t, std::pair<double, int64_t>> per_length;
  for (const auto& [key, v] : per_task) {
    auto& [sum, n] = per_length[key.first];
    sum += v.first / static_cast<double>(v.second);
    n += 1;
  }
  std::map<int64_t, double> out;
  for (const auto& [L, v] : per_length) out[L] = v.first / static_cast<double>(v.second);
  return out;
}

std::pair<int64_t, double> reference_average(const std::map<int64_t, double>& averages,
                                             int64_t train_length) {
  if (averages.empty()) return {0, 0};
  auto it = averages.upper_bound(train_length);  // first length above the training length
  if (it == averages.begin()) return *it;        // all above: the shortest
  return *std::prev(it);
}

int64_t longest_above(const std::map<int64_t, double>& averages, double threshold) {
  int64_t best = 0;
  for (const auto& [L, avg] : averages) {
    if (!(avg > threshold)) break;
    best = L;
  }
  return best;
}

EffectiveLength effective_length(const std::map<int64_t, double>& averages, int64_t train_length,
                                 std::optional<double> threshold) {
  EffectiveLength e;
  e.averages = averages;
  std::tie(e.reference_length, e.reference_score) = reference_average(averages, train_length);
  e.threshold = threshold ? *threshold : kDefaultFraction * e.reference_score;
  e.length = longest_above(averages, e.threshold);
  return e;
}

}  // namespace ctx
