// RunStore::run_summaries: the bulk rows of the run list agree with the per-run reads, and an
// incremental read returns exactly the runs touched since.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "store/run_store.h"

using namespace ctx::store;

namespace {

std::string temp_db(const std::string& name) {
  const std::string p = std::string(CTXLAB_TEST_TMP) + "/summaries_" + name + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(p + suffix);
  return p;
}

int64_t add_run(RunStore& db, const std::string& name) {
  NewRun r;
  r.name = name;
  r.method = "m-" + name;
  return db.create_run(r);
}

EvalRecord ppl(double length, double value, const std::string& metric = "ppl") {
  EvalRecord e;
  e.task = "ppl";
  e.mode = "nonoverlap";
  e.x = length;
  e.metric = metric;
  e.value = value;
  return e;
}

}  // namespace

TEST(RunSummaries, MatchPerRunReads) {
  RunStore db(temp_db("match"));
  const auto a = add_run(db, "a"), b = add_run(db, "b"), c = add_run(db, "c");
  db.log_metrics(a, 1, {{"loss", 3.0}});
  db.log_metrics(a, 2, {{"loss", 2.5}, {"lr", 1e-3}});
  db.log_metrics(c, 7, {{"loss", 1.25}});
  db.record_eval(a, ppl(512, 9.0));
  db.record_eval(a, ppl(128, 4.0));
  db.record_eval(a, ppl(128, 1.4, "loss"));  // not a ppl value: not in the summary
  db.add_tag(b, "zeta");
  db.add_tag(b, "alpha");
  db.set_note(c, "look at this one");

  const auto rows = db.run_summaries();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].run.id, c);  // newest first
  EXPECT_EQ(rows[2].run.id, a);
  const auto& ra = rows[2];
  EXPECT_EQ(ra.run.name, "a");
  EXPECT_EQ(ra.latest.at("loss").step, 2);
  EXPECT_DOUBLE_EQ(ra.latest.at("loss").value, 2.5);
  EXPECT_DOUBLE_EQ(ra.latest.at("lr").value, 1e-3);
  ASSERT_EQ(ra.ppl.size(), 2u);
  EXPECT_EQ(ra.ppl[0].length, 128);
  EXPECT_DOUBLE_EQ(ra.ppl[0].ppl, 4.0);
  EXPECT_EQ(ra.ppl[1].length, 512);
  EXPECT_EQ(rows[1].tags, (std::vector<std::string>{"alpha", "zeta"}));
  EXPECT_TRUE(rows[1].latest.empty());
  EXPECT_EQ(rows[0].note, "look at this one");
  EXPECT_EQ(db.run_count(), 3);
}

TEST(RunSummaries, IncrementalReturnsOnlyTouchedRuns) {
  RunStore db(temp_db("incremental"));
  const auto a = add_run(db, "a"), b = add_run(db, "b"), c = add_run(db, "c");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const double t = now_seconds();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(db.run_summaries(t).empty());
  db.log_metrics(a, 5, {{"loss", 1.0}});  // metrics do not touch the runs row
  db.record_eval(c, ppl(256, 3.0));
  const auto rows = db.run_summaries(t);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].run.id, c);
  EXPECT_EQ(rows[1].run.id, a);
  EXPECT_EQ(rows[1].latest.at("loss").step, 5);
  ASSERT_EQ(rows[0].ppl.size(), 1u);
  db.add_tag(b, "x");
  const auto again = db.run_summaries(t);
  EXPECT_EQ(again.size(), 3u);
}
