// Checkpoints and the training job: identical logits after a round trip, clear errors for corrupt
// or mismatched files, and an interrupted-then-resumed run ending with the same weights as an
// uninterrupted one (CPU, fixed seed) without duplicated metric points.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "store/file_tree.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace fs = std::filesystem;

namespace {

std::string tmp_path(const std::string& name) {
  auto dir = fs::path(CTXLAB_TEST_TMP) / "training";
  fs::create_directories(dir);
  auto p = dir / name;
  ctx::remove_tree(p);
  ctx::remove_tree(fs::path(p.string() + "-wal"));
  ctx::remove_tree(fs::path(p.string() + "-shm"));
  ctx::remove_tree(dir / (p.stem().string() + ".runs"));
  return p.string();
}

ctx::RunConfig small_config(int64_t steps) {
  return ctx::parse_run_config({{"name", "resume-test"},
                                {"seed", 11},
                                {"model", {{"layers", 1}, {"d_model", 32}, {"heads", 2}, {"max_positions", 64}}},
                                {"data", {{"builtin_docs", 8}, {"builtin_doc_tokens", 512}}},
                                {"train", {{"seq_len", 32}, {"batch_size", 4}, {"steps", steps}, {"warmup", 2},
                                           {"checkpoint_every", 4}, {"lr", 1e-3}, {"threads", 1}}},
                                {"eval", {{"enabled", false}}}});
}

class Quiet : public ctx::EventSink {};

// A request for run `id` of `cfg` in `db` (the trainer's inputs, as the CLI fills them).
ctx::TrainRequest request(ctx::store::RunStore& db, int64_t id, const ctx::RunConfig& cfg) {
  ctx::TrainRequest r;
  r.store = &db;
  r.run_id = id;
  r.config = cfg;
  return r;
}

std::map<std::string, torch::Tensor> weights_of(const std::string& ckpt, const ctx::RunConfig& c) {
  auto m = ctx::make_language_model(c.model, c.rope_scaling, 259);
  ctx::load_checkpoint(ckpt, m);
  std::map<std::string, torch::Tensor> w;
  for (auto& p : m->named_parameters()) w[p.key()] = p.value().clone();
  return w;
}

}  // namespace

TEST(Checkpoint, RoundTripGivesIdenticalLogits) {
  auto c = small_config(1);
  torch::manual_seed(4);
  auto a = ctx::make_language_model(c.model, nullptr, 259);
  auto b = ctx::make_language_model(c.model, nullptr, 259);
  auto path = tmp_path("roundtrip.pt");
  ctx::save_checkpoint(path, a, nullptr, 17, "{\"k\":1}");
  auto info = ctx::load_checkpoint(path, b);
  EXPECT_EQ(info.step, 17);
  EXPECT_EQ(info.config_json, "{\"k\":1}");
  torch::NoGradGuard ng;
  auto x = torch::randint(0, 256, {2, 20}, torch::kLong);
  auto p = torch::arange(20, torch::kFloat).unsqueeze(0).expand({2, 20});
  EXPECT_TRUE(torch::equal(a->forward(x, p), b->forward(x, p)));
}

TEST(Checkpoint, CorruptMissingAndMismatchedFilesGiveOneLineErrors) {
  auto c = small_config(1);
  auto m = ctx::make_language_model(c.model, nullptr, 259);
  auto bad = tmp_path("corrupt.pt");
  std::ofstream(bad) << "this is not a checkpoint";
  try {
    ctx::load_checkpoint(bad, m);
    FAIL();
  } catch (const ctx::CheckpointError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("corrupt.pt"), std::string::npos);
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }
  EXPECT_THROW(ctx::load_checkpoint(tmp_path("missing.pt"), m), ctx::CheckpointError);
  // A checkpoint of a wider model names the tensor whose shape differs.
  auto wide_cfg = c.model;
  wide_cfg.d_model = 64;
  auto wide = ctx::make_language_model(wide_cfg, nullptr, 259);
  auto path = tmp_path("wide.pt");
  ctx::save_checkpoint(path, wide, nullptr, 1, "{}");
  try {
    ctx::load_checkpoint(path, m);
    FAIL();
  } catch (const ctx::CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("shape"), std::string::npos);
  }
}

TEST(Training, InterruptedThenResumedEqualsUninterrupted) {
  auto cfg = small_config(12);
  Quiet quiet;
  // Uninterrupted.
  ctx::store::RunStore full(tmp_path("full.db"));
  const int64_t a = ctx::create_run(full, cfg);
  auto ra = request(full, a, cfg);
  auto oa = ctx::run_training(ra, quiet);
  ASSERT_EQ(oa.status, ctx::store::RunStatus::Finished) << oa.error;

  // Interrupted after step 6 (checkpoint at 6 because it stops there), then resumed.
  ctx::store::RunStore part(tmp_path("part.db"));
  const int64_t b = ctx::create_run(part, cfg);
  auto rb = request(part, b, cfg);
  rb.stop_after_step = 6;
  auto ob = ctx::run_training(rb, quiet);
  EXPECT_EQ(ob.status, ctx::store::RunStatus::Interrupted);
  EXPECT_EQ(part.get_run(b).status, ctx::store::RunStatus::Interrupted);
  // Metric points logged past the checkpoint would be overwritten, never duplicated.
  rb.stop_after_step = -1;
  rb.resume = true;
  auto oc = ctx::run_training(rb, quiet);
  ASSERT_EQ(oc.status, ctx::store::RunStatus::Finished) << oc.error;

  auto wa = weights_of(*ctx::latest_checkpoint(full.get_run(a).run_dir), cfg);
  auto wb = weights_of(*ctx::latest_checkpoint(part.get_run(b).run_dir), cfg);
  ASSERT_EQ(wa.size(), wb.size());
  for (auto& [k, v] : wa) EXPECT_TRUE(torch::equal(v, wb[k])) << k;

  auto la = full.metric_series(a, "loss"), lb = part.metric_series(b, "loss");
  ASSERT_EQ(la.size(), 12u);
  ASSERT_EQ(lb.size(), 12u);
  for (size_t i = 0; i < la.size(); ++i) {
    EXPECT_EQ(lb[i].step, static_cast<int64_t>(i) + 1);
    EXPECT_DOUBLE_EQ(la[i].value, lb[i].value);
  }
}

TEST(Training, EvaluationIsRecordedPerLengthAndMode) {
  auto cfg = small_config(3);
  cfg.eval.enabled = true;
  cfg.eval.lengths = {32, 64};
  cfg.eval.modes = {"nonoverlap", "sliding"};
  cfg.eval.max_tokens = 512;
  Quiet quiet;
  ctx::store::RunStore db(tmp_path("eval.db"));
  const int64_t id = ctx::create_run(db, cfg);
  auto r = request(db, id, cfg);
  auto o = ctx::run_training(r, quiet);
  ASSERT_EQ(o.status, ctx::store::RunStatus::Finished) << o.error;
  ASSERT_EQ(o.evals.size(), 4u);
  int ppl_rows = 0;
  for (auto& e : db.evals(id, "ppl")) ppl_rows += e.metric == "ppl";
  EXPECT_EQ(ppl_rows, 4);
  auto curve = db.artifact(id, "position_loss/nonoverlap/64");
  ASSERT_TRUE(curve.has_value());
  EXPECT_EQ(ctx::store::artifact_as_f32(*curve).size(), 64u);
  // Learned positions past the table are skipped with a warning, not crashed on.
  auto learned = cfg;
  learned.model.position = "learned";
  learned.model.position_params = nlohmann::json::object();
  learned.eval.lengths = {32, 128};
  learned.eval.modes = {"nonoverlap"};
  const int64_t id2 = ctx::create_run(db, learned);
  r.run_id = id2;
  r.config = learned;
  auto o2 = ctx::run_training(r, quiet);
  ASSERT_EQ(o2.status, ctx::store::RunStatus::Finished) << o2.error;
  EXPECT_EQ(o2.evals.size(), 1u);
}

TEST(Training, NonFiniteLossStopsTheRunAsDivergedWithItsStep) {
  auto cfg = small_config(5);
  // Start from a checkpoint whose weights are NaN: the very first loss is NaN.
  auto bad = ctx::make_language_model(cfg.model, nullptr, 259);
  {
    torch::NoGradGuard ng;
    for (auto& p : bad->parameters()) p.fill_(std::numeric_limits<float>::quiet_NaN());
  }
  auto ck = tmp_path("nan.pt");
  ctx::save_checkpoint(ck, bad, nullptr, 0, "{}");
  cfg.init.kind = "checkpoint";
  cfg.init.checkpoint = ck;
  Quiet quiet;
  ctx::store::RunStore db(tmp_path("nan.db"));
  const int64_t id = ctx::create_run(db, cfg);
  auto r = request(db, id, cfg);
  auto o = ctx::run_training(r, quiet);
  EXPECT_EQ(o.status, ctx::store::RunStatus::Diverged);
  EXPECT_NE(o.error.find("at step 1"), std::string::npos) << o.error;
  auto rec = db.get_run(id);
  EXPECT_EQ(rec.status, ctx::store::RunStatus::Diverged);
  EXPECT_EQ(rec.error, o.error);
}

TEST(Training, PositionCountsAndResolvedValuesAreStored) {
  auto cfg = small_config(4);
  Quiet quiet;
  ctx::store::RunStore db(tmp_path("stats.db"));
  const int64_t id = ctx::create_run(db, cfg);
  auto r = request(db, id, cfg);
  ASSERT_EQ(ctx::run_training(r, quiet).status, ctx::store::RunStatus::Finished);
  auto ids = db.artifact(id, "positions/ids");
  ASSERT_TRUE(ids.has_value());
  ASSERT_EQ(ids->dtype, "i64");
  std::vector<int64_t> counts(ids->data.size() / 8);
  std::memcpy(counts.data(), ids->data.data(), ids->data.size());
  // Contiguous sampler, 4 steps x 4 examples: every id 0..31 presented exactly 16 times.
  ASSERT_EQ(counts.size(), 32u);
  for (auto c : counts) EXPECT_EQ(c, 16);
  auto stored = nlohmann::json::parse(db.get_run(id).config_json);
  EXPECT_EQ(stored["_resolved"]["position"]["rope_type"], "default");
  EXPECT_NO_THROW(ctx::config_of_run(db.get_run(id)));
}

TEST(Training, PositionLrTrainsThePositionWeightsAtTheirOwnRate) {
  auto j = ctx::to_json(small_config(4));
  j["model"]["position"] = "learned";
  j["train"]["position_lr"] = 1e-9;  // the table all but frozen while the rest trains at 1e-3
  const auto cfg = ctx::parse_run_config(j);
  // The optimizer: a third group holding exactly the pos.* weights, at position_lr.
  auto init_model = ctx::build_model(cfg);
  std::map<std::string, torch::Tensor> init;
  for (auto& p : init_model->named_parameters()) init[p.key()] = p.value().clone();
  ASSERT_TRUE(init.count("pos.table"));
  {
    auto optim = ctx::build_optimizer(init_model, cfg.train);
    ASSERT_EQ(optim->param_groups().size(), 3u);
    const auto& g = optim->param_groups()[ctx::kPositionGroup];
    ASSERT_EQ(g.params().size(), 1u);
    EXPECT_TRUE(g.params()[0].is_same(init_model->named_parameters()["pos.table"]));
    EXPECT_DOUBLE_EQ(static_cast<const torch::optim::AdamWOptions&>(g.options()).lr(), 1e-9);
    EXPECT_DOUBLE_EQ(static_cast<const torch::optim::AdamWOptions&>(g.options()).weight_decay(),
                     0.0);
  }
  // Through the trainer's schedule: the table moves by about 4 steps x 1e-9, the rest as usual.
  Quiet quiet;
  auto moved = [&](const ctx::RunConfig& c, const std::string& name) {
    ctx::store::RunStore db(tmp_path(name + ".db"));
    const int64_t id = ctx::create_run(db, c);
    auto r = request(db, id, c);
    EXPECT_EQ(ctx::run_training(r, quiet).status, ctx::store::RunStatus::Finished);
    auto w = weights_of(*ctx::latest_checkpoint(db.get_run(id).run_dir), c);
    std::map<std::string, double> d;
    for (auto& [k, v] : w) d[k] = (v - init[k]).abs().max().item<double>();
    return d;
  };
  const auto apart = moved(cfg, "position-lr");
  EXPECT_LT(apart.at("pos.table"), 1e-7);
  double rest = 0;
  for (auto& [k, v] : apart)
    if (k != "pos.table") rest = std::max(rest, v);
  EXPECT_GT(rest, 1e-4);
  j["train"]["position_lr"] = 0;  // one rate for all: the table trains too
  const auto together = moved(ctx::parse_run_config(j), "position-lr-off");
  EXPECT_GT(together.at("pos.table"), 1e-4);
}
