// The run store: every run, metric, evaluation result and artifact in one SQLite file.
// SQLite only (no LibTorch, no Qt): the CLI, the trainer and the window all link it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/input_error.h"

namespace ctx::store {

// A store problem, phrased as one line that names the file or value at fault.
struct StoreError : InputError {
  using InputError::InputError;
};
// The file is a CtxLab store with damaged pages: refused for writing; readers may open it
// read-only and show what still reads.
struct StoreDamagedError : StoreError {
  using StoreError::StoreError;
};

enum class RunStatus { Queued, Running, Finished, Failed, Interrupted, Diverged };
std::string to_string(RunStatus s);
RunStatus status_from_string(const std::string& s);  // throws StoreError on unknown text

struct NewRun {
  std::string name;
  std::string config_json;  // the resolved config, as JSON text
  std::string method;       // short label for the run list, e.g. "yarn x8 + contiguous"
  std::optional<int64_t> parent;
  std::optional<int64_t> study;
  std::string engine_version;
  std::string device;
  RunStatus status = RunStatus::Queued;
};

struct RunRecord {
  int64_t id = 0;
  std::string name;
  std::optional<int64_t> parent;
  std::optional<int64_t> study;
  RunStatus status = RunStatus::Queued;
  double created = 0, started = 0, ended = 0, heartbeat = 0;  // unix seconds; 0 = not yet
  std::string config_json;
  std::string method;
  std::string engine_version;
  std::string device;
  std::string error;
  std::string host;  // where the owning process runs
  int64_t pid = 0;   // owning process, for interrupted detection
  std::string run_dir;
};

struct MetricPoint {
  int64_t step = 0;
  double value = 0;
  double wall = 0;
};

// One evaluation number with its own axes: task ("ppl", "passkey", ...), mode ("nonoverlap",
// "sliding", ...), x (length), y (depth or position; 0 when unused), metric ("ppl", "loss",
// "accuracy", ...). Unique on (run, task, mode, x, y, metric): recording again overwrites.
struct EvalRecord {
  std::string task;
  std::string mode;
  double x = 0;
  double y = 0;
  std::string metric;
  double value = 0;
  int64_t step = 0;  // training step of the checkpoint evaluated
  std::string extra_json = "{}";
};

// A binary artifact: pooled attention maps, per-position loss curves, position histograms.
struct Artifact {
  std::string name;   // e.g. "position_loss/nonoverlap/1024", "positions/ids"
  int64_t step = 0;
  std::string dtype;  // "f32", "f64", "i64", "u8"
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;
};

// A run as a run list shows it: the record, its latest metric values, its perplexity results,
// tags and note. Read in a handful of bulk queries (RunStore::run_summaries), not one per run.
struct RunSummary {
  struct Ppl {
    std::string mode;
    double length = 0;
    double ppl = 0;
  };
  RunRecord run;
  std::map<std::string, MetricPoint> latest;
  std::vector<Ppl> ppl;  // task "ppl", metric "ppl", ascending length
  std::vector<std::string> tags;
  std::string note;
};

struct Study {
  int64_t id = 0;
  std::string name;
  double created = 0;
  std::string description;
};

class RunStore {
 public:
  static constexpr int kSchemaVersion = 1;
  static constexpr int32_t kApplicationId = 0x43544c42;  // "CTLB", PRAGMA application_id

  // Opens or creates the store at `path` (WAL, busy_timeout, forward migrations). A new store is
  // built whole under a temporary name and linked into place, so concurrent first users all open
  // the same complete store. Throws StoreError naming the file when it is not a SQLite file (read
  // from its first bytes, before SQLite touches it), an empty file, not a CtxLab store, or from a
  // newer schema; StoreDamagedError when opened for writing with damaged pages. `read_only` opens
  // without creating, migrating or checking pages (the window's follower threads, readers of a
  // damaged store). Run folders are stored relative to the store's folder.
  explicit RunStore(const std::string& path, bool read_only = false);
  ~RunStore();
  RunStore(const RunStore&) = delete;
  RunStore& operator=(const RunStore&) = delete;

  const std::string& path() const;
  int schema_version() const;

  // --- runs
  int64_t create_run(const NewRun& run);
  RunRecord get_run(int64_t id) const;  // throws StoreError "no run N in FILE"
  std::optional<RunRecord> find_run(int64_t id) const;
  std::vector<RunRecord> list_runs() const;  // newest first
  std::vector<RunRecord> runs_changed_since(double wall) const;  // for the live follower
  // Every run (since = 0), or those whose row, latest metrics or evaluations changed at or after
  // `since`; newest first. The window's run list and its follower read this.
  std::vector<RunSummary> run_summaries(double since = 0) const;
  int64_t run_count() const;
  void mark_running(int64_t id, int64_t pid, const std::string& host, const std::string& device);
  void set_status(int64_t id, RunStatus s, const std::string& error = "");  // sets ended for terminal states
  void heartbeat(int64_t id);
  // Kept relative to the store's folder when inside it (a relative `dir` is taken as relative to
  // that folder); RunRecord::run_dir gives it back absolute.
  void set_run_dir(int64_t id, const std::string& dir);
  void set_config(int64_t id, const std::string& config_json);
  void rename_run(int64_t id, const std::string& name);
  void delete_run(int64_t id);  // and everything that hangs off it
  // Runs marked running whose process is gone (same host, pid not alive) or whose heartbeat is
  // older than `stale_after_s` become interrupted. Returns the ids changed.
  std::vector<int64_t> reconcile_interrupted(double stale_after_s = 120.0);

  // --- metrics: narrow rows, upsert on (run, metric, step)
  void log_metrics(int64_t run, int64_t step, const std::vector<std::pair<std::string, double>>& values);
  std::vector<MetricPoint> metric_series(int64_t run, const std::string& metric,
                                         int64_t after_step = -1) const;  // step > after_step, ascending
  std::vector<std::string> metric_names(int64_t run) const;
  std::map<std::string, MetricPoint> latest_metrics(int64_t run) const;  // from the latest-value table
  // Removes metric points with step > `step` (resume overwrites what came after its checkpoint).
  void truncate_metrics_after(int64_t run, int64_t step);

  // --- evaluation results
  void record_eval(int64_t run, const EvalRecord& rec);
  std::vector<EvalRecord> evals(int64_t run, const std::string& task = "") const;

  // --- artifacts (blobs with shape and dtype); unique on (run, name, step)
  void put_artifact(int64_t run, const Artifact& a);
  std::optional<Artifact> artifact(int64_t run, const std::string& name, int64_t step = -1) const;  // -1: latest step
  std::vector<std::pair<std::string, int64_t>> list_artifacts(int64_t run) const;  // (name, step)

  // --- tags, notes, studies
  void add_tag(int64_t run, const std::string& tag);
  void remove_tag(int64_t run, const std::string& tag);
  std::vector<std::string> tags(int64_t run) const;
  void set_note(int64_t run, const std::string& note);
  std::string note(int64_t run) const;
  int64_t create_study(const std::string& name, const std::string& description = "");
  std::vector<Study> list_studies() const;
  std::vector<int64_t> study_runs(int64_t study) const;

  // Runs a function inside one transaction (all-or-nothing), e.g. a batch of metrics + artifact.
  template <class F>
  void transaction(F&& f) {
    begin();
    try {
      f();
    } catch (...) {
      rollback();
      throw;
    }
    commit();
  }

 private:
  void begin();
  void commit();
  void rollback();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Helpers for artifacts of plain float vectors.
Artifact make_f32_artifact(const std::string& name, int64_t step, const std::vector<float>& v,
                           std::vector<int64_t> shape = {});
std::vector<float> artifact_as_f32(const Artifact& a);  // throws StoreError if dtype differs

double now_seconds();
std::string host_name();

}  // namespace ctx::store
