// The contiguous sampler and the shared window source: ids, targets, determinism, packing.
#include <gtest/gtest.h>

#include <algorithm>

#include "methods/registry.h"

namespace {

std::vector<ctx::data::Document> docs_of(std::vector<int> lengths) {
  std::vector<ctx::data::Document> d;
  int v = 0;
  for (int n : lengths) {
    ctx::data::Document doc;
    for (int i = 0; i < n; ++i) doc.tokens.push_back((v++) % 256);
    d.push_back(doc);
  }
  return d;
}

std::unique_ptr<ctx::PositionSampler> contiguous(const ctx::SamplerContext& sc, bool keep_offset = false) {
  const auto* m = ctx::find_method(ctx::MethodKind::Sampler, "contiguous");
  return m->sampler({{"keep_offset", keep_offset}}, sc);
}

}  // namespace

TEST(ContiguousSampler, TargetsAreTheNextTokensAndIdsCountFromZero) {
  auto docs = docs_of({300, 50, 400});
  ctx::SamplerContext sc{&docs, 32, 256};
  auto s = contiguous(sc);
  ctx::Rng rng(5);
  for (int trial = 0; trial < 50; ++trial) {
    auto ex = s->sample(rng);
    ASSERT_EQ(ex.tokens.size(), 32u);
    for (size_t i = 0; i + 1 < 32; ++i) EXPECT_EQ(ex.targets[i], ex.tokens[i + 1]);
    for (size_t i = 0; i < 32; ++i) {
      EXPECT_EQ(ex.positions[i], static_cast<float>(i));
      EXPECT_EQ(ex.loss_mask[i], 1);
      // The synthetic documents count up by one: a window never spans two documents.
      if (i > 0) {
        EXPECT_EQ((ex.tokens[i - 1] + 1) % 256, ex.tokens[i]);
      }
    }
  }
}

TEST(ContiguousSampler, SameSeedSameExample) {
  auto docs = docs_of({500, 500});
  ctx::SamplerContext sc{&docs, 16, 256};
  auto s = contiguous(sc);
  ctx::Rng a(42), b(42), c(43);
  auto x = s->sample(a), y = s->sample(b), z = s->sample(c);
  EXPECT_EQ(x.tokens, y.tokens);
  EXPECT_NE(x.tokens, z.tokens);
}

TEST(ContiguousSampler, KeepOffsetUsesTheWindowsPlaceInItsDocument) {
  auto docs = docs_of({1000});
  ctx::SamplerContext sc{&docs, 8, 2048};
  auto s = contiguous(sc, true);
  ctx::Rng rng(1);
  for (int t = 0; t < 20; ++t) {
    auto ex = s->sample(rng);
    // Document tokens are (index % 256): the id of the first token is its index.
    EXPECT_EQ(static_cast<int>(ex.positions[0]) % 256, ex.tokens[0]);
    EXPECT_EQ(ex.positions[7] - ex.positions[0], 7.0f);
  }
}

TEST(WindowSource, PacksShortDocumentsWithTheSeparator) {
  auto docs = docs_of({5, 6, 7});
  ctx::SamplerContext ctx;
  ctx.docs = &docs;
  ctx.separator = 300;  // a real tokenizer's BOS
  ctx::WindowSource src(ctx, 12);
  EXPECT_TRUE(src.packed());
  ctx::Rng rng(3);
  int separators = 0;
  for (int i = 0; i < 50; ++i) {
    auto w = src.draw(rng);
    EXPECT_EQ(w.size(), 12u);
    separators += static_cast<int>(std::count(w.begin(), w.end(), 300));
    EXPECT_EQ(std::count(w.begin(), w.end(), ctx::data::ByteTokenizer::kBos), 0);
  }
  EXPECT_GT(separators, 0);  // 21 tokens + 3 separators: most windows hold one
}

TEST(WindowSource, DrawsEveryValidOffsetUniformly) {
  // Two documents of 10 and 14 tokens, windows of 10: 1 + 5 = 6 placements, each ~1/6.
  auto docs = docs_of({10, 14});
  ctx::SamplerContext ctx;
  ctx.docs = &docs;
  ctx::WindowSource src(ctx, 10);
  ctx::Rng rng(9);
  std::map<int, int> seen;
  const int n = 6000;
  for (int i = 0; i < n; ++i) seen[src.draw(rng)[0]]++;
  ASSERT_EQ(seen.size(), 6u);
  for (auto& [first, count] : seen) EXPECT_NEAR(count, n / 6, 150) << first;
}
