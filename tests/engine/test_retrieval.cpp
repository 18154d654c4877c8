// Retrieval evaluation on a model: requests checked before any work (lengths past a learned
// table or below the prompt, depths out of range), every prompt of a cell decoded to its answer
// length, and the store records on their own axes.
#include <gtest/gtest.h>

#include <filesystem>

#include "data/longrange_corpus.h"
#include "eval/retrieval.h"
#include "scheme_test_util.h"

namespace fs = std::filesystem;
using namespace ctx;

namespace {

std::string error_of(LanguageModel& m, const RetrievalOptions& o) {
  try {
    check_retrieval_request(m, o);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

data::Filler filler() {
  data::LongRangeOptions o;
  o.docs = 2;
  o.doc_tokens = 1024;
  return data::Filler(data::generate_longrange(o), "builtin");
}

}  // namespace

TEST(Retrieval, RequestsAreCheckedBeforeAnyWork) {
  torch::manual_seed(1);
  auto learned = make_language_model(tiny("learned"), nullptr, 259);  // 64 rows: too short for any prompt
  RetrievalOptions o;
  o.lengths = {128};
  EXPECT_NE(error_of(learned, o).find("length 128"), std::string::npos);
  auto rope = make_language_model(tiny("rope"), nullptr, 259);
  EXPECT_EQ(error_of(rope, o), "");
  o.lengths = {50};
  EXPECT_NE(error_of(rope, o).find("length 50"), std::string::npos);
  o.lengths = {128};
  o.task = "needle";
  o.depths = {0, 101};
  EXPECT_NE(error_of(rope, o).find("depth 101"), std::string::npos);
  o.task = "lookup";
  EXPECT_NE(error_of(rope, o).find("lookup"), std::string::npos);
}

TEST(Retrieval, SweepsDecodeEveryTrialAndStoreTheirAxes) {
  torch::manual_seed(2);
  auto m = make_language_model(tiny("rope"), nullptr, 259);
  const auto f = filler();
  RetrievalOptions o;
  o.lengths = {100, 120};
  o.trials = 3;
  o.batch_size = 2;
  auto pk = run_retrieval(m, f, o, torch::kCPU);
  ASSERT_EQ(pk.cells.size(), 2u);
  for (const auto& c : pk.cells) {
    EXPECT_EQ(c.trials, 3);
    EXPECT_EQ(c.y, -1.0);
    EXPECT_LE(c.examples.front().got.size(),
              6u);  // 5 digits and the closing "." (specials dropped)
  }
  o.task = "needle";
  o.depths = {0, 100};
  auto nd = run_retrieval(m, f, o, torch::kCPU);
  ASSERT_EQ(nd.cells.size(), 4u);
  EXPECT_EQ(nd.cells[1].y, 100.0);
  EXPECT_GT(nd.cells[1].mean_depth, 0.7);
  o.task = "kvretrieval";
  o.bins = 2;
  o.lengths = {200};
  auto kv = run_retrieval(m, f, o, torch::kCPU);
  ASSERT_EQ(kv.cells.size(), 2u);
  EXPECT_EQ(kv.cells[0].y, 0.25);
  EXPECT_LT(kv.cells[0].mean_depth, 0.5);
  EXPECT_GT(kv.cells[1].mean_depth, 0.5);

  auto dir = fs::path(CTXLAB_TEST_TMP) / "retrieval";
  fs::create_directories(dir);
  auto path = (dir / "r.db").string();
  for (auto s : {"", "-wal", "-shm"}) fs::remove(path + s);
  store::RunStore db(path);
  store::NewRun nr;
  nr.name = "r";
  nr.config_json = "{}";
  const int64_t run = db.create_run(nr);
  db.transaction([&] {
    store_retrieval(db, run, 5, pk);
    store_retrieval(db, run, 5, kv);
  });
  auto ev = db.evals(run, "passkey");
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].mode, "greedy");
  EXPECT_EQ(ev[0].metric, "accuracy");
  EXPECT_EQ(ev[0].step, 5);
  auto extra = nlohmann::json::parse(ev[0].extra_json);
  EXPECT_EQ(extra["trials"], 3);
  EXPECT_TRUE(extra.contains("correct"));
  EXPECT_EQ(db.evals(run, "kvretrieval").size(), 2u);
}
