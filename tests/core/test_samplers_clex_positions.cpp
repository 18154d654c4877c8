// The clex_positions sampler (METHODS.md §2, training-time behaviour): per batch an integer t;
// positions span [0, L0·t) in steps of 1/s with 0 first and L0·t-1 last.
#include <cmath>
#include <set>

#include "samplers_test_util.h"

using namespace samplers_test;

TEST(ClexPositionsSampler, PositionsSpanTheScaledWindowInStepsOfOneOverS) {
  auto docs = docs_of({2000});
  ctx::SamplerContext sc{&docs, 64, 256};
  // L = 64 = s * L0 with L0 = 16, s = 4.
  auto s = make("clex_positions", {{"original_len", 16}, {"max_t", 5}}, sc);
  std::set<int> ts;
  for (uint64_t step = 0; step < 200; ++step) {
    ctx::Rng b(step), r(step + 500);
    s->begin_batch(b);
    auto ex = s->sample(r);
    expect_well_formed(ex, 64);
    const auto t = static_cast<int>(ex.info.at("t"));
    ts.insert(t);
    EXPECT_EQ(ex.info.at("s"), 4);
    EXPECT_EQ(ex.positions.front(), 0.0f);
    EXPECT_EQ(ex.positions.back(), static_cast<float>(16 * t - 1));
    for (size_t i = 0; i < 64; ++i) {
      const float p = ex.positions[i];
      EXPECT_GE(p, 0.0f);
      EXPECT_LT(p, static_cast<float>(16 * t));
      EXPECT_EQ(p * 4, std::round(p * 4)) << p;  // multiples of 1/s
      // The drawn ids are distinct and sorted; the appended last id, floor(L*t/s)-1, can sit
      // below the largest drawn one when s > 1 (as in the code).
      if (i > 0 && i < 63) {
        EXPECT_GT(p, ex.positions[i - 1]);
      }
      EXPECT_EQ(ex.loss_mask[i], 1);
      if (i > 0) {  // contiguous text
        EXPECT_EQ(ex.tokens[i], (ex.tokens[i - 1] + 1) % kMod);
      }
    }
  }
  EXPECT_EQ(ts, (std::set<int>{1, 2, 3, 4, 5}));
}

TEST(ClexPositionsSampler, UnitScaleAtTheOriginalLengthIsContiguous) {
  auto docs = docs_of({500});
  ctx::SamplerContext sc{&docs, 32, 32};
  auto s = make("clex_positions", {{"max_t", 1}}, sc);  // L0 = max_positions = 32, s = 1, t = 1
  ctx::Rng b(1), r(2);
  s->begin_batch(b);
  auto ex = s->sample(r);
  for (size_t i = 0; i < 32; ++i) EXPECT_EQ(ex.positions[i], static_cast<float>(i));
}

TEST(ClexPositionsSampler, OneDrawPerBatchUnlessPerExample) {
  auto docs = docs_of({2000});
  ctx::SamplerContext sc{&docs, 32, 32};
  auto shared = make("clex_positions", {{"max_t", 8}}, sc);
  auto own = make("clex_positions", {{"max_t", 8}, {"per_example_positions", true}}, sc);
  ctx::Rng b1(4), b2(4);
  shared->begin_batch(b1);
  own->begin_batch(b2);
  ctx::Rng r1(1), r2(2), r3(1), r4(2);
  auto x = shared->sample(r1), y = shared->sample(r2);
  auto u = own->sample(r3), v = own->sample(r4);
  EXPECT_EQ(x.positions, y.positions);
  EXPECT_EQ(x.info.at("t"), y.info.at("t"));
  EXPECT_EQ(u.info.at("t"), x.info.at("t"));
  if (x.info.at("t") > 1) {
    EXPECT_NE(u.positions, v.positions);
  }
}

TEST(ClexPositionsSampler, SameSeedSameExample) {
  auto docs = docs_of({2000});
  ctx::SamplerContext sc{&docs, 32, 256};
  auto s = make("clex_positions", {}, sc);
  expect_deterministic(*s);
}

TEST(ClexPositionsSampler, RejectsAnEmptyScaleRange) {
  EXPECT_NE(validate("clex_positions", {{"min_t", 5}, {"max_t", 4}}, 64).find("min_t:"),
            std::string::npos);
  EXPECT_NE(validate("clex_positions", {}, 128, 256, "learned").find("max_t:"), std::string::npos);
  EXPECT_EQ(config_error("clex_positions"), "");
}
