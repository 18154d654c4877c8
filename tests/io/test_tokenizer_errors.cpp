// Bad tokenizer files: every problem is one TokenizerError line naming the file and what is wrong
// (unsupported components named), never a crash.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <functional>
#include <string>

#include "io/tokenizer_loader.h"
#include "tokenizer_fixtures.h"

namespace {

using ctx::io::TokenizerError;
using Json = nlohmann::json;

// The message of the TokenizerError that loading `path` throws ("" when it loads).
std::string load_error(const std::string& path) {
  try {
    ctx::io::load_tokenizer(path);
  } catch (const TokenizerError& e) {
    return e.what();
  }
  return "";
}

// A folder holding the llama3 fixture's tokenizer.json changed by `edit`.
std::string edited_llama3(const std::string& name, const std::function<void(Json&)>& edit) {
  Json j =
      ctx::test::read_json(ctx::test::tokenizer_fixture("bytelevel-llama3") + "/tokenizer.json");
  edit(j);
  const std::string dir = ctx::test::scratch_path(name);
  ::mkdir(dir.c_str(), 0755);
  ctx::test::write_text(dir + "/tokenizer.json", j.dump());
  return dir;
}

void expect_error(const std::string& path, const std::string& fragment) {
  const std::string message = load_error(path);
  ASSERT_FALSE(message.empty()) << path << " loaded";
  EXPECT_NE(message.find(fragment), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << "not one line: " << message;
}

TEST(TokenizerErrors, UnsupportedModelType) {
  const auto dir = edited_llama3("wordpiece", [](Json& j) { j["model"]["type"] = "WordPiece"; });
  expect_error(dir, dir + "/tokenizer.json: model type 'WordPiece' is not supported (BPE only)");
  const auto unigram = edited_llama3("unigram", [](Json& j) { j["model"]["type"] = "Unigram"; });
  expect_error(unigram, "model type 'Unigram' is not supported");
}

TEST(TokenizerErrors, UnsupportedComponentsAreNamed) {
  expect_error(
      edited_llama3("bert-pre",
                    [](Json& j) {
                      j["pre_tokenizer"]["pretokenizers"][0] = {{"type", "BertPreTokenizer"}};
                    }),
      "pre_tokenizer 'BertPreTokenizer' is not supported");
  expect_error(edited_llama3("bert-norm",
                             [](Json& j) {
                               j["normalizer"] = {{"type", "BertNormalizer"}, {"clean_text", true}};
                             }),
               "normalizer 'BertNormalizer' is not supported");
  expect_error(edited_llama3("precompiled",
                             [](Json& j) {
                               j["normalizer"] = {
                                   {"type", "Sequence"},
                                   {"normalizers", {{{"type", "NFC"}}, {{"type", "Precompiled"}}}}};
                             }),
               "normalizer 'Precompiled' is not supported");
  expect_error(edited_llama3("ctc",
                             [](Json& j) {
                               j["decoder"] = {{"type", "CTC"}};
                             }),
               "decoder 'CTC' is not supported");
  expect_error(edited_llama3("roberta",
                             [](Json& j) {
                               j["post_processor"] = {{"type", "RobertaProcessing"}};
                             }),
               "post_processor 'RobertaProcessing' is not supported");
}

TEST(TokenizerErrors, BadModelContents) {
  expect_error(edited_llama3("bad-merge",
                             [](Json& j) {
                               j["model"]["merges"].push_back({"zz9", "q"});
                             }),
               "'zz9' is not in the vocabulary");
  expect_error(edited_llama3("bad-merge-line",
                             [](Json& j) { j["model"]["merges"] = Json::array({"a b c"}); }),
               "is not two tokens separated by one space");
  expect_error(edited_llama3("dropout", [](Json& j) { j["model"]["dropout"] = 0.1; }),
               "dropout is not supported");
  expect_error(edited_llama3("vocab-id", [](Json& j) { j["model"]["vocab"]["a"] = "one"; }),
               "the id of 'a' is not an integer");
  expect_error(edited_llama3("no-vocab", [](Json& j) { j["model"].erase("vocab"); }),
               "missing 'vocab'");
}

TEST(TokenizerErrors, BadRegexAndBehavior) {
  expect_error(
      edited_llama3("regex",
                    [](Json& j) {
                      j["pre_tokenizer"]["pretokenizers"][0]["pattern"] = {{"Regex", "(unclosed"}};
                    }),
      "invalid regex '(unclosed'");
  expect_error(edited_llama3("behavior",
                             [](Json& j) {
                               j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Sideways";
                             }),
               "unknown behavior 'Sideways'");
}

TEST(TokenizerErrors, MalformedJson) {
  const std::string dir = ctx::test::scratch_path("truncated");
  ::mkdir(dir.c_str(), 0755);
  const std::string text =
      ctx::test::read_text(ctx::test::tokenizer_fixture("bytelevel-llama3") + "/tokenizer.json");
  ctx::test::write_text(dir + "/tokenizer.json", text.substr(0, text.size() / 2));
  expect_error(dir, dir + "/tokenizer.json: not valid JSON");

  const std::string dup = ctx::test::scratch_path("duplicate-key");
  ::mkdir(dup.c_str(), 0755);
  ctx::test::write_text(dup + "/tokenizer.json", R"({"model": {}, "model": {}})");
  expect_error(dup, "duplicate key 'model'");

  const std::string config = ctx::test::scratch_path("bad-config");
  ::mkdir(config.c_str(), 0755);
  ctx::test::write_text(config + "/tokenizer.json", text);
  ctx::test::write_text(config + "/tokenizer_config.json", R"({"bos_token": 7})");
  expect_error(config, config + "/tokenizer_config.json: 'bos_token' must be a string");
}

TEST(TokenizerErrors, TextFileIsNotASentencePieceModel) {
  const std::string path = ctx::test::scratch_path("tokenizer.model");
  ctx::test::write_text(path, "this is a text file, not a protobuf\nsecond line\n");
  expect_error(path, path + " is not a SentencePiece model");
  const std::string dir = ctx::test::scratch_path("text-model");
  ::mkdir(dir.c_str(), 0755);
  ctx::test::write_text(dir + "/tokenizer.model", "hello world\n");
  expect_error(dir, dir + "/tokenizer.model is not a SentencePiece model");
}

TEST(TokenizerErrors, FolderWithoutTokenizerAndMissingPath) {
  const std::string dir = ctx::test::scratch_path("empty-folder");
  ::mkdir(dir.c_str(), 0755);
  expect_error(dir, dir + ": no tokenizer.json or tokenizer.model in this folder");
  expect_error(dir + "/nope", dir + "/nope: no such file or folder");
}

}  // namespace
