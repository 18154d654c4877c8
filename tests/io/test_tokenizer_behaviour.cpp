// Tokenizer behaviour beyond the reference cases, checked against the fixtures' own files: token
// text, special ids, lstrip, prepend_scheme, threads, fingerprints, bad ids and UTF-8, the bench.
#include <gtest/gtest.h>

#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "io/tokenizer_bench.h"
#include "io/tokenizer_loader.h"
#include "tokenizer_fixtures.h"

namespace {

using ctx::data::Token;

// The id of `token` in a fixture's tokenizer.json vocabulary (reference data, not our output).
Token vocab_id(const std::string& fixture, const std::string& token) {
  const auto j = ctx::test::read_json(ctx::test::tokenizer_fixture(fixture) + "/tokenizer.json");
  return j["model"]["vocab"].at(token).get<Token>();
}

std::shared_ptr<const ctx::data::Tokenizer> load(const std::string& fixture) {
  return ctx::io::load_tokenizer(ctx::test::tokenizer_fixture(fixture));
}

TEST(TokenizerBehaviour, TokenTextIsReadable) {
  const auto llama3 = load("bytelevel-llama3");
  EXPECT_EQ(llama3->token_text(vocab_id("bytelevel-llama3", "\xC4\xA0the")), " the");  // Ġthe
  EXPECT_EQ(llama3->piece(vocab_id("bytelevel-llama3", "\xC4\xA0the")), "\xC4\xA0the");
  EXPECT_EQ(llama3->token_text(vocab_id("bytelevel-llama3", "\xC4\x8A")), "\\n");  // Ċ
  EXPECT_EQ(llama3->token_text(vocab_id("bytelevel-llama3", "\xC4\x89")), "\\t");  // ĉ
  // "â" alone is the byte 0xE2, not a whole character.
  EXPECT_EQ(llama3->token_text(vocab_id("bytelevel-llama3", "\xC3\xA2")), "\\xe2");
  EXPECT_EQ(llama3->token_text(0), "<|begin_of_text|>");
  EXPECT_EQ(llama3->token_text(380), "<tool>");
  EXPECT_EQ(llama3->token_text(100000), "<invalid 100000>");
  EXPECT_EQ(llama3->piece(100000), "");

  for (const char* fixture : {"metaspace-llama2", "sentencepiece"}) {
    SCOPED_TRACE(fixture);
    const auto tok = load(fixture);
    const Token the = vocab_id("metaspace-llama2", "\xE2\x96\x81the");  // ▁the, same model
    EXPECT_EQ(tok->piece(the), "\xE2\x96\x81the");
    EXPECT_EQ(tok->token_text(the), " the");
    EXPECT_EQ(tok->token_text(vocab_id("metaspace-llama2", "<0x0A>")), "\\n");
    EXPECT_EQ(tok->token_text(vocab_id("metaspace-llama2", "<0xE2>")), "\\xe2");
    EXPECT_EQ(tok->token_text(1), "<s>");
  }
}

TEST(TokenizerBehaviour, SpecialIdsSizesAndKinds) {
  struct Expected {
    const char* fixture;
    Token bos, eos;
    int64_t vocab;
    const char* kind;
  };
  // BOS / EOS: the names in tokenizer_config.json looked up in the fixture's vocabulary.
  const Expected all[] = {{"bytelevel-llama3", 0, 1, 381, "bpe-bytelevel"},
                          {"bytelevel-qwen2", -1, 0, 360, "bpe-bytelevel"},
                          {"bytelevel-smollm", 0, 0, 350, "bpe-bytelevel"},
                          {"metaspace-llama2", 1, 2, 512, "bpe-metaspace"},
                          {"legacy-llama2", 1, 2, 512, "bpe-metaspace"},
                          {"sentencepiece", 1, 2, 512, "sentencepiece"}};
  for (const auto& e : all) {
    SCOPED_TRACE(e.fixture);
    const auto tok = load(e.fixture);
    EXPECT_EQ(tok->bos_id(), e.bos);
    EXPECT_EQ(tok->eos_id(), e.eos);
    EXPECT_EQ(tok->vocab_size(), e.vocab);
    EXPECT_EQ(tok->kind(), e.kind);
  }
}

// "<tool>" (id 380) is a non-special added token with lstrip: it takes the spaces on its left,
// and decoding keeps it when special tokens are skipped.
TEST(TokenizerBehaviour, LstripAddedToken) {
  const auto tok = load("bytelevel-llama3");
  const Token a = vocab_id("bytelevel-llama3", "a"), b = vocab_id("bytelevel-llama3", "b");
  EXPECT_EQ(tok->encode("a   <tool>b", false), (std::vector<Token>{a, 380, b}));
  EXPECT_EQ(tok->encode("<tool>", true), (std::vector<Token>{0, 380}));
  EXPECT_EQ(tok->decode({380, b}, true), "<tool>b");
  EXPECT_EQ(tok->decode({0, 380}, true), "<tool>");
}

// Metaspace with prepend_scheme "first" prepends "▁" only to text at the start of the input, not
// after an added token; the legacy Prepend normalizer prepends to every segment.
TEST(TokenizerBehaviour, MetaspacePrependsOnlyAtTheStart) {
  const Token a = vocab_id("metaspace-llama2", "a");
  const Token meta_a = vocab_id("metaspace-llama2",
                                "\xE2\x96\x81"
                                "a");
  EXPECT_EQ(load("metaspace-llama2")->encode("a", false), (std::vector<Token>{meta_a}));
  EXPECT_EQ(load("metaspace-llama2")->encode("<s>a", false), (std::vector<Token>{1, a}));
  EXPECT_EQ(load("legacy-llama2")->encode("<s>a", false), (std::vector<Token>{1, meta_a}));
}

TEST(TokenizerBehaviour, ConcurrentEncodingGivesTheReferenceIds) {
  for (const char* fixture : {"bytelevel-llama3", "bytelevel-qwen2", "metaspace-llama2",
                              "legacy-llama2", "sentencepiece"}) {
    SCOPED_TRACE(fixture);
    const auto tok = load(fixture);
    const auto cases = ctx::test::read_json(ctx::test::tokenizer_fixture(fixture) + "/cases.json");
    std::vector<int> mismatches(4, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int round = 0; round < 30; ++round) {
          for (const auto& c : cases) {
            if (tok->encode(c["text"].get<std::string>(), false) !=
                c["ids"].get<std::vector<Token>>()) {
              ++mismatches[t];
            }
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(mismatches, std::vector<int>(4, 0));
  }
}

TEST(TokenizerBehaviour, FingerprintsAreStableAndDistinct) {
  std::set<std::string> seen;
  for (const char* fixture : {"bytelevel-llama3", "bytelevel-qwen2", "bytelevel-smollm",
                              "metaspace-llama2", "legacy-llama2", "sentencepiece"}) {
    const std::string fp = load(fixture)->fingerprint();
    EXPECT_EQ(fp, load(fixture)->fingerprint()) << fixture;
    EXPECT_EQ(fp.size(), 16u);
    EXPECT_TRUE(seen.insert(fp).second) << fixture << " shares " << fp;
  }
  // The model folder holds the same two files as the llama3 fixture: the same fingerprint.
  EXPECT_EQ(
      ctx::io::load_tokenizer(std::string(CTXLAB_FIXTURES) + "/hf/models/llama-gqa")->fingerprint(),
      load("bytelevel-llama3")->fingerprint());
}

TEST(TokenizerBehaviour, IdsOutsideTheVocabularyThrow) {
  for (const char* fixture : {"bytelevel-llama3", "sentencepiece"}) {
    const auto tok = load(fixture);
    EXPECT_THROW(tok->decode({5, 100000}, false), std::invalid_argument) << fixture;
    EXPECT_THROW(tok->decode({-1}, true), std::invalid_argument) << fixture;
  }
}

// Invalid UTF-8 is read as Rust's from_utf8_lossy reads it: each bad sequence one U+FFFD.
TEST(TokenizerBehaviour, InvalidUtf8BecomesReplacementCharacters) {
  const auto tok = load("bytelevel-llama3");
  EXPECT_EQ(tok->encode("ok \xFF\xFE x\xE2\x82", false),
            tok->encode("ok \xEF\xBF\xBD\xEF\xBF\xBD x\xEF\xBF\xBD", false));
}

TEST(TokenizerBench, ChunksAtLinesAndCountsTokens) {
  const auto cases =
      ctx::test::read_json(ctx::test::tokenizer_fixture("bytelevel-llama3") + "/cases.json");
  std::string text;
  for (int round = 0; round < 20; ++round) {
    for (const auto& c : cases) text += c["text"].get<std::string>() + "\n";
  }
  const auto chunks = ctx::io::split_into_chunks(text, 1000);
  std::string joined;
  for (auto c : chunks) {
    EXPECT_EQ(c.back(), '\n');
    joined += std::string(c);
  }
  EXPECT_EQ(joined, text);
  const auto tok = load("bytelevel-llama3");
  int64_t expected = 0;
  for (auto c : chunks) expected += static_cast<int64_t>(tok->encode(c, false).size());
  const auto r = ctx::io::bench_tokenizer_text(*tok, text, 3, 1000);
  EXPECT_EQ(r.tokens, expected);
  EXPECT_EQ(r.bytes, static_cast<int64_t>(text.size()));
  EXPECT_EQ(r.chunks, static_cast<int64_t>(chunks.size()));
  EXPECT_EQ(r.threads, 3);
  EXPECT_GT(r.mb_per_s, 0);
}

}  // namespace
