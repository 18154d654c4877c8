// tokenizer.json and tokenizer.model against the reference libraries' own output (cases.json from
// tools/make_hf_fixtures.py): ids with and without specials, tokens, decoded text, every case.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "io/tokenizer_loader.h"
#include "tokenizer_fixtures.h"

using ctx::data::Token;

namespace {

std::vector<Token> ids_of(const nlohmann::json& j) {
  return j.get<std::vector<Token>>();
}

class TokenizerJsonReference : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenizerJsonReference, EveryCaseMatches) {
  const std::string dir = ctx::test::tokenizer_fixture(GetParam());
  const auto tok = ctx::io::load_tokenizer(dir);
  const auto cases = ctx::test::read_json(dir + "/cases.json");
  ASSERT_GT(cases.size(), 20u);
  int matched = 0;
  for (const auto& c : cases) {
    const std::string text = c["text"];
    SCOPED_TRACE("text: " + text);
    const auto ids = tok->encode(text, false);
    const auto ids_special = tok->encode(text, true);
    EXPECT_EQ(ids, ids_of(c["ids"]));
    EXPECT_EQ(ids_special, ids_of(c["ids_special"]));
    std::vector<std::string> pieces;
    for (Token id : ids_of(c["ids"])) pieces.push_back(tok->piece(id));
    EXPECT_EQ(pieces, c["tokens"].get<std::vector<std::string>>());
    const std::string decoded = tok->decode(ids_of(c["ids"]), false);
    const std::string decoded_skip = tok->decode(ids_of(c["ids_special"]), true);
    EXPECT_EQ(decoded, c["decoded"].get<std::string>());
    EXPECT_EQ(decoded_skip, c["decoded_skip"].get<std::string>());
    if (ids == ids_of(c["ids"]) && ids_special == ids_of(c["ids_special"]) &&
        decoded == c["decoded"] && decoded_skip == c["decoded_skip"]) {
      ++matched;
    }
  }
  EXPECT_EQ(matched, static_cast<int>(cases.size()));
  std::printf("[ %s ] %d/%zu cases match the reference\n", GetParam().c_str(), matched,
              cases.size());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TokenizerJsonReference,
                         ::testing::Values("bytelevel-llama3", "bytelevel-qwen2",
                                           "bytelevel-smollm", "metaspace-llama2", "legacy-llama2"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& ch : name) {
                             if (ch == '-') ch = '_';
                           }
                           return name;
                         });

TEST(SentencePieceReference, EveryCaseMatches) {
  const std::string dir = ctx::test::tokenizer_fixture("sentencepiece");
  const auto tok = ctx::io::load_tokenizer(dir);
  EXPECT_EQ(tok->kind(), "sentencepiece");
  const auto cases = ctx::test::read_json(dir + "/cases.json");
  ASSERT_GT(cases.size(), 20u);
  int matched = 0;
  for (const auto& c : cases) {
    const std::string text = c["text"];
    SCOPED_TRACE("text: " + text);
    const auto ids = tok->encode(text, false);
    EXPECT_EQ(ids, ids_of(c["ids"]));
    std::vector<std::string> pieces;
    for (Token id : ids_of(c["ids"])) pieces.push_back(tok->piece(id));
    EXPECT_EQ(pieces, c["pieces"].get<std::vector<std::string>>());
    const std::string decoded = tok->decode(ids_of(c["ids"]), true);
    EXPECT_EQ(decoded, c["decoded"].get<std::string>());
    // add_bos_token is true in tokenizer_config.json: BOS (the model's, id 1) first.
    auto with_bos = ids_of(c["ids"]);
    with_bos.insert(with_bos.begin(), 1);
    EXPECT_EQ(tok->encode(text, true), with_bos);
    if (ids == ids_of(c["ids"]) && pieces == c["pieces"].get<std::vector<std::string>>() &&
        decoded == c["decoded"]) {
      ++matched;
    }
  }
  EXPECT_EQ(matched, static_cast<int>(cases.size()));
  std::printf("[ sentencepiece ] %d/%zu cases match the reference\n", matched, cases.size());
}

// The SentencePiece model beside the converted tokenizer.json files is the same model.
TEST(SentencePieceReference, ModelFileNextToTokenizerJsonLoadsAsSentencePiece) {
  const auto tok =
      ctx::io::load_tokenizer(ctx::test::tokenizer_fixture("legacy-llama2") + "/tokenizer.model");
  EXPECT_EQ(tok->kind(), "sentencepiece");
  const auto cases =
      ctx::test::read_json(ctx::test::tokenizer_fixture("sentencepiece") + "/cases.json");
  EXPECT_EQ(tok->encode(cases[0]["text"].get<std::string>(), false), ids_of(cases[0]["ids"]));
}

// The model fixture's tokenizer.json is the llama3 one: the same ids for every case.
TEST(TokenizerJsonReference, ModelFolderTokenizer) {
  const auto tok = ctx::io::load_tokenizer(std::string(CTXLAB_FIXTURES) + "/hf/models/llama-gqa");
  const auto cases =
      ctx::test::read_json(ctx::test::tokenizer_fixture("bytelevel-llama3") + "/cases.json");
  for (const auto& c : cases) {
    EXPECT_EQ(tok->encode(c["text"].get<std::string>(), true), ids_of(c["ids_special"]));
  }
}

}  // namespace
