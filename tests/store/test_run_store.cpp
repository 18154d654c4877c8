// RunStore records: runs, metric points (upsert, latest values, truncation on resume, incremental
// reads), evaluation results, artifacts, tags, notes, studies, deletion and transactions.

#include <SQLiteCpp/Database.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <thread>

#include "store/run_store.h"

using namespace ctx::store;

namespace {

std::string temp_db() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string p = std::string(CTXLAB_TEST_TMP) + "/store_" + info->test_suite_name() + "_" +
                        info->name() + ".db";
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(p + suffix);
  return p;
}

void pause_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

std::vector<int64_t> steps_of(const std::vector<MetricPoint>& pts) {
  std::vector<int64_t> out;
  for (const auto& p : pts) out.push_back(p.step);
  return out;
}

std::vector<int64_t> ids_of(const std::vector<RunRecord>& runs) {
  std::vector<int64_t> out;
  for (const auto& r : runs) out.push_back(r.id);
  return out;
}

class StoreFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = temp_db();
    store_ = std::make_unique<RunStore>(path_);
  }
  int64_t new_run(const std::string& name = "run", std::optional<int64_t> parent = {}) {
    NewRun n;
    n.name = name;
    n.parent = parent;
    return store_->create_run(n);
  }
  int64_t rows(const std::string& table, int64_t run) {
    SQLite::Database raw(path_, SQLite::OPEN_READONLY);
    return raw.execAndGet("SELECT count(*) FROM " + table + " WHERE run = " + std::to_string(run))
        .getInt64();
  }
  std::string path_;
  std::unique_ptr<RunStore> store_;
};

class RunStoreRuns : public StoreFixture {};
class RunStoreMetrics : public StoreFixture {};
class RunStoreEvals : public StoreFixture {};
class RunStoreArtifacts : public StoreFixture {};
class RunStoreMeta : public StoreFixture {};
class RunStoreTx : public StoreFixture {};

}  // namespace

TEST_F(RunStoreRuns, CreateGetListRoundTripAllFields) {
  const int64_t study = store_->create_study("sweep", "yarn factors");
  const int64_t parent = new_run("base");
  NewRun n;
  n.name = "yarn-x8";
  n.config_json = R"({"seed":1,"model":{"layers":4}})";
  n.method = "yarn x8 + contiguous";
  n.parent = parent;
  n.study = study;
  n.engine_version = "0.1.0";
  n.device = "cuda:0";
  const double t0 = now_seconds();
  const int64_t id = store_->create_run(n);

  RunRecord r = store_->get_run(id);
  EXPECT_EQ(r.id, id);
  EXPECT_EQ(r.name, "yarn-x8");
  EXPECT_EQ(r.parent, parent);
  EXPECT_EQ(r.study, study);
  EXPECT_EQ(r.status, RunStatus::Queued);
  EXPECT_NEAR(r.created, t0, 5.0);
  EXPECT_EQ(r.started, 0);
  EXPECT_EQ(r.ended, 0);
  EXPECT_EQ(r.heartbeat, 0);
  EXPECT_EQ(r.config_json, n.config_json);
  EXPECT_EQ(r.method, n.method);
  EXPECT_EQ(r.engine_version, "0.1.0");
  EXPECT_EQ(r.device, "cuda:0");
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.host, "");
  EXPECT_EQ(r.pid, 0);
  EXPECT_EQ(r.run_dir, "");
  EXPECT_FALSE(store_->get_run(parent).parent.has_value());

  store_->mark_running(id, 4242, "gpu-box", "cuda:1");
  store_->set_run_dir(id, "experiments.runs/7");
  store_->rename_run(id, "yarn-x8-b");
  store_->set_config(id, R"({"seed":2})");
  r = store_->get_run(id);
  EXPECT_EQ(r.status, RunStatus::Running);
  EXPECT_EQ(r.pid, 4242);
  EXPECT_EQ(r.host, "gpu-box");
  EXPECT_EQ(r.device, "cuda:1");
  EXPECT_GT(r.started, 0);
  EXPECT_GT(r.heartbeat, 0);
  // Relative to the store's folder, given back absolute.
  EXPECT_EQ(r.run_dir, (std::filesystem::absolute(store_->path()).parent_path() /
                        "experiments.runs/7").lexically_normal().string());
  EXPECT_EQ(r.name, "yarn-x8-b");
  EXPECT_EQ(r.config_json, R"({"seed":2})");

  EXPECT_EQ(ids_of(store_->list_runs()), (std::vector<int64_t>{id, parent}));  // newest first
  EXPECT_FALSE(store_->find_run(id + 100).has_value());
  try {
    store_->get_run(id + 100);
    FAIL();
  } catch (const StoreError& e) {
    EXPECT_EQ(std::string(e.what()), "no run " + std::to_string(id + 100) + " in " + path_);
  }
}

TEST_F(RunStoreRuns, StatusStringsRoundTrip) {
  for (RunStatus s : {RunStatus::Queued, RunStatus::Running, RunStatus::Finished, RunStatus::Failed,
                      RunStatus::Interrupted, RunStatus::Diverged}) {
    EXPECT_EQ(status_from_string(to_string(s)), s);
  }
  EXPECT_EQ(to_string(RunStatus::Diverged), "diverged");
  EXPECT_THROW(status_from_string("Running"), StoreError);
}

TEST_F(RunStoreRuns, TerminalStatusSetsEndedAndResumeClearsIt) {
  const int64_t id = new_run();
  store_->set_status(id, RunStatus::Running);
  EXPECT_GT(store_->get_run(id).started, 0);
  EXPECT_EQ(store_->get_run(id).ended, 0);
  for (RunStatus s :
       {RunStatus::Finished, RunStatus::Failed, RunStatus::Interrupted, RunStatus::Diverged}) {
    store_->set_status(id, s, "why " + to_string(s));
    const RunRecord r = store_->get_run(id);
    EXPECT_EQ(r.status, s);
    EXPECT_GT(r.ended, 0) << to_string(s);
    EXPECT_EQ(r.error, "why " + to_string(s));
  }
  const double first_start = store_->get_run(id).started;
  store_->mark_running(id, 77, "h", "");
  const RunRecord r = store_->get_run(id);
  EXPECT_EQ(r.ended, 0);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.started, first_start);  // a resume keeps the first start
  store_->set_status(id, RunStatus::Queued);
  EXPECT_EQ(store_->get_run(id).ended, 0);
}

TEST_F(RunStoreRuns, WritesToMissingRunsAndBadJsonAreRefused) {
  const int64_t ghost = 999;
  EXPECT_THROW(store_->set_status(ghost, RunStatus::Finished), StoreError);
  EXPECT_THROW(store_->heartbeat(ghost), StoreError);
  EXPECT_THROW(store_->mark_running(ghost, 1, "h", "d"), StoreError);
  EXPECT_THROW(store_->log_metrics(ghost, 0, {{"loss", 1.0}}), StoreError);
  EXPECT_THROW(store_->put_artifact(ghost, make_f32_artifact("a", 0, {1.f})), StoreError);
  EXPECT_THROW(store_->add_tag(ghost, "x"), StoreError);
  EXPECT_THROW(store_->delete_run(ghost), StoreError);
  NewRun n;
  n.parent = ghost;
  EXPECT_THROW(store_->create_run(n), StoreError);
  n.parent.reset();
  n.study = ghost;
  EXPECT_THROW(store_->create_run(n), StoreError);
  n.study.reset();
  n.config_json = "{not json";
  EXPECT_THROW(store_->create_run(n), StoreError);
  EXPECT_TRUE(store_->list_runs().empty());
  n.config_json = "";
  EXPECT_EQ(store_->get_run(store_->create_run(n)).config_json, "{}");
}

TEST_F(RunStoreRuns, ChangedSinceSeesNewAndTouchedRuns) {
  const int64_t a = new_run("a");
  pause_ms(5);
  const double t1 = now_seconds();
  pause_ms(5);
  const int64_t b = new_run("b");
  EXPECT_EQ(ids_of(store_->runs_changed_since(t1)), (std::vector<int64_t>{b}));
  store_->heartbeat(a);
  EXPECT_EQ(ids_of(store_->runs_changed_since(t1)), (std::vector<int64_t>{a, b}));
  pause_ms(5);
  const double t2 = now_seconds();
  pause_ms(5);
  EXPECT_TRUE(store_->runs_changed_since(t2).empty());
  store_->set_status(b, RunStatus::Finished);
  EXPECT_EQ(ids_of(store_->runs_changed_since(t2)), (std::vector<int64_t>{b}));
}

TEST_F(RunStoreRuns, DeleteRunRemovesEverythingHangingOffIt) {
  const int64_t a = new_run("a");
  const int64_t child = new_run("child", a);
  for (int64_t r : {a, child}) {
    store_->log_metrics(r, 0, {{"loss", 1.0}, {"lr", 0.1}});
    EvalRecord e;
    e.task = "ppl";
    e.mode = "nonoverlap";
    e.x = 128;
    e.metric = "ppl";
    e.value = 12;
    store_->record_eval(r, e);
    store_->put_artifact(r, make_f32_artifact("hist", 0, {1.f, 2.f}));
    store_->add_tag(r, "keep");
    store_->set_note(r, "a note");
  }
  store_->delete_run(a);
  EXPECT_FALSE(store_->find_run(a).has_value());
  for (const char* t : {"metrics", "metrics_latest", "evals", "artifacts", "tags", "notes"}) {
    EXPECT_EQ(rows(t, a), 0) << t;
    const bool per_metric = std::string(t).rfind("metrics", 0) == 0;  // loss and lr
    EXPECT_EQ(rows(t, child), per_metric ? 2 : 1) << t;
  }
  EXPECT_FALSE(store_->get_run(child).parent.has_value());
  EXPECT_EQ(store_->metric_series(child, "loss").size(), 1u);
  EXPECT_THROW(store_->delete_run(a), StoreError);
  EXPECT_GT(new_run("next"), child);  // ids are not reused
}

TEST_F(RunStoreMetrics, UpsertKeepsOneRowPerStep) {
  const int64_t r = new_run();
  store_->log_metrics(r, 5, {{"loss", 1.0}});
  store_->log_metrics(r, 5, {{"loss", 0.5}});
  const auto s = store_->metric_series(r, "loss");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].step, 5);
  EXPECT_EQ(s[0].value, 0.5);
  EXPECT_EQ(rows("metrics", r), 1);
  EXPECT_EQ(store_->latest_metrics(r).at("loss").value, 0.5);
}

TEST_F(RunStoreMetrics, LatestTableHoldsMaxStepPerMetric) {
  const int64_t r = new_run();
  const int64_t other = new_run();
  for (int64_t step = 0; step <= 10; ++step) {
    std::vector<std::pair<std::string, double>> v = {{"loss", 10.0 - step}, {"lr", 0.001 * step}};
    if (step % 5 == 0) v.push_back({"val_loss", 20.0 - step});
    store_->log_metrics(r, step, v);
  }
  store_->log_metrics(other, 100, {{"loss", 42}});
  store_->log_metrics(r, 3, {{"loss", -1.0}});  // an older step again: latest stays at 10
  auto latest = store_->latest_metrics(r);
  ASSERT_EQ(latest.size(), 3u);
  EXPECT_EQ(latest.at("loss").step, 10);
  EXPECT_EQ(latest.at("loss").value, 0.0);
  EXPECT_GT(latest.at("loss").wall, 0);
  EXPECT_EQ(latest.at("val_loss").step, 10);
  EXPECT_EQ(latest.at("val_loss").value, 10.0);
  EXPECT_EQ(store_->metric_names(r), (std::vector<std::string>{"loss", "lr", "val_loss"}));
  EXPECT_EQ(store_->metric_names(other), (std::vector<std::string>{"loss"}));
  EXPECT_EQ(store_->latest_metrics(other).at("loss").step, 100);
}

TEST_F(RunStoreMetrics, TruncateThenRelogResumesWithoutDuplicates) {
  const int64_t r = new_run();
  for (int64_t step = 0; step <= 20; ++step) {
    std::vector<std::pair<std::string, double>> v = {{"loss", 1.0 * step}};
    if (step % 5 == 0) v.push_back({"val", 100.0 + step});
    if (step == 18) v.push_back({"late", 1.0});
    store_->log_metrics(r, step, v);
  }
  store_->truncate_metrics_after(r, 12);
  auto loss = store_->metric_series(r, "loss");
  ASSERT_EQ(loss.size(), 13u);
  EXPECT_EQ(loss.back().step, 12);
  auto latest = store_->latest_metrics(r);
  EXPECT_EQ(latest.at("loss").step, 12);
  EXPECT_EQ(latest.at("loss").value, 12.0);
  EXPECT_EQ(latest.at("val").step, 10);
  EXPECT_EQ(latest.at("val").value, 110.0);
  EXPECT_EQ(latest.count("late"), 0u);  // all its points came after the cut
  EXPECT_EQ(store_->metric_names(r), (std::vector<std::string>{"loss", "val"}));

  for (int64_t step = 13; step <= 15; ++step) store_->log_metrics(r, step, {{"loss", -1.0 * step}});
  loss = store_->metric_series(r, "loss");
  std::vector<int64_t> want;
  for (int64_t s = 0; s <= 15; ++s) want.push_back(s);
  EXPECT_EQ(steps_of(loss), want);
  EXPECT_EQ(loss.back().value, -15.0);
  EXPECT_EQ(store_->latest_metrics(r).at("loss").step, 15);
  EXPECT_EQ(rows("metrics", r), 16 + 3);  // loss 0..15, val 0/5/10

  store_->truncate_metrics_after(r, -1);
  EXPECT_TRUE(store_->latest_metrics(r).empty());
  EXPECT_EQ(rows("metrics", r), 0);
}

TEST_F(RunStoreMetrics, IncrementalReadsReturnOnlyNewerSteps) {
  const int64_t r = new_run();
  const int64_t other = new_run();
  for (int64_t step = 0; step < 10; ++step) store_->log_metrics(r, step, {{"loss", 1.0 * step}});
  store_->log_metrics(other, 50, {{"loss", 7}});
  EXPECT_EQ(store_->metric_series(r, "loss").size(), 10u);
  EXPECT_EQ(steps_of(store_->metric_series(r, "loss", 4)), (std::vector<int64_t>{5, 6, 7, 8, 9}));
  EXPECT_TRUE(store_->metric_series(r, "loss", 9).empty());
  for (int64_t step = 10; step < 13; ++step) store_->log_metrics(r, step, {{"loss", 1.0 * step}});
  EXPECT_EQ(steps_of(store_->metric_series(r, "loss", 9)), (std::vector<int64_t>{10, 11, 12}));
  EXPECT_TRUE(store_->metric_series(r, "no_such_metric").empty());
  EXPECT_EQ(steps_of(store_->metric_series(other, "loss")), (std::vector<int64_t>{50}));
}

TEST_F(RunStoreMetrics, NonFiniteValuesComeBackAsLogged) {
  const int64_t r = new_run();
  const double inf = std::numeric_limits<double>::infinity();
  store_->log_metrics(r, 0, {{"loss", std::nan("")}, {"grad_norm", inf}});
  EXPECT_TRUE(std::isnan(store_->metric_series(r, "loss")[0].value));
  EXPECT_EQ(store_->metric_series(r, "grad_norm")[0].value, inf);
  EXPECT_TRUE(std::isnan(store_->latest_metrics(r).at("loss").value));
}

TEST_F(RunStoreEvals, UpsertAndFilterByTask) {
  const int64_t r = new_run();
  EvalRecord e;
  e.task = "ppl";
  e.mode = "nonoverlap";
  e.metric = "ppl";
  e.step = 300;
  for (double x : {256.0, 128.0}) {
    e.x = x;
    e.value = x / 10;
    store_->record_eval(r, e);
  }
  e.x = 128;
  e.value = 9.5;
  e.extra_json = R"({"tokens":4096})";
  store_->record_eval(r, e);  // overwrites (ppl, nonoverlap, 128, 0, ppl)
  EvalRecord pk;
  pk.task = "passkey";
  pk.mode = "needle";
  pk.x = 1024;
  pk.y = 0.5;
  pk.metric = "accuracy";
  pk.value = 1.0;
  store_->record_eval(r, pk);

  EXPECT_EQ(store_->evals(r).size(), 3u);
  const auto ppl = store_->evals(r, "ppl");
  ASSERT_EQ(ppl.size(), 2u);
  EXPECT_EQ(ppl[0].x, 128);
  EXPECT_EQ(ppl[0].value, 9.5);
  EXPECT_EQ(ppl[0].extra_json, R"({"tokens":4096})");
  EXPECT_EQ(ppl[0].step, 300);
  EXPECT_EQ(ppl[1].x, 256);
  EXPECT_EQ(ppl[1].value, 25.6);
  const auto keys = store_->evals(r, "passkey");
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].mode, "needle");
  EXPECT_EQ(keys[0].y, 0.5);
  EXPECT_EQ(keys[0].metric, "accuracy");
  EXPECT_EQ(keys[0].extra_json, "{}");
  EXPECT_TRUE(store_->evals(r, "nothing").empty());
  EXPECT_TRUE(store_->evals(new_run()).empty());
  pk.extra_json = "{oops";
  EXPECT_THROW(store_->record_eval(r, pk), StoreError);
}

TEST_F(RunStoreArtifacts, RoundTripShapeDtypeAndLatestStep) {
  const int64_t r = new_run();
  const std::vector<float> early = {1, 2, 3, 4, 5, 6};
  const std::vector<float> late = {6, 5, 4, 3, 2, 1};
  store_->put_artifact(r, make_f32_artifact("attn/l0", 10, early, {2, 3}));
  store_->put_artifact(r, make_f32_artifact("attn/l0", 20, late, {3, 2}));
  Artifact ids;
  ids.name = "positions/ids";
  ids.step = 5;
  ids.dtype = "u8";
  ids.shape = {2, 2};
  ids.data = {1, 2, 3, 255};
  store_->put_artifact(r, ids);

  auto a = store_->artifact(r, "attn/l0");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->step, 20);
  EXPECT_EQ(a->shape, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(artifact_as_f32(*a), late);
  a = store_->artifact(r, "attn/l0", 10);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->dtype, "f32");
  EXPECT_EQ(a->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(artifact_as_f32(*a), early);
  auto u = store_->artifact(r, "positions/ids", -1);
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->data, ids.data);
  EXPECT_EQ(u->dtype, "u8");
  EXPECT_THROW(artifact_as_f32(*u), StoreError);
  EXPECT_FALSE(store_->artifact(r, "attn/l0", 15).has_value());
  EXPECT_FALSE(store_->artifact(r, "missing").has_value());
  EXPECT_EQ(store_->list_artifacts(r),
            (std::vector<std::pair<std::string, int64_t>>{
                {"attn/l0", 10}, {"attn/l0", 20}, {"positions/ids", 5}}));

  store_->put_artifact(r, make_f32_artifact("attn/l0", 10, {7, 8}));  // same (name, step)
  a = store_->artifact(r, "attn/l0", 10);
  EXPECT_EQ(a->shape, (std::vector<int64_t>{2}));
  EXPECT_EQ(artifact_as_f32(*a), (std::vector<float>{7, 8}));
  EXPECT_EQ(rows("artifacts", r), 3);

  EXPECT_THROW(store_->put_artifact(r, make_f32_artifact("bad", 0, early, {4, 2})), StoreError);
  ids.dtype = "complex128";
  EXPECT_THROW(store_->put_artifact(r, ids), StoreError);
}

TEST_F(RunStoreMeta, TagsNotesAndStudies) {
  const int64_t r = new_run();
  store_->add_tag(r, "yarn");
  store_->add_tag(r, "baseline");
  store_->add_tag(r, "yarn");
  EXPECT_EQ(store_->tags(r), (std::vector<std::string>{"baseline", "yarn"}));
  store_->remove_tag(r, "yarn");
  EXPECT_EQ(store_->tags(r), (std::vector<std::string>{"baseline"}));
  EXPECT_THROW(store_->add_tag(r, ""), StoreError);

  EXPECT_EQ(store_->note(r), "");
  store_->set_note(r, "diverged at 2k, lower lr");
  EXPECT_EQ(store_->note(r), "diverged at 2k, lower lr");
  store_->set_note(r, "second thoughts");
  EXPECT_EQ(store_->note(r), "second thoughts");
  EXPECT_EQ(rows("notes", r), 1);
  store_->set_note(r, "");
  EXPECT_EQ(store_->note(r), "");

  const int64_t s1 = store_->create_study("factor sweep", "x2 x4 x8");
  const int64_t s2 = store_->create_study("samplers");
  NewRun n;
  n.study = s1;
  const int64_t a = store_->create_run(n);
  const int64_t b = store_->create_run(n);
  const auto studies = store_->list_studies();
  ASSERT_EQ(studies.size(), 2u);
  EXPECT_EQ(studies[0].id, s1);
  EXPECT_EQ(studies[0].name, "factor sweep");
  EXPECT_EQ(studies[0].description, "x2 x4 x8");
  EXPECT_GT(studies[0].created, 0);
  EXPECT_EQ(studies[1].name, "samplers");
  EXPECT_EQ(store_->study_runs(s1), (std::vector<int64_t>{a, b}));
  EXPECT_TRUE(store_->study_runs(s2).empty());
}

TEST_F(RunStoreTx, RollbackLeavesNothingBehind) {
  const int64_t r = new_run();
  EXPECT_THROW(store_->transaction([&] {
    store_->log_metrics(r, 0, {{"brand_new_metric", 1.0}});
    store_->put_artifact(r, make_f32_artifact("a", 0, {1.f}));
    store_->create_run(NewRun{});
    store_->add_tag(r, "t");
    throw std::runtime_error("trainer blew up");
  }),
               std::runtime_error);
  EXPECT_EQ(store_->list_runs().size(), 1u);
  EXPECT_TRUE(store_->metric_names(r).empty());
  EXPECT_TRUE(store_->list_artifacts(r).empty());
  EXPECT_TRUE(store_->tags(r).empty());
  {
    SQLite::Database raw(path_, SQLite::OPEN_READONLY);
    EXPECT_EQ(raw.execAndGet("SELECT count(*) FROM metric_names").getInt(), 0);
  }
  // The metric name created inside the rolled-back transaction must not linger in a cache.
  store_->log_metrics(r, 1, {{"brand_new_metric", 2.0}});
  EXPECT_EQ(store_->metric_series(r, "brand_new_metric").size(), 1u);
}

TEST_F(RunStoreTx, BatchCommitsTogetherAndNestedFailureUndoesOnlyItsPart) {
  const int64_t r = new_run();
  RunStore reader(path_, true);
  store_->transaction([&] {
    for (int64_t step = 0; step < 100; ++step) store_->log_metrics(r, step, {{"loss", 1.0}});
    EXPECT_TRUE(reader.metric_series(r, "loss").empty());  // not committed yet
    try {
      store_->transaction([&] {
        store_->log_metrics(r, 100, {{"inner", 1.0}});
        throw std::runtime_error("inner");
      });
    } catch (const std::runtime_error&) {
    }
    store_->log_metrics(r, 100, {{"after", 1.0}});
  });
  EXPECT_EQ(reader.metric_series(r, "loss").size(), 100u);
  EXPECT_EQ(reader.metric_names(r), (std::vector<std::string>{"after", "loss"}));
}
