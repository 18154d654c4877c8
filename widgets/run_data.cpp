// Merging follower deltas into the window's per-run data.
#include "widgets/run_data.h"

namespace ctx::gui {

void Series::append(const Series& more) {
  step.insert(step.end(), more.step.begin(), more.step.end());
  value.insert(value.end(), more.value.begin(), more.value.end());
  wall.insert(wall.end(), more.wall.begin(), more.wall.end());
}

ArtifactPtr RunDetail::blob(const std::string& name, int64_t step) const {
  if (step < 0) {
    auto it = artifact_steps.find(name);
    if (it == artifact_steps.end() || it->second.empty()) return nullptr;
    step = it->second.back();
  }
  auto b = blobs.find({name, step});
  return b == blobs.end() ? nullptr : b->second;
}

std::vector<store::EvalRecord> RunDetail::evals_of(const std::string& task, const std::string& metric) const {
  std::vector<store::EvalRecord> out;
  for (const auto& e : evals)
    if (e.task == task && (metric.empty() || e.metric == metric)) out.push_back(e);
  return out;
}

void DetailDelta::apply_to(RunDetail& d) const {
  if (reset) d = RunDetail{};
  for (const auto& [name, s] : appended) d.series[name].append(s);
  if (evals) d.evals = *evals;
  if (artifact_steps) d.artifact_steps = *artifact_steps;
  for (const auto& b : blobs) d.blobs[{b->name, b->step}] = b;
}

}  // namespace ctx::gui
