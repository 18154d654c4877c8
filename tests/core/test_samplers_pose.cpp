// The PoSE sampler (METHODS.md §8.8): two chunks as the released code (first chunk = document start
// at ids 0.., second chunk's ids skip ahead by u inside [0, Lt)), the paper's N chunks, errors.
#include <set>

#include "samplers_test_util.h"

using namespace samplers_test;

TEST(PoseSampler, TwoChunksWithExactlyOneSkip) {
  auto docs = docs_of({2000, 500});
  ctx::SamplerContext sc{&docs, 32, 256};
  auto s = make("pose", {{"target_len", 200}}, sc);
  ctx::Rng rng(1);
  int skipped = 0;
  std::set<int> first_lengths;
  for (int trial = 0; trial < 400; ++trial) {
    auto ex = s->sample(rng);
    expect_well_formed(ex, 32);
    const int l0 = static_cast<int>(ex.info.at("len0"));
    const int u = static_cast<int>(ex.info.at("u1"));
    const int v = static_cast<int>(ex.info.at("v1"));
    first_lengths.insert(l0);
    EXPECT_GE(l0, 1);
    EXPECT_LE(l0, (32 + 1) / 2);
    EXPECT_GE(u, 0);
    EXPECT_LE(u, 200 - 32);
    EXPECT_LE(v + 32, 5 * 32);  // the text stays inside the truncated document
    EXPECT_EQ(ex.positions[0], 0.0f);
    int jumps = 0;
    for (size_t i = 1; i < 32; ++i) {
      const float step = ex.positions[i] - ex.positions[i - 1];
      EXPECT_GE(step, 1.0f);
      if (step != 1.0f) {
        ++jumps;
        EXPECT_EQ(i, static_cast<size_t>(l0));  // the skip sits between the two chunks
        EXPECT_EQ(step, static_cast<float>(1 + u));
      }
    }
    EXPECT_EQ(jumps, u > 0 ? 1 : 0);
    skipped += jumps;
    EXPECT_LT(ex.positions.back(), 200.0f);
    // Text: the first chunk is the document's start, the second continues v tokens later.
    for (size_t i = 0; i < 32; ++i) {
      const int doc_index = static_cast<int>(i) + (static_cast<int>(i) < l0 ? 0 : v);
      EXPECT_EQ(ex.tokens[i], doc_index % kMod) << "at " << i;
    }
  }
  EXPECT_GT(skipped, 350);
  EXPECT_GT(first_lengths.size(), 10u);
}

TEST(PoseSampler, BoundaryMaskFollowsTheText) {
  auto docs = docs_of({2000});
  ctx::SamplerContext sc{&docs, 32, 256};
  auto s = make("pose", {{"factor", 4}}, sc);
  ctx::Rng rng(6);
  for (int trial = 0; trial < 100; ++trial) {
    auto ex = s->sample(rng);
    const size_t l0 = static_cast<size_t>(ex.info.at("len0"));
    const bool jump = ex.info.at("v1") > 0;
    for (size_t i = 0; i < 32; ++i) EXPECT_EQ(ex.loss_mask[i], i + 1 == l0 && jump ? 0 : 1);
  }
}

TEST(PoseSampler, PaperFormWithMoreChunks) {
  auto docs = docs_of({3000});
  ctx::SamplerContext sc{&docs, 48, 256};
  auto s = make("pose", {{"factor", 4}, {"chunks", 3}}, sc);
  ctx::Rng rng(9);
  for (int trial = 0; trial < 200; ++trial) {
    auto ex = s->sample(rng);
    expect_well_formed(ex, 48);
    int jumps = 0;
    for (size_t i = 1; i < 48; ++i) {
      EXPECT_GT(ex.positions[i], ex.positions[i - 1]);
      jumps += ex.positions[i] - ex.positions[i - 1] != 1.0f;
    }
    EXPECT_LE(jumps, 2);
    EXPECT_LE(ex.info.at("u1"), ex.info.at("u2"));  // skip biases never decrease
    EXPECT_EQ(ex.info.at("len0") + ex.info.at("len1") + ex.info.at("len2"), 48);
    EXPECT_LT(ex.positions.back(), 192.0f);
  }
}

TEST(PoseSampler, SameSeedSameExample) {
  auto docs = docs_of({3000, 900});
  ctx::SamplerContext sc{&docs, 32, 256};
  auto s = make("pose", {}, sc);
  expect_deterministic(*s);
}

TEST(PoseSampler, RejectsShortDocumentsAndSmallTargets) {
  EXPECT_NE(validate("pose", {{"target_len", 16}}, 32).find("target_len:"), std::string::npos);
  EXPECT_NE(validate("pose", {{"factor", 4}}, 128, 256, "learned").find("factor:"),
            std::string::npos);
  EXPECT_EQ(config_error("pose"), "");
  auto docs = docs_of({20, 32});
  ctx::SamplerContext sc{&docs, 32, 256};
  EXPECT_EQ(build_error("pose", {}, sc).rfind("train.positions", 0), 0u);
  auto ok = docs_of({20, 33});  // seq_len + 1 tokens are enough
  ctx::SamplerContext sc2{&ok, 32, 256};
  EXPECT_EQ(build_error("pose", {}, sc2), "");
}
