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

TEST(Perplexity, RandposWindowIdsAreDistinctSortedInRangeAndFixedPerWindow) {
  const auto a = ctx::random_window_ids(64, 256, 0);
  ASSERT_EQ(a.size(), 64u);
  EXPECT_GE(a.front(), 0);
  EXPECT_LT(a.back(), 256);
  for (size_t i = 1; i < a.size(); ++i) EXPECT_LT(a[i - 1], a[i]) << i;
  EXPECT_EQ(a, ctx::random_window_ids(64, 256, 0));  // every run sees the same ids
  EXPECT_NE(a, ctx::random_window_ids(64, 256, 1));  // each window its own
  EXPECT_NE(a, ctx::random_window_ids(64, 512, 0));
  // The whole range when it is exactly the length: the only sorted choice is 0..L-1.
  const auto full = ctx::random_window_ids(32, 32, 7);
  for (int64_t i = 0; i < 32; ++i) EXPECT_EQ(full[static_cast<size_t>(i)], i);
  EXPECT_THROW(ctx::random_window_ids(65, 64, 0), std::invalid_argument);
  // Uniform over the range: over many windows every quarter of [0, 256) holds about a quarter.
  std::vector<int64_t> quarter(4, 0);
  for (uint64_t w = 0; w < 400; ++w)
    for (auto id : ctx::random_window_ids(16, 256, w)) ++quarter[static_cast<size_t>(id / 64)];
  for (auto q : quarter) EXPECT_NEAR(static_cast<double>(q) / 6400.0, 0.25, 0.03);
}

TEST(Perplexity, RandposEqualsNonoverlapWhenTheRangeIsTheLengthAndDiffersWhenWider) {
  torch::manual_seed(5);
  auto m = ctx::make_language_model(tiny(), nullptr, 259);
  {
    torch::NoGradGuard ng;
    for (auto& p : m->parameters())
      p.mul_(6);  // sharp attention: the ids' effect shows in the loss
  }
  std::vector<ctx::data::Document> docs(1);
  for (int i = 0; i < 300; ++i) docs[0].tokens.push_back((i * 13 + i / 7) % 251);
  ctx::PplOptions o;
  o.length = 32;
  const auto plain = ctx::evaluate_perplexity(m, docs, o, torch::Device(torch::kCPU));
  o.mode = "randpos";
  o.id_range = 32;
  const auto same = ctx::evaluate_perplexity(m, docs, o, torch::Device(torch::kCPU));
  EXPECT_EQ(same.mode, "randpos");
  EXPECT_EQ(same.tokens, plain.tokens);
  EXPECT_NEAR(same.loss, plain.loss, 1e-6);
  o.id_range = 64;  // RoPE sees other ids: another loss, the same windows
  const auto wider = ctx::evaluate_perplexity(m, docs, o, torch::Device(torch::kCPU));
  EXPECT_EQ(wider.tokens, plain.tokens);
  EXPECT_GT(std::abs(wider.loss - plain.loss), 1e-3) << wider.loss << " vs " << plain.loss;
  o.id_range = 31;
  EXPECT_THROW(ctx::evaluate_perplexity(m, docs, o, torch::Device(torch::kCPU)),
               ctx::data::DataError);
  // A model without positions (NoPE) cannot tell the ids apart: the same loss at any range.
  auto nope = ctx::make_language_model(tiny("nope"), nullptr, 259);
  o.mode = "nonoverlap";
  const auto nope_plain = ctx::evaluate_perplexity(nope, docs, o, torch::Device(torch::kCPU));
  o.mode = "randpos";
  o.id_range = 1000;
  EXPECT_NEAR(ctx::evaluate_perplexity(nope, docs, o, torch::Device(torch::kCPU)).loss,
              nope_plain.loss, 1e-5);
}
