// The E2-LLM sampler (METHODS.md §4): 4 sink ids 0..3 then a body offset by t, all divided by g;
// g ~ U{ceil(R/L)..g_max}, t ~ U{0..g·L-R}, shared by a batch unless per_sample.
#include <cmath>
#include <set>

#include "samplers_test_util.h"

using namespace samplers_test;

namespace {

// Checks one example (R = seq_len, L = original window) and returns its (g, t).
std::pair<int64_t, int64_t> expect_e2(const ctx::data::Example& ex, int64_t R, int64_t L,
                                      int64_t g_max) {
  const auto g = static_cast<int64_t>(ex.info.at("g"));
  const auto t = static_cast<int64_t>(ex.info.at("t"));
  EXPECT_GE(g, (R + L - 1) / L);
  EXPECT_LE(g, g_max);
  EXPECT_GE(t, 0);
  EXPECT_LE(t, std::max<int64_t>(0, g * L - R));
  std::vector<double> unscaled;
  for (float p : ex.positions) {
    const double id = static_cast<double>(p) * static_cast<double>(g);
    EXPECT_NEAR(id, std::round(id), 1e-3);  // ids are integers divided by g
    unscaled.push_back(std::round(id));
    EXPECT_LT(p, static_cast<float>(L));  // scaled ids stay inside the original window
  }
  for (int i = 0; i < 4; ++i) EXPECT_EQ(unscaled[static_cast<size_t>(i)], i);  // the sinks
  EXPECT_EQ(unscaled[4], static_cast<double>(4 + t));
  for (size_t i = 5; i < unscaled.size(); ++i) EXPECT_EQ(unscaled[i], unscaled[i - 1] + 1);
  EXPECT_LE(unscaled.back() - unscaled[4], static_cast<double>(R - 1));  // body distances <= R-1
  for (auto m : ex.loss_mask) EXPECT_EQ(m, 1);
  return {g, t};
}

}  // namespace

TEST(E2LlmSampler, SinksThenOffsetBodyAllDividedByG) {
  auto docs = docs_of({2000});
  ctx::SamplerContext sc{&docs, 64, 64};  // R = L = 64 (the paper's R = L = 4k)
  auto s = make("e2llm", {{"g_max", 6}}, sc);
  std::set<int64_t> gs;
  int offsets = 0;
  for (uint64_t step = 0; step < 200; ++step) {
    ctx::Rng b(step), r(step + 1000);
    s->begin_batch(b);
    auto ex = s->sample(r);
    expect_well_formed(ex, 64);
    auto [g, t] = expect_e2(ex, 64, 64, 6);
    gs.insert(g);
    offsets += t > 0;
  }
  EXPECT_EQ(gs.size(), 6u);  // g = 1..6 all drawn
  EXPECT_GT(offsets, 100);
}

TEST(E2LlmSampler, SmallestScaleCoversTheTrainingLength) {
  auto docs = docs_of({2000});
  ctx::SamplerContext sc{&docs, 64, 256};
  auto s = make("e2llm", {{"original_len", 24}, {"g_max", 5}}, sc);  // ceil(64/24) = 3
  std::set<int64_t> gs;
  for (uint64_t step = 0; step < 100; ++step) {
    ctx::Rng b(step), r(step + 7);
    s->begin_batch(b);
    gs.insert(expect_e2(s->sample(r), 64, 24, 5).first);
  }
  EXPECT_EQ(gs, (std::set<int64_t>{3, 4, 5}));
}

TEST(E2LlmSampler, ScaleAndOffsetAreSharedByABatchUnlessPerSample) {
  auto docs = docs_of({2000});
  ctx::SamplerContext sc{&docs, 32, 64};
  auto shared = make("e2llm", {}, sc);
  auto own = make("e2llm", {{"per_sample", true}}, sc);
  ctx::Rng b(1);
  shared->begin_batch(b);
  own->begin_batch(b);
  std::set<std::pair<double, double>> a, c;
  for (uint64_t i = 0; i < 16; ++i) {
    ctx::Rng r1(i), r2(i);
    auto x = shared->sample(r1);
    auto y = own->sample(r2);
    a.insert({x.info.at("g"), x.info.at("t")});
    c.insert({y.info.at("g"), y.info.at("t")});
  }
  EXPECT_EQ(a.size(), 1u);
  EXPECT_GT(c.size(), 8u);
}

TEST(E2LlmSampler, SameSeedSameExample) {
  auto docs = docs_of({2000});
  ctx::SamplerContext sc{&docs, 32, 64};
  auto s = make("e2llm", {}, sc);
  expect_deterministic(*s);
}

TEST(E2LlmSampler, RejectsScalesThatCannotCoverTheLength) {
  EXPECT_NE(validate("e2llm", {{"original_len", 16}, {"g_max", 3}}, 64).find("g_max:"),
            std::string::npos);
  EXPECT_EQ(validate("e2llm", {{"original_len", 16}, {"g_max", 3}, {"allow_small_g", true}}, 64),
            "");
  EXPECT_NE(validate("e2llm", {{"n_sink", 64}}, 64).find("n_sink:"), std::string::npos);
  EXPECT_NE(validate("e2llm", {{"original_len", 512}}, 64, 256, "learned").find("original_len:"),
            std::string::npos);
  // Scaled ids reach L - 1/g: a learned table of L rows (ids <= L-1) is too small by a fraction.
  EXPECT_NE(validate("e2llm", {}, 64, 256, "learned").find("original_len:"), std::string::npos);
  EXPECT_EQ(validate("e2llm", {{"original_len", 128}}, 64, 256, "learned"), "");
  EXPECT_EQ(config_error("e2llm"), "");
}
