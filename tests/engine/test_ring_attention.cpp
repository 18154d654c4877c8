// Ring attention's algebra in one process: blocks merged by their log-sum-exps equal plain
// attention, block gradients from the final log-sum-exp equal autograd's, the zigzag layout round
// trips, and the whole ring (every rank's blocks, computed in turn) equals plain causal attention.
// Plus the checks a distributed launch makes before it runs, and data-parallel rows.
#include <gtest/gtest.h>

#include "methods/registry.h"
#include "model/attention.h"
#include "model/context_parallel.h"
#include "model/ring_attention.h"
#include "train/dist_training.h"
#include "train/run_setup.h"

namespace {

using ctx::attention_block;

torch::Tensor rnd(std::vector<int64_t> shape, uint64_t seed) {
  torch::manual_seed(seed);
  return torch::randn(shape, torch::kDouble);
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

TEST(RingAttention, BlocksMergedByLogSumExpEqualPlainAttention) {
  auto q = rnd({2, 3, 5, 8}, 1), k = rnd({2, 3, 12, 8}, 2), v = rnd({2, 3, 12, 8}, 3);
  auto plain = ctx::attend_explicit(q, k, v, {}, false).first;
  // Keys in three uneven blocks, merged in an arbitrary order.
  const std::vector<std::pair<int64_t, int64_t>> blocks = {{7, 5}, {0, 3}, {3, 4}};
  torch::Tensor out, lse;
  for (auto [s, n] : blocks) {
    auto [o, l] = attention_block(q, k.narrow(2, s, n), v.narrow(2, s, n), false);
    if (!out.defined()) {
      out = o;
      lse = l;
    } else {
      ctx::merge_attention_block(out, lse, o, l);
    }
  }
  EXPECT_LT(max_diff(out, plain), 1e-6);
  EXPECT_LT(max_diff(lse, torch::logsumexp(torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(8.0), -1)), 1e-6);
}

TEST(RingAttention, CausalBlockInRowChunksEqualsCausalAttention) {
  auto q = rnd({1, 2, 9, 4}, 4), k = rnd({1, 2, 9, 4}, 5), v = rnd({1, 2, 9, 4}, 6);
  auto plain = ctx::attend_explicit(q, k, v, {}, true).first;
  for (int64_t chunk : {0, 1, 4})
    EXPECT_LT(max_diff(attention_block(q, k, v, true, chunk).first, plain), 1e-6) << chunk;
}

TEST(RingAttention, BlockGradientsFromTheFinalLogSumExpEqualAutograd) {
  auto q = rnd({1, 2, 6, 4}, 7).requires_grad_(), k = rnd({1, 2, 6, 4}, 8).requires_grad_(),
       v = rnd({1, 2, 6, 4}, 9).requires_grad_();
  auto w = rnd({1, 2, 6, 4}, 10);
  auto out = ctx::attend_explicit(q, k, v, {}, true).first;
  (out * w).sum().backward();
  // One block over everything, its gradients from its own log-sum-exp (rows two at a time).
  torch::NoGradGuard ng;
  auto [o, lse] = attention_block(q, k, v, true);
  auto delta = (w * o).sum(-1);
  auto g = ctx::attention_block_backward(q, k, v, o, w, lse, delta, true, 2);
  EXPECT_LT(max_diff(g.dq, q.grad()), 1e-6);
  EXPECT_LT(max_diff(g.dk, k.grad()), 1e-6);
  EXPECT_LT(max_diff(g.dv, v.grad()), 1e-6);
  // The same gradients from three blocks, as ring steps split the work: rows 0..2 over keys 0..2
  // (causal), rows 3..5 over keys 0..2 (all visible) and over keys 3..5 (causal).
  auto part = [&](int64_t r0, int64_t k0, bool causal) {
    return ctx::attention_block_backward(q.narrow(2, r0, 3), k.narrow(2, k0, 3), v.narrow(2, k0, 3),
                                         o.narrow(2, r0, 3), w.narrow(2, r0, 3), lse.narrow(2, r0, 3),
                                         delta.narrow(2, r0, 3), causal);
  };
  auto a = part(0, 0, true), b = part(3, 0, false), c = part(3, 3, true);
  auto dq = torch::cat({a.dq, b.dq + c.dq}, 2);
  auto dk = torch::cat({a.dk + b.dk, c.dk}, 2);
  auto dv = torch::cat({a.dv + b.dv, c.dv}, 2);
  EXPECT_LT(max_diff(dq, q.grad()), 1e-6);
  EXPECT_LT(max_diff(dk, k.grad()), 1e-6);
  EXPECT_LT(max_diff(dv, v.grad()), 1e-6);
}

TEST(RingAttention, ZigzagLayoutRoundTrips) {
  EXPECT_EQ(ctx::zigzag_indices(8, 2, 0), (std::vector<int64_t>{0, 1, 6, 7}));
  EXPECT_EQ(ctx::zigzag_indices(8, 2, 1), (std::vector<int64_t>{2, 3, 4, 5}));
  EXPECT_EQ(ctx::zigzag_indices(12, 3, 2), (std::vector<int64_t>{4, 5, 6, 7}));
  EXPECT_THROW(ctx::zigzag_indices(10, 3, 0), std::invalid_argument);
  auto x = torch::arange(24).view({2, 12});
  std::vector<torch::Tensor> parts;
  for (int64_t r = 0; r < 3; ++r) parts.push_back(ctx::zigzag_shard(x, 3, r));
  EXPECT_TRUE(torch::equal(parts[1][0], torch::tensor({2, 3, 8, 9})));
  EXPECT_TRUE(torch::equal(ctx::zigzag_unshard(parts), x));
}

TEST(RingAttention, TheWholeRingEqualsPlainCausalAttention) {
  auto q = rnd({2, 2, 24, 4}, 11), k = rnd({2, 2, 24, 4}, 12), v = rnd({2, 2, 24, 4}, 13);
  auto plain = ctx::attend_explicit(q, k, v, {}, true).first;
  for (int64_t n : {1, 2, 3, 4, 6})
    EXPECT_LT(max_diff(ctx::ring_attention_reference(q, k, v, n), plain), 1e-6) << n << " ranks";
  EXPECT_EQ(ctx::ring_block(2, 2), ctx::RingBlock::Diagonal);
  EXPECT_EQ(ctx::ring_block(2, 0), ctx::RingBlock::AllQueriesFirstKeys);
  EXPECT_EQ(ctx::ring_block(0, 2), ctx::RingBlock::LastQueriesAllKeys);
}

ctx::RunConfig config_with(nlohmann::json model, nlohmann::json train) {
  nlohmann::json j = {{"name", "cp"},
                      {"model", {{"layers", 1}, {"d_model", 32}, {"heads", 2}, {"max_positions", 128}}},
                      {"train", {{"seq_len", 32}, {"batch_size", 2}, {"steps", 1}}}};
  if (model.is_object()) j["model"].update(model);  // `{}` arrives as null
  if (train.is_object()) j["train"].update(train);
  return ctx::parse_run_config(j);
}

void expect_refused(const ctx::RunConfig& c, int world, const std::string& part) {
  try {
    ctx::check_distributed_config(c, world);
    ADD_FAILURE() << "accepted; expected: " << part;
  } catch (const ctx::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(DistributedConfig, RefusesWhatTheRingCannotCarry) {
  EXPECT_NO_THROW(ctx::check_distributed_config(config_with({}, {{"context_parallel", 2}}), 4));
  expect_refused(config_with({}, {{"context_parallel", 3}}), 4, "does not divide the world size 4");
  expect_refused(config_with({}, {{"context_parallel", 2}}), 1, "2 ranks per sequence need a torchrun launch");
  expect_refused(config_with({}, {{"context_parallel", 2}, {"seq_len", 30}}), 2, "train.seq_len: 30 tokens");
  const nlohmann::json stages = {{{"seq_len", 32}, {"steps", 1}}, {{"seq_len", 34}, {"steps", 1}}};
  expect_refused(config_with({}, {{"context_parallel", 2}, {"steps", 2}, {"stages", stages}}), 2,
                 "train.stages[1].seq_len: 34");
  for (const char* scheme : {"alibi", "relative", "irpe"})
    expect_refused(config_with({{"position", scheme}}, {{"context_parallel", 2}}), 2,
                   std::string("model.position '") + scheme + "' adds a T x T logit bias");
  EXPECT_NO_THROW(ctx::check_distributed_config(config_with({{"position", "alibi"}}, {}), 2));  // data parallel
  EXPECT_EQ(ctx::context_parallel_refusal(config_with({{"position", "learned"}}, {}).model), "");
}

TEST(DataParallel, EachRankBuildsItsOwnRowsOfTheGlobalBatch) {
  auto cfg = config_with({}, {{"positions", "randpos"}});
  auto split = ctx::load_run_split(cfg);
  ctx::SamplerContext sctx;
  sctx.docs = &split.train;
  sctx.seq_len = 32;
  sctx.max_positions = 128;
  auto sampler = ctx::get_method(ctx::MethodKind::Sampler, cfg.train.positions, "train.positions.type")
                     ->sampler(cfg.train.positions_params, sctx);
  auto whole = ctx::make_batch(*sampler, 7, 3, 1, 4, 0, nullptr);
  for (int64_t rank = 0; rank < 2; ++rank) {
    auto part = ctx::make_batch(*sampler, 7, 3, 1, 4, 0, nullptr, rank * 2, 2);
    ASSERT_EQ(part.batch, 2);
    const auto n = static_cast<size_t>(2 * part.seq);
    const auto off = static_cast<size_t>(rank) * n;
    EXPECT_TRUE(std::equal(part.tokens.begin(), part.tokens.end(), whole.tokens.begin() + static_cast<long>(off)));
    EXPECT_TRUE(std::equal(part.positions.begin(), part.positions.end(),
                           whole.positions.begin() + static_cast<long>(off)));
  }
}

}  // namespace
