// Retrieval results (issue 5's store contract) shaped for plotting, as pure functions: passkey
// accuracy by length, a depth × length grid (needle, or passkey at fixed depths), and key-value
// accuracy by the queried pair's position, one curve per length.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "store/run_store.h"

namespace ctx::gui {

struct Curve {
  std::vector<double> x, y;
};

// Accuracy of task "passkey" per length: the random-depth aggregate (y = -1) where recorded, else
// the mean over the depths at that length, weighted by trials when extra_json has them.
Curve passkeyByLength(const std::vector<store::EvalRecord>& evals);

struct DepthGrid {
  std::vector<double> lengths;  // ascending, distinct
  std::vector<double> depths;   // ascending, in percent (passkey's 0..1 fractions scaled by 100)
  // accuracy[d][l]: depth index d, length index l; NaN where nothing was recorded.
  std::vector<std::vector<double>> accuracy;
  std::vector<std::vector<int>> trials, correct;  // from extra_json; -1 when absent
  bool empty() const { return lengths.empty(); }
};
// "needle": y is depth in percent; "passkey": y is a depth fraction (the y = -1 aggregate is left out).
DepthGrid depthGrid(const std::vector<store::EvalRecord>& evals, const std::string& task);

// Task "kvretrieval": accuracy against the queried pair's relative position, one curve per length.
std::map<double, Curve> kvByPosition(const std::vector<store::EvalRecord>& evals);

}  // namespace ctx::gui
