// RULER-style task results as the tasks tab reads them, as pure functions over a run's evaluation
// records: a task × length score table (task "ruler/<task>", mode "greedy", metric "accuracy"),
// a depth × length grid of one needle task, and the run's effective length (task "ruler", mode
// "effective_length").
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "store/run_store.h"

namespace ctx::gui {

// "ruler/niah_single_1" -> "niah_single_1"; empty for records of other tasks.
std::string rulerTaskName(const std::string& task);
// RULER's order: the needle variants, variable tracking, the aggregation tasks; others after, by name.
void sortRulerTasks(std::vector<std::string>& tasks);

struct TaskTable {
  std::vector<std::string> tasks;  // without "ruler/", in RULER's order
  std::vector<double> lengths;     // ascending
  // score[t][l]: mean score 0..1 of task t at length l over its depths (weighted by samples when
  // the records carry them; the depth-free y = -1 record where there is one); NaN: not evaluated.
  std::vector<std::vector<double>> score;
  std::vector<std::vector<int>> samples;  // 0 when unknown
  // Per length: the engine's average over tasks (the effective length record's "averages") where
  // stored, else the mean of the tasks evaluated at that length; NaN when none was.
  std::vector<double> average;
  bool empty() const { return tasks.empty(); }
  // Indices, or -1.
  int taskIndex(const std::string& task) const;
  int lengthIndex(double length) const;
};
TaskTable taskTable(const std::vector<store::EvalRecord>& evals);

struct EffectiveLength {
  bool present = false;  // the run has an effective-length record
  double length = 0;     // tokens; 0 = no length passed the threshold
  double threshold = NAN, reference_length = NAN, reference_score = NAN;
  // "effective length 4096 (threshold 85.6%)", or "no effective length (…)"; empty when absent.
  std::string text() const;
};
// The latest record's (highest step) when there are several.
EffectiveLength effectiveLength(const std::vector<store::EvalRecord>& evals);

// Tasks with depth-placed records (y >= 0), in RULER's order: those a depth grid can show.
std::vector<std::string> depthTasks(const std::vector<store::EvalRecord>& evals);

struct TaskDepthGrid {
  std::vector<double> lengths;               // ascending
  std::vector<double> depths;                // percent (the stored fractions × 100), ascending
  std::vector<std::vector<double>> score;    // [depth][length], NaN where not evaluated
  std::vector<std::vector<int>> samples;     // [depth][length], 0 when unknown
  bool empty() const { return lengths.empty() || depths.empty(); }
};
TaskDepthGrid taskDepthGrid(const std::vector<store::EvalRecord>& evals, const std::string& task);

}  // namespace ctx::gui
