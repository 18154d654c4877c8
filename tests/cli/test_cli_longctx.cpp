// ctxlab-cli passkey / needle / kvretrieval / attention on a tiny run: results land in the store
// under the documented names, --json ends with one object, and each bad value (layer, head, probe
// too short, length past a learned table) exits 2 with one 'error:' line and the store unchanged.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_runner.h"
#include "store/file_tree.h"
#include "store/run_store.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using cli_test::Result;
using cli_test::last_json_line;
using cli_test::slurp;

fs::path dir() {
  auto d = fs::path(CTXLAB_TEST_TMP) / "cli-longctx";
  fs::create_directories(d);
  return d;
}

Result cli(const std::string& args) { return cli_test::run_cli(args, dir()); }

// One tiny run (learned positions, 128 rows) trained for two steps, with a training-time capture.
const fs::path& trained_store() {
  static fs::path db = [] {
    // One store per test process: ctest runs this file's tests as parallel processes.
    const std::string name = "longctx-" + std::to_string(getpid());
    auto p = dir() / (name + ".db");
    for (auto s : {"", "-wal", "-shm"}) fs::remove(p.string() + s);
    ctx::remove_tree(dir() / (name + ".runs"));
    json cfg = {{"name", "tiny"},
                {"model",
                 {{"layers", 2},
                  {"d_model", 32},
                  {"heads", 2},
                  {"max_positions", 128},
                  {"position", {{"type", "learned"}}}}},
                {"data", {{"builtin_docs", 6}, {"builtin_doc_tokens", 400}}},
                {"train",
                 {{"seq_len", 32}, {"batch_size", 2}, {"steps", 2}, {"warmup", 1}, {"threads", 1}}},
                {"eval",
                 {{"lengths", {32}},
                  {"max_tokens", 64},
                  {"passkey", {{"lengths", {96}}, {"trials", 2}}},
                  {"attention_every", 1},
                  {"attention_lengths", {32, 64}},
                  {"attention_grid", 8}}}};
    auto cf = dir() / "tiny.json";
    std::ofstream(cf) << cfg.dump();
    auto r = cli("train --config " + cf.string() + " --db " + p.string() + " --json");
    EXPECT_EQ(r.rc, 0) << r.err;
    return p;
  }();
  return db;
}

void expect_rejected(const std::string& args, const std::string& needle) {
  const auto& db = trained_store();
  const auto before = slurp(db);
  auto r = cli(args + " --db " + db.string());
  EXPECT_EQ(r.rc, 2) << args << "\n" << r.err;
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << "stderr: " << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "stderr: " << r.err;
  EXPECT_EQ(slurp(db), before) << args;
}

}  // namespace

TEST(CliLongContext, TrainingCapturesAndRequestedPasskey) {
  ctx::store::RunStore s(trained_store().string(), true);
  // attention_every 1 over 2 steps: steps 1 and 2, both lengths, both layers.
  for (int64_t step : {1, 2}) {
    auto a = s.artifact(1, "attention/64/1/mean", step);
    ASSERT_TRUE(a) << step;
    EXPECT_EQ(a->shape, (std::vector<int64_t>{2, 8, 8}));
  }
  EXPECT_TRUE(s.artifact(1, "attention/32/0/distance"));
  auto pk = s.evals(1, "passkey");
  ASSERT_EQ(pk.size(), 1u);
  EXPECT_EQ(pk[0].x, 96.0);
  EXPECT_EQ(pk[0].y, -1.0);
  EXPECT_EQ(json::parse(pk[0].extra_json)["trials"], 2);
}

TEST(CliLongContext, VerbsStoreTheirAxes) {
  const auto db = trained_store().string();
  auto r = cli("passkey --run 1 --lengths 96,128 --depths 0,1 --trials 2 --json --db " + db);
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = last_json_line(r.out);
  EXPECT_EQ(j["cells"].size(), 4u);
  r = cli("needle --run 1 --lengths 100 --depths 0,50,100 --trials 2 --json --db " + db);
  ASSERT_EQ(r.rc, 0) << r.err;
  r = cli("kvretrieval --run 1 --lengths 128 --bins 4 --trials 2 --json --db " + db);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(last_json_line(r.out)["cells"].size(), 4u);
  r = cli(
      "attention --run 1 --lengths 50,100 --layers 1 --heads 0 --grid 16 --chunk 7 --json --db " +
      db);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(last_json_line(r.out)["captures"].size(), 2u);
  r = cli("attention --run 1 --lengths 40 --text-file " + (dir() / "tiny.json").string() +
          " --db " + db);
  ASSERT_EQ(r.rc, 0) << r.err;

  ctx::store::RunStore s(db, true);
  auto pk = s.evals(1, "passkey");
  std::set<std::pair<double, double>> xy;
  for (auto& e : pk) {
    EXPECT_EQ(e.mode, "greedy");
    EXPECT_EQ(e.metric, "accuracy");
    xy.insert({e.x, e.y});
  }
  EXPECT_TRUE(xy.count({128.0, 1.0}) && xy.count({96.0, 0.0}));
  std::set<double> depths;
  for (auto& e : s.evals(1, "needle")) depths.insert(e.y);
  EXPECT_EQ(depths, (std::set<double>{0, 50, 100}));
  std::set<double> positions;
  for (auto& e : s.evals(1, "kvretrieval")) positions.insert(e.y);
  EXPECT_EQ(positions, (std::set<double>{0.125, 0.375, 0.625, 0.875}));
  auto mean = s.artifact(1, "attention/100/1/mean");
  ASSERT_TRUE(mean);
  EXPECT_EQ(mean->shape, (std::vector<int64_t>{1, 16, 16}));
  EXPECT_EQ(mean->step, 2);
  EXPECT_TRUE(s.artifact(1, "attention/100/distance_edges"));
  EXPECT_TRUE(s.artifact(1, "attention/40/0/sink"));
}

TEST(CliLongContext, BadInputIsNamedAndStoresNothing) {
  expect_rejected("attention --run 1 --lengths 64 --layers 2", "layer 2");
  expect_rejected("attention --run 1 --lengths 64 --heads 0,3", "head 3");
  expect_rejected("attention --run 1 --lengths 64 --text abc", "only 3 tokens");
  expect_rejected("attention --run 1 --lengths 64,256", "length 256");
  expect_rejected("passkey --run 1 --lengths 96,512", "length 512");
  expect_rejected("passkey --run 1 --lengths 40", "length 40");
  expect_rejected("needle --run 1 --lengths 100 --depths 120", "depth 120");
  expect_rejected("kvretrieval --run 1 --lengths 128 --pairs 1", "pairs 1");
  expect_rejected("passkey --run 9", "no run 9");
}

// The learning check: a small model trained on the built-in corpus retrieves the passkey
// at an in-distribution length far above chance (1e-5 for an exact 5-digit match). The recipe is
// the passkey-base preset: a retrieval-dense builtin:longrange (facts only, recalled 24-64 tokens
// later) and 82M training tokens. On the default corpus no configuration we tried (up to 49M
// tokens, 2-6 layers) retrieved anything. The circuit forms abruptly: with 2 layers it formed for
// seed 1 only (10-15 of 50) and not for seeds 2 and 3; with 3 layers seeds 2 and 3 reached 18 and
// 16 of 50. The bar is 3 of 50, still 6000x chance. About three minutes on one H200, hours on 2
// CPU cores: CUDA only.
TEST(CliLongContext, PasskeyBaseRetrievesAboveChanceOnCuda) {
  auto p = dir() / "passkey-base.db";
  for (auto s : {"", "-wal", "-shm"}) fs::remove(p.string() + s);
  ctx::remove_tree(dir() / "passkey-base.runs");
  auto r = cli("train --config " + std::string(CTXLAB_PRESETS) +
               "/passkey-base.json --device cuda --db " + p.string() + " --json");
  if (r.rc != 0 && r.err.find("no usable CUDA device") != std::string::npos)
    GTEST_SKIP() << "no CUDA device";
  ASSERT_EQ(r.rc, 0) << r.err;
  ctx::store::RunStore s(p.string(), true);
  int64_t correct = -1, trials = 0;
  for (const auto& e : s.evals(1, "passkey"))
    if (e.x == 128.0) {
      auto extra = json::parse(e.extra_json);
      correct = extra["correct"].get<int64_t>();
      trials = extra["trials"].get<int64_t>();
    }
  ASSERT_EQ(trials, 50);
  std::cout << "passkey-base at 128 tokens: " << correct << "/" << trials << " correct\n";
  EXPECT_GE(correct, 3);
}
