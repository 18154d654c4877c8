// Shortformer: position information enters only the query/key inputs (never values or the
// residual stream), a window attending to its cached predecessor equals the second half of one
// pass over both, and the consecutive sampler continues each row's text.
#include <gtest/gtest.h>

#include "methods/registry.h"
#include "model/language_model.h"
#include "config/run_config.h"

namespace {

ctx::ModelConfig pia_model() {
  return ctx::parse_run_config({{"model", {{"layers", 2}, {"d_model", 32}, {"heads", 2}, {"position", "pia"}}}}).model;
}

torch::Tensor ids(int64_t from, int64_t T) { return torch::arange(from, from + T, torch::kFloat).unsqueeze(0); }

}  // namespace

TEST(Pia, PositionsReachOnlyQueriesAndKeys) {
  torch::manual_seed(11);
  auto m = ctx::make_language_model(pia_model(), nullptr, 259);
  torch::NoGradGuard ng;
  auto x = torch::randint(0, 256, {1, 12}, torch::kLong);
  // With position-dependent q/k, shifting the ids changes the output.
  EXPECT_FALSE(torch::allclose(m->forward(x, ids(0, 12)), m->forward(x, ids(50, 12)), 1e-5, 1e-5));
  // Zero the query and key projections: attention no longer sees position, and since values and
  // the residual stream carry none, the output becomes independent of the ids.
  for (auto& p : m->named_parameters())
    if (p.key().find("wqkv") != std::string::npos) p.value().narrow(0, 0, 64).zero_();
  EXPECT_TRUE(torch::allclose(m->forward(x, ids(0, 12)), m->forward(x, ids(50, 12)), 1e-5, 1e-5));
}

TEST(Pia, CachedWindowEqualsTheSecondHalfOfOnePass) {
  torch::manual_seed(12);
  auto m = ctx::make_language_model(pia_model(), nullptr, 259);
  torch::NoGradGuard ng;
  auto x = torch::randint(0, 256, {2, 16}, torch::kLong);
  auto full = m->forward(x, ids(0, 16).expand({2, 16}));
  ctx::LayerMemory mem;
  auto first = m->forward(x.narrow(1, 0, 8), ids(0, 8).expand({2, 8}), &mem);
  ASSERT_EQ(mem.size(), 2u);
  EXPECT_EQ(mem[0].size(1), 8);
  auto second = m->forward(x.narrow(1, 8, 8), ids(0, 8).expand({2, 8}), &mem);
  EXPECT_TRUE(torch::allclose(first, full.narrow(1, 0, 8), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(second, full.narrow(1, 8, 8), 1e-4, 1e-5)) << (second - full.narrow(1, 8, 8)).abs().max();
  // The cache is detached: no gradient flows into the previous window.
  EXPECT_FALSE(mem[0].requires_grad());
}

TEST(Pia, ConsecutiveSamplerContinuesEachRow) {
  std::vector<ctx::data::Document> docs(1);
  for (int i = 0; i < 5000; ++i) docs[0].tokens.push_back(i % 250);
  ctx::SamplerContext sc{&docs, 16, 64};
  auto s = ctx::find_method(ctx::MethodKind::Sampler, "consecutive")->sampler(nlohmann::json::object(), sc);
  ctx::Rng rng(1);
  for (int64_t row = 0; row < 3; ++row) {
    s->set_slot(row, 0);
    auto a = s->sample(rng);
    s->set_slot(row, 16);
    auto b = s->sample(rng);
    EXPECT_EQ(b.info.at("offset"), a.info.at("offset") + 16) << row;
    EXPECT_EQ(a.targets.back(), b.tokens.front());
  }
}

TEST(Pia, StagesSetStepsAndLengths) {
  auto c = ctx::parse_run_config({{"train", {{"stages", {{{"seq_len", 32}, {"steps", 3}}, {{"seq_len", 128}, {"steps", 2}}}}}}});
  EXPECT_EQ(c.train.steps, 5);
  EXPECT_EQ(c.train.seq_len, 32);
  EXPECT_EQ(c.train.seq_len_at(3), 32);
  EXPECT_EQ(c.train.seq_len_at(4), 128);
  EXPECT_EQ(c.train.tokens_before(1), 0);
  EXPECT_EQ(c.train.tokens_before(4), 96);
  EXPECT_EQ(c.train.tokens_before(6), 96 + 256);
  EXPECT_THROW(ctx::parse_run_config({{"train", {{"steps", 4}, {"stages", {{{"seq_len", 32}, {"steps", 3}}}}}}}), ctx::ConfigError);
  auto again = ctx::parse_run_config(ctx::to_json(c));
  EXPECT_EQ(again.train.stages, c.train.stages);
}
