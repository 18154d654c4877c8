// Byte tokenizer: exact round trips on arbitrary bytes, special-token flags and rendering.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "data/tokenizer.h"

using ctx::data::ByteTokenizer;
using ctx::data::Token;

TEST(ByteTokenizer, RoundTripsEveryByteValue) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  const auto ids = ByteTokenizer::encode(all);
  ASSERT_EQ(ids.size(), 256u);
  for (int b = 0; b < 256; ++b) EXPECT_EQ(ids[b], b);  // 0xFF must be 255, not -1
  EXPECT_EQ(ByteTokenizer::decode(ids), all);
}

TEST(ByteTokenizer, RoundTripsInvalidUtf8AndNul) {
  const std::string bytes("a\0b\xFF\xFE\xC3\x28\xE2\x82\x80\xF0\x28\x8C\xBC\x80z", 17);
  ASSERT_EQ(bytes.size(), 17u);
  const auto ids = ByteTokenizer::encode(bytes);
  EXPECT_EQ(ids.size(), bytes.size());
  EXPECT_EQ(ids[1], 0);
  EXPECT_EQ(ids[3], 0xFF);
  EXPECT_EQ(ByteTokenizer::decode(ids), bytes);
}

TEST(ByteTokenizer, BosEosFlags) {
  EXPECT_EQ(ByteTokenizer::encode("ab"), (std::vector<Token>{'a', 'b'}));
  EXPECT_EQ(ByteTokenizer::encode("ab", true), (std::vector<Token>{256, 'a', 'b'}));
  EXPECT_EQ(ByteTokenizer::encode("ab", false, true), (std::vector<Token>{'a', 'b', 257}));
  EXPECT_EQ(ByteTokenizer::encode("ab", true, true), (std::vector<Token>{256, 'a', 'b', 257}));
  EXPECT_EQ(ByteTokenizer::encode("", true, true), (std::vector<Token>{256, 257}));
  EXPECT_EQ(ByteTokenizer::kBos, 256);
  EXPECT_EQ(ByteTokenizer::kEos, 257);
  EXPECT_EQ(ByteTokenizer::kPad, 258);
  EXPECT_EQ(ByteTokenizer::kVocabSize, 259);
}

TEST(ByteTokenizer, DecodeDropsSpecialTokens) {
  const std::vector<Token> ids = {ByteTokenizer::kBos, 'h', ByteTokenizer::kPad, 'i', 0,
                                  ByteTokenizer::kEos};
  EXPECT_EQ(ByteTokenizer::decode(ids), std::string("hi\0", 3));
}

TEST(ByteTokenizer, DecodeRejectsIdsOutsideTheVocabulary) {
  EXPECT_THROW(ByteTokenizer::decode({'a', 259}), std::invalid_argument);
  EXPECT_THROW(ByteTokenizer::decode({-1}), std::invalid_argument);
}

TEST(ByteTokenizer, TokenText) {
  EXPECT_EQ(ByteTokenizer::token_text(ByteTokenizer::kBos), "<bos>");
  EXPECT_EQ(ByteTokenizer::token_text(ByteTokenizer::kEos), "<eos>");
  EXPECT_EQ(ByteTokenizer::token_text(ByteTokenizer::kPad), "<pad>");
  EXPECT_EQ(ByteTokenizer::token_text('a'), "a");
  EXPECT_EQ(ByteTokenizer::token_text(' '), " ");
  EXPECT_EQ(ByteTokenizer::token_text('~'), "~");
  EXPECT_EQ(ByteTokenizer::token_text('\n'), "\\n");
  EXPECT_EQ(ByteTokenizer::token_text('\t'), "\\t");
  EXPECT_EQ(ByteTokenizer::token_text('\\'), "\\\\");
  EXPECT_EQ(ByteTokenizer::token_text(0), "\\x00");
  EXPECT_EQ(ByteTokenizer::token_text(0x7F), "\\x7f");
  EXPECT_EQ(ByteTokenizer::token_text(0xFF), "\\xff");
  EXPECT_EQ(ByteTokenizer::token_text(0xC3), "\\xc3");
  // Every byte renders as printable ASCII, so attention-map labels never break a layout.
  for (Token t = 0; t < ByteTokenizer::kVocabSize; ++t) {
    for (char c : ByteTokenizer::token_text(t)) {
      EXPECT_TRUE(c >= 0x20 && c < 0x7F) << "token " << t;
    }
  }
}
