// Batch assembly: the first example fixes seq, mismatches are rejected without side effects.
#include <gtest/gtest.h>

#include <stdexcept>

#include "data/example.h"

using ctx::data::Batch;
using ctx::data::Example;

namespace {
Example make(int n, int base) {
  Example ex;
  for (int i = 0; i < n; ++i) {
    ex.tokens.push_back(base + i);
    ex.targets.push_back(base + i + 1);
    ex.positions.push_back(0.5f * static_cast<float>(i));
    ex.loss_mask.push_back(i % 2 ? 1 : 0);
  }
  return ex;
}
}  // namespace

TEST(Batch, AppendConvertsRowMajor) {
  Batch b;
  b.append(make(3, 10));
  b.append(make(3, 20));
  EXPECT_EQ(b.batch, 2);
  EXPECT_EQ(b.seq, 3);
  EXPECT_EQ(b.tokens, (std::vector<int64_t>{10, 11, 12, 20, 21, 22}));
  EXPECT_EQ(b.targets, (std::vector<int64_t>{11, 12, 13, 21, 22, 23}));
  EXPECT_EQ(b.positions, (std::vector<float>{0.f, 0.5f, 1.f, 0.f, 0.5f, 1.f}));
  EXPECT_EQ(b.loss_mask, (std::vector<float>{0.f, 1.f, 0.f, 0.f, 1.f, 0.f}));
}

TEST(Batch, RejectsFieldsOfDifferentLengths) {
  for (int field = 0; field < 4; ++field) {
    Example ex = make(4, 0);
    if (field == 0) ex.tokens.pop_back();
    if (field == 1) ex.targets.pop_back();
    if (field == 2) ex.positions.pop_back();
    if (field == 3) ex.loss_mask.push_back(1);
    Batch b;
    EXPECT_THROW(b.append(ex), std::invalid_argument) << "field " << field;
    EXPECT_EQ(b.batch, 0);
    EXPECT_TRUE(b.tokens.empty());
  }
}

TEST(Batch, RejectsADifferentSequenceLengthAndStaysIntact) {
  Batch b;
  b.append(make(4, 0));
  EXPECT_THROW(b.append(make(5, 0)), std::invalid_argument);
  EXPECT_THROW(b.append(make(3, 0)), std::invalid_argument);
  EXPECT_EQ(b.batch, 1);
  EXPECT_EQ(b.seq, 4);
  EXPECT_EQ(b.tokens.size(), 4u);
  EXPECT_EQ(b.targets.size(), 4u);
  EXPECT_EQ(b.positions.size(), 4u);
  EXPECT_EQ(b.loss_mask.size(), 4u);
}

TEST(Batch, RejectsAnEmptyExample) {
  Batch b;
  EXPECT_THROW(b.append(Example{}), std::invalid_argument);
}
