// The chunk-α sampler (METHODS.md §1): 1/α pieces of α·L0 tokens with their original ids inside
// one Lt = k·L0 window, uniform placements, boundary masks, errors.
#include <map>
#include <set>

#include "samplers_test_util.h"

using namespace samplers_test;

TEST(ChunkSampler, PiecesKeepTheirOriginalIds) {
  auto docs = docs_of({3000, 700});
  ctx::SamplerContext sc{&docs, 64, 256};
  auto s = make("chunk", {{"alpha", 0.25}, {"factor", 4}}, sc);  // 4 pieces of 16, Lt = 256
  ctx::Rng rng(1);
  float lowest = 1e9f, highest = -1;
  for (int trial = 0; trial < 300; ++trial) {
    auto ex = s->sample(rng);
    expect_well_formed(ex, 64);
    const int offset = static_cast<int>(ex.info.at("window_offset"));
    for (int piece = 0; piece < 4; ++piece) {
      const float first = ex.positions[static_cast<size_t>(16 * piece)];
      EXPECT_EQ(first, static_cast<float>(ex.info.at("start" + std::to_string(piece))));
      for (int j = 0; j < 16; ++j)
        EXPECT_EQ(ex.positions[static_cast<size_t>(16 * piece + j)], first + static_cast<float>(j));
      if (piece > 0) {  // non-overlapping and in document order
        EXPECT_GE(first, ex.positions[static_cast<size_t>(16 * piece - 1)] + 1);
      }
    }
    for (size_t i = 0; i < 64; ++i) {
      EXPECT_GE(ex.positions[i], 0.0f);
      EXPECT_LT(ex.positions[i], 256.0f);
      // The token at id p is the source window's token p.
      EXPECT_EQ(ex.tokens[i], (offset + static_cast<int>(ex.positions[i])) % kMod);
    }
    lowest = std::min(lowest, ex.positions.front());
    highest = std::max(highest, ex.positions.back());
  }
  EXPECT_EQ(lowest, 0.0f);  // both ends of the window are reached
  EXPECT_EQ(highest, 255.0f);
}

TEST(ChunkSampler, PlacementsAreUniform) {
  // L0 = 2, α = 0.5 (two 1-token pieces), Lt = 4: two distinct sorted ids out of 4 = 6 layouts.
  auto docs = docs_of({40});
  ctx::SamplerContext sc{&docs, 2, 256};
  auto s = make("chunk", {{"alpha", 0.5}, {"factor", 2}}, sc);
  ctx::Rng rng(3);
  std::map<std::pair<int, int>, int> seen;
  const int n = 12000;
  for (int i = 0; i < n; ++i) {
    auto ex = s->sample(rng);
    seen[{static_cast<int>(ex.positions[0]), static_cast<int>(ex.positions[1])}]++;
  }
  ASSERT_EQ(seen.size(), 6u);
  for (auto& [ids, count] : seen) {
    EXPECT_LT(ids.first, ids.second);
    EXPECT_NEAR(count, n / 6, 250) << ids.first << "," << ids.second;
  }
}

TEST(ChunkSampler, BoundaryLabelsAreMaskedOnlyBeforeAGap) {
  auto docs = docs_of({2000});
  ctx::SamplerContext sc{&docs, 32, 256};
  auto masked = make("chunk", {{"alpha", 0.25}, {"factor", 2}}, sc);
  auto open = make("chunk", {{"alpha", 0.25}, {"factor", 2}, {"mask_boundary_labels", false}}, sc);
  ctx::Rng a(5), b(5);
  int gaps = 0;
  for (int trial = 0; trial < 200; ++trial) {
    auto ex = masked->sample(a);
    expect_well_formed(ex, 32);
    for (size_t i = 0; i < 32; ++i) {
      const bool piece_end = i % 8 == 7 && i + 1 < 32;
      const bool gap = piece_end && ex.positions[i + 1] != ex.positions[i] + 1;
      gaps += gap;
      EXPECT_EQ(ex.loss_mask[i], gap ? 0 : 1) << "at " << i;
    }
    auto all = open->sample(b);
    for (size_t i = 0; i < 32; ++i) EXPECT_EQ(all.loss_mask[i], 1);
    expect_well_formed(all, 32);  // the unmasked boundary targets are the true next tokens too
  }
  EXPECT_GT(gaps, 100);
}

TEST(ChunkSampler, RandomPieceLengthsComposeTheExample) {
  auto docs = docs_of({2000});
  ctx::SamplerContext sc{&docs, 30, 256};  // 30 is not divisible by 4: fine for random lengths
  auto s = make("chunk", {{"alpha", 0.25}, {"factor", 3}, {"piece_lengths", "random"}}, sc);
  ctx::Rng rng(7);
  std::set<double> first_lengths;
  for (int trial = 0; trial < 200; ++trial) {
    auto ex = s->sample(rng);
    expect_well_formed(ex, 30);
    double total = 0;
    for (int p = 0; p < 4; ++p) {
      const double len = ex.info.at("len" + std::to_string(p));
      EXPECT_GE(len, 1);
      total += len;
    }
    EXPECT_EQ(total, 30);
    first_lengths.insert(ex.info.at("len0"));
    for (size_t i = 1; i < 30; ++i) EXPECT_GT(ex.positions[i], ex.positions[i - 1]);
    EXPECT_LT(ex.positions.back(), 90.0f);
  }
  EXPECT_GT(first_lengths.size(), 5u);
}

TEST(ChunkSampler, PackedStreamServesShortDocuments) {
  auto docs = docs_of({50, 60, 70});
  ctx::SamplerContext sc{&docs, 16, 256};
  auto s = make("chunk", {{"factor", 4}, {"source", "packed_stream"}}, sc);
  ctx::Rng rng(2);
  auto ex = s->sample(rng);
  ASSERT_EQ(ex.tokens.size(), 16u);
  for (size_t i = 0; i < 16; ++i) EXPECT_LT(ex.positions[i], 64.0f);
}

TEST(ChunkSampler, SameSeedSameExample) {
  auto docs = docs_of({3000});
  ctx::SamplerContext sc{&docs, 32, 256};
  auto s = make("chunk", {}, sc);
  expect_deterministic(*s);
}

TEST(ChunkSampler, RejectsBadAlphaAndShortDocuments) {
  EXPECT_NE(validate("chunk", {{"alpha", 0.3}}, 64).find("alpha:"), std::string::npos);
  EXPECT_NE(validate("chunk", {{"alpha", 0.0}}, 64).find("alpha:"), std::string::npos);
  EXPECT_NE(validate("chunk", {{"alpha", 0.25}}, 30).find("alpha:"), std::string::npos);
  EXPECT_EQ(validate("chunk", {{"alpha", 0.25}, {"piece_lengths", "random"}}, 30), "");
  EXPECT_EQ(validate("chunk", {{"alpha", 0.125}}, 64), "");
  // A learned table must hold every id of the window.
  EXPECT_NE(validate("chunk", {{"factor", 4}}, 128, 256, "learned").find("factor:"),
            std::string::npos);
  EXPECT_EQ(validate("chunk", {{"factor", 2}}, 128, 256, "learned"), "");
  EXPECT_NE(config_error({{"type", "chunk"}, {"alpha", 0.3}}).find("train.positions.alpha:"),
            std::string::npos);
  EXPECT_EQ(config_error("chunk"), "");

  auto docs = docs_of({100, 200});
  ctx::SamplerContext sc{&docs, 64, 256};  // needs a document of 4*64+1 tokens
  EXPECT_EQ(build_error("chunk", {}, sc).rfind("train.positions.factor:", 0), 0u);
  EXPECT_EQ(build_error("chunk", {{"alpha", 0.3}}, sc).rfind("train.positions.alpha:", 0), 0u);
  EXPECT_EQ(build_error("chunk", {{"factor", 3}}, sc), "");  // 193 tokens fit in the 200
}
