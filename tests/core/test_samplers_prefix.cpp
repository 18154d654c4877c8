// The prefix-α sampler (METHODS.md §1): an α·L0 scored suffix at ids i.., an unscored prefix drawn
// from before i (distinct tokens or one block), every token at its original id.
#include <set>

#include "samplers_test_util.h"

using namespace samplers_test;

TEST(PrefixSampler, OnlyTheSuffixIsSupervised) {
  auto docs = docs_of({3000});
  ctx::SamplerContext sc{&docs, 64, 256};
  auto s = make("prefix", {{"alpha", 0.25}, {"factor", 4}}, sc);  // suffix 16, prefix 48, Lt 256
  ctx::Rng rng(1);
  std::set<int> starts;
  for (int trial = 0; trial < 300; ++trial) {
    auto ex = s->sample(rng);
    expect_well_formed(ex, 64);
    const int offset = static_cast<int>(ex.info.at("window_offset"));
    const float i = ex.positions[48];
    starts.insert(static_cast<int>(i));
    EXPECT_EQ(i, static_cast<float>(ex.info.at("suffix_start")));
    EXPECT_GE(i, 48.0f);
    EXPECT_LE(i, 256.0f - 16.0f);
    for (size_t j = 0; j < 64; ++j) {
      EXPECT_EQ(ex.loss_mask[j], j >= 48 ? 1 : 0) << "at " << j;
      EXPECT_EQ(ex.tokens[j], (offset + static_cast<int>(ex.positions[j])) % kMod);
      if (j < 48) {  // before the suffix
        EXPECT_LT(ex.positions[j], i);
      }
      if (j > 0 && j < 48) {  // distinct, sorted
        EXPECT_GT(ex.positions[j], ex.positions[j - 1]);
      }
      if (j > 48) {  // contiguous suffix
        EXPECT_EQ(ex.positions[j], ex.positions[j - 1] + 1);
      }
    }
  }
  EXPECT_GT(starts.size(), 50u);
}

TEST(PrefixSampler, BlockModeTakesOneRunBeforeTheSuffix) {
  auto docs = docs_of({3000});
  ctx::SamplerContext sc{&docs, 32, 256};
  auto s = make("prefix", {{"alpha", 0.5}, {"factor", 4}, {"prefix_mode", "block"}}, sc);
  ctx::Rng rng(4);
  for (int trial = 0; trial < 100; ++trial) {
    auto ex = s->sample(rng);
    expect_well_formed(ex, 32);
    EXPECT_EQ(ex.positions[0], static_cast<float>(ex.info.at("block_start")));
    for (size_t j = 1; j < 16; ++j) EXPECT_EQ(ex.positions[j], ex.positions[j - 1] + 1);
    EXPECT_LT(ex.positions[15], ex.positions[16]);
    for (size_t j = 0; j < 32; ++j) EXPECT_EQ(ex.loss_mask[j], j >= 16 ? 1 : 0);
  }
}

TEST(PrefixSampler, SameSeedSameExample) {
  auto docs = docs_of({3000});
  ctx::SamplerContext sc{&docs, 32, 256};
  auto s = make("prefix", {}, sc);
  expect_deterministic(*s);
}

TEST(PrefixSampler, RejectsFractionalSuffixesAndShortDocuments) {
  EXPECT_NE(validate("prefix", {{"alpha", 0.3}}, 64).find("alpha:"), std::string::npos);
  EXPECT_NE(validate("prefix", {{"alpha", 0.0}}, 64).find("alpha:"), std::string::npos);
  EXPECT_EQ(validate("prefix", {{"alpha", 0.25}}, 64), "");
  EXPECT_EQ(config_error("prefix"), "");
  auto docs = docs_of({100});
  ctx::SamplerContext sc{&docs, 64, 256};
  EXPECT_EQ(build_error("prefix", {}, sc).rfind("train.positions.factor:", 0), 0u);
  EXPECT_EQ(build_error("prefix", {{"source", "packed_stream"}}, sc), "");
}
