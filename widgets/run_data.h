// What the window knows about runs, as plain values: the run list's summaries and, for the runs a
// plot shows, their metric series, evaluation results and artifacts. Filled by StoreFollower off
// the GUI thread and handed over whole (shared, immutable) through queued signals.
#pragma once

#include <QMetaType>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "store/run_store.h"

namespace ctx::gui {

// One metric's points in step order; `tokens` is the matching tokens_seen value when the run logs it.
struct Series {
  std::vector<double> step, value, wall;
  void append(const Series& more);
};

using ArtifactPtr = std::shared_ptr<const store::Artifact>;

struct RunDetail {
  std::map<std::string, Series> series;
  std::vector<store::EvalRecord> evals;
  std::map<std::string, std::vector<int64_t>> artifact_steps;  // name -> steps, ascending
  std::map<std::pair<std::string, int64_t>, ArtifactPtr> blobs;

  // The blob of `name` at `step` (-1: its latest step), when it has been fetched.
  ArtifactPtr blob(const std::string& name, int64_t step = -1) const;
  // Evaluation results of one task (and metric, when given).
  std::vector<store::EvalRecord> evals_of(const std::string& task, const std::string& metric = "") const;
};

// What one follower poll learned about one watched run.
struct DetailDelta {
  int64_t run = 0;
  bool reset = false;                          // replace what is held (first read, or a resume rewrote it)
  std::map<std::string, Series> appended;      // points after those delivered before
  std::optional<std::vector<store::EvalRecord>> evals;
  std::optional<std::map<std::string, std::vector<int64_t>>> artifact_steps;
  std::vector<ArtifactPtr> blobs;
  void apply_to(RunDetail& d) const;
};

struct SummaryBatch {
  bool full = false;  // the whole store (first read): runs not in it are gone
  std::vector<store::RunSummary> runs;
  std::vector<store::Study> studies;
};

using SummaryBatchPtr = std::shared_ptr<const SummaryBatch>;
using DetailBatchPtr = std::shared_ptr<const std::vector<DetailDelta>>;

}  // namespace ctx::gui

Q_DECLARE_METATYPE(ctx::gui::SummaryBatchPtr)
Q_DECLARE_METATYPE(ctx::gui::DetailBatchPtr)
Q_DECLARE_METATYPE(ctx::gui::ArtifactPtr)
