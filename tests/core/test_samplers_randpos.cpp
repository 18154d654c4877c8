// The randpos sampler (METHODS.md §8.9): contiguous text, ids = seq_len distinct sorted integers
// drawn from [0, Lmax).
#include "samplers_test_util.h"

using namespace samplers_test;

TEST(RandPosSampler, IdsAreDistinctSortedAndInRange) {
  auto docs = docs_of({1000, 400});
  ctx::SamplerContext sc{&docs, 32, 256};
  for (auto params : {nlohmann::json{{"factor", 4}}, nlohmann::json{{"max_len", 40}}}) {
    const float lmax = params.contains("max_len") ? 40.0f : 128.0f;
    auto s = make("randpos", params, sc);
    ctx::Rng rng(8);
    float highest = 0, lowest = 1e9f;
    for (int trial = 0; trial < 300; ++trial) {
      auto ex = s->sample(rng);
      expect_well_formed(ex, 32);
      for (size_t i = 0; i < 32; ++i) {
        EXPECT_EQ(ex.loss_mask[i], 1);
        EXPECT_GE(ex.positions[i], 0.0f);
        EXPECT_LT(ex.positions[i], lmax);
        EXPECT_EQ(ex.positions[i], static_cast<float>(static_cast<int>(ex.positions[i])));
        if (i > 0) {
          EXPECT_GT(ex.positions[i], ex.positions[i - 1]);
          EXPECT_EQ(ex.tokens[i], (ex.tokens[i - 1] + 1) % kMod);  // the text is contiguous
        }
      }
      highest = std::max(highest, ex.positions.back());
      lowest = std::min(lowest, ex.positions.front());
    }
    EXPECT_EQ(highest, lmax - 1);
    EXPECT_EQ(lowest, 0.0f);
  }
}

TEST(RandPosSampler, EveryIdIsEquallyLikely) {
  // 4 ids out of 8: each id is chosen with probability 1/2.
  auto docs = docs_of({100});
  ctx::SamplerContext sc{&docs, 4, 256};
  auto s = make("randpos", {{"max_len", 8}}, sc);
  ctx::Rng rng(2);
  std::vector<int> count(8);
  const int n = 8000;
  for (int i = 0; i < n; ++i)
    for (float p : s->sample(rng).positions) count[static_cast<size_t>(p)]++;
  for (int c : count) EXPECT_NEAR(c, n / 2, 200);
}

TEST(RandPosSampler, SameSeedSameExample) {
  auto docs = docs_of({1000});
  ctx::SamplerContext sc{&docs, 32, 256};
  auto s = make("randpos", {}, sc);
  expect_deterministic(*s);
}

TEST(RandPosSampler, RejectsTooFewIds) {
  EXPECT_NE(validate("randpos", {{"max_len", 20}}, 32).find("max_len:"), std::string::npos);
  EXPECT_NE(validate("randpos", {{"factor", 4}}, 128, 256, "learned").find("factor:"),
            std::string::npos);
  EXPECT_EQ(config_error("randpos"), "");
}
