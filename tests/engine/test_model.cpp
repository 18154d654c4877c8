// The transformer: causal masking, position schemes in the forward pass, learning a short text,
// and perplexity bookkeeping (window planning, a uniform model scores exactly the vocabulary size).
#include <gtest/gtest.h>

#include <cmath>

#include <torch/optim/adamw.h>

#include "eval/perplexity.h"
#include "model/attention.h"
#include "model/language_model.h"
#include "config/run_config.h"

namespace {

ctx::ModelConfig tiny(const std::string& position = "rope") {
  auto c = ctx::parse_run_config({{"model", {{"layers", 2}, {"d_model", 32}, {"heads", 2}, {"max_positions", 64},
                                             {"position", position}}}});
  return c.model;
}

torch::Tensor ids(int64_t T) { return torch::arange(T, torch::kFloat).unsqueeze(0); }

}  // namespace

TEST(Model, ChangingALaterTokenLeavesEarlierLogitsUnchanged) {
  for (auto pos : {"rope", "learned", "sinusoidal", "nope"}) {
    torch::manual_seed(1);
    auto m = ctx::make_language_model(tiny(pos), nullptr, 259);
    torch::NoGradGuard ng;
    auto x = torch::randint(0, 256, {1, 24}, torch::kLong);
    auto y = x.clone();
    y[0][17] = (x[0][17].item<int64_t>() + 1) % 256;
    auto a = m->forward(x, ids(24)), b = m->forward(y, ids(24));
    EXPECT_TRUE(torch::allclose(a.narrow(1, 0, 17), b.narrow(1, 0, 17), 1e-5, 1e-5)) << pos;
    EXPECT_FALSE(torch::allclose(a.narrow(1, 17, 7), b.narrow(1, 17, 7), 1e-5, 1e-5)) << pos;
  }
}

TEST(Model, FusedAndExplicitAttentionAgree) {
  torch::manual_seed(2);
  auto q = torch::randn({2, 3, 10, 8}), k = torch::randn({2, 3, 10, 8}), v = torch::randn({2, 3, 10, 8});
  auto fused = ctx::attend(q, k, v, {}, true);
  auto [expl, probs] = ctx::attend_explicit(q, k, v, {}, true);
  EXPECT_TRUE(torch::allclose(fused, expl, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(probs.sum(-1), torch::ones({2, 3, 10}), 1e-5, 1e-5));
  // Upper triangle masked.
  EXPECT_EQ(probs[0][0][2][5].item<float>(), 0.0f);
}

TEST(Model, LearnedPositionsRefuseIdsPastTheTable) {
  auto m = ctx::make_language_model(tiny("learned"), nullptr, 259);
  torch::NoGradGuard ng;
  auto x = torch::zeros({1, 4}, torch::kLong);
  EXPECT_NO_THROW(m->forward(x, torch::tensor({60.f, 61.f, 62.f, 63.f}).unsqueeze(0)));
  try {
    m->forward(x, torch::tensor({61.f, 62.f, 63.f, 64.f}).unsqueeze(0));
    FAIL() << "no error past the table";
  } catch (const ctx::PositionRangeError& e) {
    EXPECT_NE(std::string(e.what()).find("max_positions 64"), std::string::npos);
  }
}

TEST(Model, TinyModelOverfitsAShortText) {
  torch::manual_seed(3);
  auto m = ctx::make_language_model(tiny(), nullptr, 259);
  const std::string text = "the quick brown fox jumps over the lazy dog; the quick brown fox!";
  std::vector<int64_t> t(text.begin(), text.end());
  auto all = torch::tensor(t).unsqueeze(0);
  const int64_t T = all.size(1) - 1;
  auto x = all.narrow(1, 0, T), y = all.narrow(1, 1, T);
  torch::optim::AdamW opt(m->parameters(), torch::optim::AdamWOptions(3e-3).weight_decay(0.0));
  double first = 0, last = 0;
  for (int s = 0; s < 200; ++s) {
    opt.zero_grad();
    auto loss = m->loss(x, ids(T), y);
    loss.backward();
    opt.step();
    if (s == 0) first = loss.item<double>();
    last = loss.item<double>();
  }
  EXPECT_GT(first, 4.5);  // ~ln(259) at init
  EXPECT_LT(last, 0.2);
}

TEST(Perplexity, SlidingWindowsScoreEveryTokenExactlyOnce) {
  std::vector<std::vector<ctx::data::Token>> docs = {std::vector<ctx::data::Token>(1001, 1),
                                                     std::vector<ctx::data::Token>(50, 1),  // too short: skipped
                                                     std::vector<ctx::data::Token>(333, 1)};
  for (int64_t stride : {16, 50, 64}) {
    ctx::PplOptions o;
    o.length = 64;
    o.mode = "sliding";
    o.stride = stride;
    o.max_tokens = 1 << 30;
    auto w = ctx::plan_windows(docs, o);
    std::map<size_t, std::vector<int>> hits;
    hits[0].assign(1000, 0);
    hits[2].assign(332, 0);
    for (auto& win : w) {
      ASSERT_NE(win.doc, 1u);
      ASSERT_LE(win.start + 64, static_cast<int64_t>(docs[win.doc].size()) - 1);
      for (int64_t i = win.score_from; i < 64; ++i) hits[win.doc][static_cast<size_t>(win.start + i)]++;
      // Every scored token has at least L - S tokens of context (except at the document start).
      if (win.start > 0) {
        EXPECT_GE(win.score_from, 64 - stride);
      }
    }
    for (auto& [d, h] : hits)
      for (size_t i = 0; i < h.size(); ++i) ASSERT_EQ(h[i], 1) << "doc " << d << " token " << i << " stride " << stride;
  }
}

TEST(Perplexity, NonOverlappingWindowsTileDocuments) {
  std::vector<std::vector<ctx::data::Token>> docs = {std::vector<ctx::data::Token>(200, 1)};
  ctx::PplOptions o;
  o.length = 64;
  o.max_tokens = 1 << 30;
  auto w = ctx::plan_windows(docs, o);
  ASSERT_EQ(w.size(), 3u);  // 199 predictable tokens -> 3 full windows
  EXPECT_EQ(w[1].start, 64);
  EXPECT_EQ(w[2].start, 128);
}

TEST(Perplexity, UniformModelScoresTheVocabularySize) {
  auto m = ctx::make_language_model(tiny(), nullptr, 259);
  {
    torch::NoGradGuard ng;
    for (auto& p : m->parameters()) p.zero_();  // zero embeddings -> all logits 0 -> uniform
  }
  std::vector<ctx::data::Document> docs(2);
  for (int i = 0; i < 300; ++i) docs[0].tokens.push_back(i % 200), docs[1].tokens.push_back((i * 7) % 256);
  ctx::PplOptions o;
  o.length = 32;
  auto r = ctx::evaluate_perplexity(m, docs, o, torch::Device(torch::kCPU));
  EXPECT_NEAR(r.ppl, 259.0, 1e-2);
  EXPECT_EQ(r.tokens, 2 * 9 * 32);
  ASSERT_EQ(r.position_loss.size(), 32u);
  for (float v : r.position_loss) EXPECT_NEAR(v, std::log(259.0), 1e-4);
}
