// ctxlab-cli train, resume and eval launched as torchrun launches them (2 processes, Gloo on the
// CPU): data-parallel training equals one process with the same global batch (losses and weights),
// context-parallel training and evaluation equal one process, only rank 0 writes the store, a rank
// that fails ends the run with its message, a rank that stops answering ends it at the timeout,
// bad input exits 2 on every rank with the line on rank 0, and resume needs the same world size.
// The CUDA cases (NCCL) run where two GPUs exist.
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <nlohmann/json.hpp>

#include "dist/launch.h"
#include "store/file_tree.h"
#include "store/run_store.h"
#include "train/checkpoint.h"
#include "train/run_setup.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

fs::path dir() {
  auto d = fs::path(CTXLAB_TEST_TMP) / "dist";
  fs::create_directories(d);
  return d;
}

fs::path fresh_db(const std::string& name) {
  auto p = dir() / name;
  for (auto suffix : {"", "-wal", "-shm"}) fs::remove(p.string() + suffix);
  ctx::remove_tree(dir() / (p.stem().string() + ".runs"));
  ctx::remove_tree(dir() / (p.stem().string() + ".cache"));
  return p;
}

json tiny(int64_t batch, int64_t steps = 4) {
  return {{"name", "dist"},
          {"seed", 17},
          {"model", {{"layers", 2}, {"d_model", 32}, {"heads", 2}, {"max_positions", 128}}},
          {"data", {{"builtin_docs", 8}, {"builtin_doc_tokens", 600}}},
          {"train",
           {{"seq_len", 32}, {"batch_size", batch}, {"steps", steps}, {"warmup", 1}, {"lr", 2e-3}, {"threads", 1},
            {"checkpoint_every", 2}, {"dist_timeout", 60}}},
          {"eval", {{"lengths", {32, 64}}, {"max_tokens", 256}}}};
}

fs::path write_config(const std::string& name, const json& j) {
  auto p = dir() / name;
  std::ofstream(p) << j.dump(2);
  return p;
}

struct Single {
  int rc = -1;
  std::string out, err;
};
// ctxlab-cli without torchrun's variables: one process.
Single single(const std::string& args) {
  dist_test::Launch l(1, dist_test::words(CTXLAB_CLI, args), dir(),
                      {{"WORLD_SIZE", "1"}, {"RANK", "0"}});
  auto r = l.wait(300)[0];
  return {r.rc, r.out, r.err};
}

std::vector<dist_test::RankResult> ranks(int world, const std::string& args,
                                         const std::map<std::string, std::string>& env = {}, double deadline = 300,
                                         bool as_torchrun = false) {
  dist_test::Launch l(world, dist_test::words(CTXLAB_CLI, args), dir(), env);
  return l.wait(deadline, as_torchrun);
}

json last_json(const std::string& out) {
  auto end = out.find_last_not_of('\n');
  auto start = out.rfind('\n', end);
  start = start == std::string::npos ? 0 : start + 1;
  return json::parse(out.substr(start, end - start + 1));
}

std::string all_output(const std::vector<dist_test::RankResult>& res) {
  std::string s;
  for (size_t r = 0; r < res.size(); ++r) s += "[rank " + std::to_string(r) + "] " + res[r].out + res[r].err;
  return s;
}

std::vector<double> losses(const fs::path& db, int64_t run = 1) {
  ctx::store::RunStore s(db.string(), true);
  std::vector<double> out;
  for (auto& p : s.metric_series(run, "loss")) out.push_back(p.value);
  return out;
}

std::map<std::string, torch::Tensor> final_weights(const fs::path& db, int64_t run = 1) {
  ctx::store::RunStore s(db.string(), true);
  const auto rec = s.get_run(run);
  auto cfg = ctx::config_of_run(rec);
  auto model = ctx::build_model(cfg, ctx::WeightInit::Skip);
  ctx::load_checkpoint(*ctx::latest_checkpoint(rec.run_dir), model);
  std::map<std::string, torch::Tensor> w;
  for (auto& p : model->named_parameters()) w[p.key()] = p.value().clone();
  return w;
}

void expect_same_training(const fs::path& a, const fs::path& b, double loss_tol, double weight_tol) {
  auto la = losses(a), lb = losses(b);
  ASSERT_EQ(la.size(), lb.size());
  ASSERT_FALSE(la.empty());
  for (size_t i = 0; i < la.size(); ++i) EXPECT_NEAR(la[i], lb[i], loss_tol) << "step " << i + 1;
  auto wa = final_weights(a), wb = final_weights(b);
  ASSERT_EQ(wa.size(), wb.size());
  for (auto& [k, t] : wa) EXPECT_LT((t - wb.at(k)).abs().max().item<double>(), weight_tol) << k;
}

std::vector<double> ppls(const fs::path& db, int64_t run = 1) {
  ctx::store::RunStore s(db.string(), true);
  std::vector<double> out;
  for (auto& e : s.evals(run, "ppl"))
    if (e.metric == "ppl") out.push_back(e.value);
  return out;
}

std::string train_args(const fs::path& cfg, const fs::path& db) {
  return "train --config " + cfg.string() + " --db " + db.string() + " --json";
}

TEST(DataParallel, TwoRanksEqualOneProcessWithTheGlobalBatch) {
  NEEDS_GLOO();
  auto db1 = fresh_db("dp-one.db"), db2 = fresh_db("dp-two.db");
  auto one = single(train_args(write_config("dp-one.json", tiny(4)), db1));
  ASSERT_EQ(one.rc, 0) << one.err;
  auto two = ranks(2, train_args(write_config("dp-two.json", tiny(2)), db2));
  ASSERT_EQ(two[0].rc, 0) << all_output(two);
  ASSERT_EQ(two[1].rc, 0) << all_output(two);
  EXPECT_TRUE(two[1].out.empty()) << two[1].out;  // rank 0 alone prints
  expect_same_training(db1, db2, 1e-3, 1e-4);
  auto p1 = ppls(db1), p2 = ppls(db2);
  ASSERT_EQ(p1.size(), p2.size());
  for (size_t i = 0; i < p1.size(); ++i) EXPECT_NEAR(p1[i], p2[i], 1e-3 * p1[i]);

  // Rank 0 alone wrote the store: one run, marked running by rank 0's process, on "cpu × 2".
  ctx::store::RunStore s(db2.string(), true);
  ASSERT_EQ(s.run_count(), 1);
  const auto rec = s.get_run(1);
  EXPECT_EQ(rec.device, "cpu \u00d7 2");
  EXPECT_EQ(rec.status, ctx::store::RunStatus::Finished);
  const auto cfg = json::parse(rec.config_json);
  EXPECT_EQ(cfg["_resolved"]["distributed"]["world_size"], 2);
  EXPECT_EQ(cfg["_resolved"]["distributed"]["global_batch"], 4);
  // Throughput and tokens seen count the global batch.
  ctx::store::RunStore s1(db1.string(), true);
  EXPECT_EQ(s.latest_metrics(1).at("tokens_seen").value, s1.latest_metrics(1).at("tokens_seen").value);
  EXPECT_TRUE(fs::exists(fs::path(rec.run_dir) / "zero-00000004.pt"));
}

TEST(DataParallel, AccumulationAndRanksMultiply) {
  NEEDS_GLOO();
  auto db1 = fresh_db("acc-one.db"), db2 = fresh_db("acc-two.db");
  auto cfg1 = tiny(2, 3), cfg2 = tiny(1, 3);
  cfg1["train"]["grad_accum"] = 2;
  cfg2["train"]["grad_accum"] = 2;
  ASSERT_EQ(single(train_args(write_config("acc-one.json", cfg1), db1)).rc, 0);
  auto two = ranks(2, train_args(write_config("acc-two.json", cfg2), db2));
  ASSERT_EQ(two[0].rc, 0) << all_output(two);
  expect_same_training(db1, db2, 1e-3, 1e-4);
}

json context_parallel_config(int64_t cp) {
  auto j = tiny(2);
  j["model"]["position"] = "rope";
  j["model"]["max_positions"] = 32;
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 32}};
  j["train"]["seq_len"] = 64;
  j["train"]["positions"] = "pose";
  j["train"]["context_parallel"] = cp;
  j["eval"]["lengths"] = {64, 128};
  return j;
}

TEST(ContextParallel, TwoRanksOnOneSequenceEqualOneProcess) {
  NEEDS_GLOO();
  auto db1 = fresh_db("cp-one.db"), db2 = fresh_db("cp-two.db");
  auto one = single(train_args(write_config("cp-one.json", context_parallel_config(1)), db1));
  ASSERT_EQ(one.rc, 0) << one.err;
  auto two = ranks(2, train_args(write_config("cp-two.json", context_parallel_config(2)), db2));
  ASSERT_EQ(two[0].rc, 0) << all_output(two);
  ASSERT_EQ(two[1].rc, 0) << all_output(two);
  expect_same_training(db1, db2, 1e-3, 1e-4);
  // The final evaluation split its windows over the ring.
  auto p1 = ppls(db1), p2 = ppls(db2);
  ASSERT_EQ(p1.size(), p2.size());
  ASSERT_FALSE(p1.empty());
  for (size_t i = 0; i < p1.size(); ++i) EXPECT_NEAR(p1[i], p2[i], 1e-3 * p1[i]);
}

TEST(ContextParallel, EvalUnderTorchrunSplitsWindowsOverTheRanks) {
  NEEDS_GLOO();
  auto db = fresh_db("cp-eval.db");
  auto cfg = context_parallel_config(1);
  cfg["eval"]["enabled"] = false;
  ASSERT_EQ(single(train_args(write_config("cp-eval.json", cfg), db)).rc, 0);
  auto plain = single("eval --run 1 --lengths 128 --db " + db.string() + " --json");
  ASSERT_EQ(plain.rc, 0) << plain.err;
  auto split = ranks(2, "eval --run 1 --lengths 128 --db " + db.string() + " --json");
  ASSERT_EQ(split[0].rc, 0) << all_output(split);
  ASSERT_EQ(split[1].rc, 0) << all_output(split);
  const auto a = last_json(plain.out), b = last_json(split[0].out);
  ASSERT_EQ(a["evals"].size(), 1u);
  EXPECT_NEAR(a["evals"][0]["ppl"].get<double>(), b["evals"][0]["ppl"].get<double>(),
              1e-4 * a["evals"][0]["ppl"].get<double>());
  EXPECT_EQ(b["device"], "cpu \u00d7 2");
}

TEST(DistributedFailures, ARankThatFailsEndsTheRunWithItsMessage) {
  NEEDS_GLOO();
  auto db = fresh_db("fail.db");
  auto res = ranks(2, train_args(write_config("fail.json", tiny(2, 6)), db), {{"CTXLAB_DIST_FAIL", "1:3"}});
  EXPECT_EQ(res[0].rc, 1) << all_output(res);
  EXPECT_EQ(res[1].rc, 1) << all_output(res);
  EXPECT_LT(res[0].seconds, 120);
  EXPECT_NE(res[0].err.find("rank 1: injected failure at step 3"), std::string::npos) << res[0].err;
  ctx::store::RunStore s(db.string(), true);
  const auto rec = s.get_run(1);
  EXPECT_EQ(rec.status, ctx::store::RunStatus::Failed);
  EXPECT_NE(rec.error.find("rank 1: injected failure at step 3"), std::string::npos) << rec.error;
}

TEST(DistributedFailures, ARankThatStopsAnsweringEndsTheRunAtTheTimeout) {
  NEEDS_GLOO();
  auto db = fresh_db("hang.db");
  auto cfg = tiny(2, 6);
  cfg["train"]["dist_timeout"] = 8;
  auto res = ranks(2, train_args(write_config("hang.json", cfg), db), {{"CTXLAB_DIST_FAIL", "1:2:hang"}}, 90, true);
  EXPECT_EQ(res[0].rc, 1) << all_output(res);
  EXPECT_LT(res[0].seconds, 60) << all_output(res);
  ctx::store::RunStore s(db.string(), true);
  EXPECT_EQ(s.get_run(1).status, ctx::store::RunStatus::Failed);
  EXPECT_NE(s.get_run(1).error.find("rank 0: "), std::string::npos) << s.get_run(1).error;
}

void expect_bad_input(const json& cfg, const std::string& name, const std::string& line) {
  auto db = fresh_db(name + ".db");
  auto res = ranks(2, train_args(write_config(name + ".json", cfg), db), {}, 120);
  EXPECT_EQ(res[0].rc, 2) << all_output(res);
  EXPECT_EQ(res[1].rc, 2) << all_output(res);
  EXPECT_NE(res[0].err.find(line), std::string::npos) << res[0].err;
  EXPECT_TRUE(res[1].err.empty()) << res[1].err;
  EXPECT_FALSE(fs::exists(db)) << "bad input must leave no store behind";
}

TEST(DistributedFailures, BadInputExitsTwoOnEveryRankWithTheLineOnRankZero) {
  NEEDS_GLOO();
  auto alibi = context_parallel_config(2);
  alibi["model"]["position"] = "alibi";
  alibi.erase("rope_scaling");
  expect_bad_input(alibi, "bad-alibi", "model.position 'alibi' adds a T x T logit bias");
  auto odd = context_parallel_config(2);
  odd["train"]["seq_len"] = 66;
  expect_bad_input(odd, "bad-len", "train.seq_len: 66 tokens do not split into 2 x 2");
  auto world = context_parallel_config(3);
  world["train"]["seq_len"] = 66;
  expect_bad_input(world, "bad-world", "train.context_parallel: 3 does not divide the world size 2");
}

TEST(DistributedResume, ResumesOnTheSameWorldSizeAndRefusesAnother) {
  NEEDS_GLOO();
  auto db = fresh_db("resume.db"), whole = fresh_db("resume-whole.db");
  auto cfg = tiny(2, 6);
  auto path = write_config("resume.json", cfg);
  auto failed = ranks(2, train_args(path, db), {{"CTXLAB_DIST_FAIL", "1:5"}});
  ASSERT_EQ(failed[0].rc, 1) << all_output(failed);
  auto alone = single("resume 1 --db " + db.string());
  EXPECT_EQ(alone.rc, 2) << alone.err;
  EXPECT_NE(alone.err.find("was trained on 2 processes"), std::string::npos) << alone.err;
  auto three = ranks(3, "resume 1 --db " + db.string(), {}, 120);
  for (auto& r : three) EXPECT_EQ(r.rc, 2) << all_output(three);
  EXPECT_NE(three[0].err.find("resume it with torchrun --nproc_per_node 2"), std::string::npos) << three[0].err;
  auto resumed = ranks(2, "resume 1 --db " + db.string() + " --json");
  ASSERT_EQ(resumed[0].rc, 0) << all_output(resumed);
  EXPECT_NE(resumed[0].out.find("\"status\":\"finished\""), std::string::npos) << resumed[0].out;
  // The same weights as a run that never stopped (optimizer shards saved and restored).
  auto uninterrupted = ranks(2, train_args(path, whole));
  ASSERT_EQ(uninterrupted[0].rc, 0) << all_output(uninterrupted);
  expect_same_training(db, whole, 1e-5, 1e-5);
}

TEST(DistributedCuda, TwoGpusOverNcclEqualOneGpu) {
  if (!torch::cuda::is_available() || torch::cuda::device_count() < 2) GTEST_SKIP() << "needs two CUDA devices";
  auto db1 = fresh_db("nccl-one.db"), db2 = fresh_db("nccl-two.db");
  auto c1 = tiny(4), c2 = tiny(2);
  c1["train"]["device"] = c2["train"]["device"] = "cuda";
  ASSERT_EQ(single(train_args(write_config("nccl-one.json", c1), db1)).rc, 0);
  auto two = ranks(2, train_args(write_config("nccl-two.json", c2), db2));
  ASSERT_EQ(two[0].rc, 0) << all_output(two);
  expect_same_training(db1, db2, 1e-3, 1e-3);
  ctx::store::RunStore s(db2.string(), true);
  EXPECT_EQ(s.get_run(1).device, "cuda \u00d7 2");
  auto cp1 = context_parallel_config(1), cp2 = context_parallel_config(2);
  cp1["train"]["device"] = cp2["train"]["device"] = "cuda";
  auto db3 = fresh_db("nccl-cp-one.db"), db4 = fresh_db("nccl-cp-two.db");
  ASSERT_EQ(single(train_args(write_config("nccl-cp-one.json", cp1), db3)).rc, 0);
  auto cp = ranks(2, train_args(write_config("nccl-cp-two.json", cp2), db4));
  ASSERT_EQ(cp[0].rc, 0) << all_output(cp);
  expect_same_training(db3, db4, 1e-3, 1e-3);
}

}  // namespace
