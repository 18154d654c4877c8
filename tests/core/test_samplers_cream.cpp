// The CREAM sampler (METHODS.md §3): head at the window start, tail at its end, a contiguous middle
// in between placed by the truncated-Gaussian scale r; the two layouts and their coin.
#include <cmath>
#include <set>

#include "samplers_test_util.h"

using namespace samplers_test;

namespace {

// Checks the id layout of one example of length N for factor k; returns the head length.
int64_t expect_layout(const ctx::data::Example& ex, int64_t N, int64_t k) {
  const int64_t h = ex.info.at("layout") == 0 ? N / 3 : 4 * k, tail = h, m = N - h - tail;
  const auto e = static_cast<int64_t>(ex.info.at("e"));
  for (int64_t i = 0; i < N; ++i) {
    const auto p = static_cast<int64_t>(ex.positions[static_cast<size_t>(i)]);
    if (i < h) {
      EXPECT_EQ(p, i);  // head: the window's start
    } else if (i < h + m) {
      EXPECT_EQ(p, e - m + 1 + (i - h));  // middle: contiguous, ends at e
    } else {
      EXPECT_EQ(p, k * N - tail + (i - h - m));  // tail: the window's end
    }
  }
  EXPECT_GE(e - m + 1, h);  // the middle stays between head and tail
  EXPECT_LT(e, k * N - tail);
  return h;
}

}  // namespace

TEST(CreamSampler, HeadMiddleTailIdsStayInsideTheWindow) {
  auto docs = docs_of({3000, 800});
  ctx::SamplerContext sc{&docs, 96, 1024};
  auto s = make("cream", {{"factor", 4}}, sc);
  ctx::Rng rng(1);
  std::set<int> layouts;
  for (int trial = 0; trial < 400; ++trial) {
    auto ex = s->sample(rng);
    expect_well_formed(ex, 96);
    layouts.insert(static_cast<int>(ex.info.at("layout")));
    const int64_t h = expect_layout(ex, 96, 4);
    for (size_t i = 1; i < 96; ++i) EXPECT_GT(ex.positions[i], ex.positions[i - 1]);
    const double r = ex.info.at("r");
    EXPECT_GE(r, 2);
    EXPECT_LE(r, 8);
    // The middle end e is drawn from [floor(h + (m-1) r/2), floor(r N/2) - tail - 1].
    const double m = 96 - 2 * h, e = ex.info.at("e");
    EXPECT_GE(e, std::floor(static_cast<double>(h) + (m - 1) * r / 2));
    EXPECT_LE(e, std::floor(r * 96 / 2) - static_cast<double>(h) - 1);
    // Head tokens are the document's first tokens.
    for (int64_t i = 0; i < h; ++i) EXPECT_EQ(ex.tokens[static_cast<size_t>(i)], i % kMod);
  }
  EXPECT_EQ(layouts.size(), 2u);
}

TEST(CreamSampler, RelativityHeadIsFourK) {
  auto docs = docs_of({2000});
  ctx::SamplerContext sc{&docs, 128, 256};
  auto s = make("cream", {{"factor", 8}, {"layouts", "relativity"}}, sc);
  ctx::Rng rng(2);
  for (int trial = 0; trial < 50; ++trial) {
    auto ex = s->sample(rng);
    ASSERT_EQ(ex.info.at("layout"), 1);
    EXPECT_EQ(expect_layout(ex, 128, 8), 32);
    EXPECT_EQ(ex.positions[31], 31.0f);
    EXPECT_GE(ex.positions[32], 32.0f);
    EXPECT_EQ(ex.positions[128 - 32], static_cast<float>(8 * 128 - 32));
    EXPECT_EQ(ex.positions.back(), static_cast<float>(8 * 128 - 1));
  }
}

TEST(CreamSampler, ScaleFollowsTheClampedGaussian) {
  // r = floor(X) with X ~ N(1+k, 3) clamped to [2, 2k]: E[r] from the normal CDF, and the mean of
  // r/2 lies close to (1+k)/2 (the floor lowers it a little).
  auto docs = docs_of({2000});
  for (int64_t k : {4, 8}) {
    ctx::SamplerContext sc{&docs, 128, 4096};
    auto s = make("cream", {{"factor", k}}, sc);
    ctx::Rng rng(static_cast<uint64_t>(k));
    const int n = 20000;
    double sum = 0;
    for (int i = 0; i < n; ++i) sum += s->sample(rng).info.at("r");
    const double mean_r = sum / n;
    auto Phi = [&](double x) {
      return 0.5 * (1 + std::erf((x - (1.0 + static_cast<double>(k))) / (3.0 * std::sqrt(2.0))));
    };
    double expected = 0;
    for (int64_t j = 2; j <= 2 * k; ++j) {
      const double lo = j == 2 ? 0.0 : Phi(static_cast<double>(j));
      const double hi = j == 2 * k ? 1.0 : Phi(static_cast<double>(j + 1));
      expected += static_cast<double>(j) * (hi - lo);
    }
    EXPECT_NEAR(mean_r, expected, 0.06) << "k " << k;
    EXPECT_NEAR(mean_r / 2, (1.0 + static_cast<double>(k)) / 2, 0.3) << "k " << k;
  }
}

TEST(CreamSampler, TailEndsTheDocumentAndTargetsAreTrue) {
  auto docs = docs_of({140});
  ctx::SamplerContext sc{&docs, 128, 1024};
  auto s = make("cream", {{"factor", 4}, {"mask_boundary_labels", false}}, sc);
  ctx::Rng rng(3);
  for (int trial = 0; trial < 50; ++trial) {
    auto ex = s->sample(rng);
    expect_well_formed(ex, 128);
    EXPECT_EQ(ex.targets.back(), docs[0].tokens.back());
    for (auto m : ex.loss_mask) EXPECT_EQ(m, 1);
  }
}

TEST(CreamSampler, CoinPerBatchSharesTheLayout) {
  auto docs = docs_of({2000});
  ctx::SamplerContext sc{&docs, 96, 1024};
  auto per_batch = make("cream", {{"coin", "per_batch"}}, sc);
  auto per_example = make("cream", {}, sc);
  std::set<int> across, within_example_mode;
  for (uint64_t step = 0; step < 20; ++step) {
    ctx::Rng b(step);
    per_batch->begin_batch(b);
    per_example->begin_batch(b);
    std::set<int> within;
    for (uint64_t i = 0; i < 8; ++i) {
      ctx::Rng r(100 * step + i);
      within.insert(static_cast<int>(per_batch->sample(r).info.at("layout")));
      ctx::Rng r2(100 * step + i);
      within_example_mode.insert(static_cast<int>(per_example->sample(r2).info.at("layout")));
    }
    EXPECT_EQ(within.size(), 1u);
    across.insert(*within.begin());
  }
  EXPECT_EQ(across.size(), 2u);
  EXPECT_EQ(within_example_mode.size(), 2u);
}

TEST(CreamSampler, SameSeedSameExample) {
  auto docs = docs_of({2000, 700});
  ctx::SamplerContext sc{&docs, 96, 1024};
  auto s = make("cream", {}, sc);
  expect_deterministic(*s);
}

TEST(CreamSampler, RejectsShortDocumentsAndOversizedHeads) {
  EXPECT_NE(validate("cream", {{"factor", 8}}, 64).find("relativity_head:"), std::string::npos);
  EXPECT_EQ(validate("cream", {{"factor", 8}, {"layouts", "continuity"}}, 64), "");
  EXPECT_NE(validate("cream", {{"factor", 4}}, 128, 256, "learned").find("factor:"),
            std::string::npos);
  EXPECT_EQ(config_error("cream"), "");
  EXPECT_NE(config_error({{"type", "cream"}, {"factor", 32}}).find("train.positions."),
            std::string::npos);
  auto docs = docs_of({64, 90});
  ctx::SamplerContext sc{&docs, 96, 1024};
  EXPECT_EQ(build_error("cream", {}, sc).rfind("train.positions", 0), 0u);
}
