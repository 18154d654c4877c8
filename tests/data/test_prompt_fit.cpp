// The sizing helpers of the natural-language prompts: the amount search (exact fits, jumps that
// make them impossible, caps), sentence ends, UTF-8 cuts, the prompt encoder's BOS/EOS handling
// and token boundaries, and TextFiller's takes.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "data/prompt_fit.h"
#include "data/retrieval_prompts_nl.h"
#include "data/text_filler.h"
#include "data/tokenizer.h"

using namespace ctx::data;

namespace {

const AmountFn kWhole = [](int64_t n) { return n; };

// The byte tokenizer, with a template that appends EOS after a single sequence.
class EosAppending : public Tokenizer {
 public:
  std::vector<Token> encode(std::string_view text, bool add_special) const override {
    auto ids = byte_tokenizer()->encode(text, add_special);
    if (add_special) ids.push_back(ByteTokenizer::kEos);
    return ids;
  }
  std::string decode(const std::vector<Token>& ids, bool skip) const override {
    return byte_tokenizer()->decode(ids, skip);
  }
  std::string piece(Token id) const override { return byte_tokenizer()->piece(id); }
  std::string token_text(Token id) const override { return byte_tokenizer()->token_text(id); }
  int64_t vocab_size() const override { return ByteTokenizer::kVocabSize; }
  Token bos_id() const override { return ByteTokenizer::kBos; }
  Token eos_id() const override { return ByteTokenizer::kEos; }
  std::string kind() const override { return "byte"; }
  std::string fingerprint() const override { return "eos-appending"; }
};

}  // namespace

TEST(PromptFit, FindsTheExactAmountOfAMonotoneCount) {
  for (int64_t target : {10, 11, 57, 400}) {
    int calls = 0;
    const AmountFn count = [&](int64_t n) {
      ++calls;
      return 10 + n / 3;  // three units a token
    };
    const auto r = fit_amount(count, target, 100000, 3.0, kWhole);
    EXPECT_EQ(r.count, target);
    EXPECT_EQ(10 + r.amount / 3, target);
    EXPECT_FALSE(r.capped);
    EXPECT_LT(calls, 12) << target;
  }
}

TEST(PromptFit, ExactFitsNeedNotBeMonotone) {
  // Counts go 0 3 2 3 4 7 6 7 8 11 ...: every count but 1 mod 4 is reached, some only behind a
  // larger one; the others are not, and the fit stops one below.
  const AmountFn count = [](int64_t n) { return n + (n % 4 == 1 ? 2 : 0); };
  for (int64_t target = 2; target < 80; ++target) {
    const auto r = fit_amount(count, target, 1000, 1.0, kWhole);
    EXPECT_EQ(count(r.amount), r.count) << target;
    EXPECT_EQ(r.count, target % 4 == 1 ? target - 1 : target) << target;
  }
}

TEST(PromptFit, AJumpOverTheTargetGivesTheLargestCountBelowIt) {
  // Every amount from 20 on adds 2 tokens at once: 25 is never reached.
  const AmountFn count = [](int64_t n) { return n < 20 ? 5 + n : 5 + 20 + 2 * (n - 19) - 1; };
  const auto r = fit_amount(count, 25, 1000, 1.0, kWhole);
  EXPECT_EQ(r.count, 24);
  EXPECT_EQ(r.amount, 19);
  EXPECT_FALSE(r.capped);
}

TEST(PromptFit, TooLongAtZeroAndTooShortAtTheCapAreReported) {
  const AmountFn count = [](int64_t n) { return 50 + n; };
  const auto over = fit_amount(count, 40, 1000, 1.0, kWhole);
  EXPECT_EQ(over.amount, 0);
  EXPECT_EQ(over.count, 50);
  const auto capped = fit_amount(count, 5000, 1000, 1.0, kWhole);
  EXPECT_TRUE(capped.capped);
  EXPECT_EQ(capped.amount, 1000);
}

TEST(PromptFit, AmountsStayOnTheFloorsGrid) {
  // Only even amounts are valid; the count is the amount itself: odd targets are unreachable.
  std::map<int64_t, int> seen;
  const AmountFn count = [&](int64_t n) {
    ++seen[n];
    return n;
  };
  const AmountFn even = [](int64_t n) { return n - n % 2; };
  const auto r = fit_amount(count, 301, 1000, 1.0, even);
  EXPECT_EQ(r.count, 300);
  for (const auto& [n, k] : seen) EXPECT_EQ(n % 2, 0) << n;
}

TEST(PromptFit, SentenceEnds) {
  const std::string s = "One two. Three four! Five (six.) seven eight nine";
  EXPECT_EQ(nearest_sentence_end(s, 0, 100), 0u);
  EXPECT_EQ(nearest_sentence_end(s, 6, 100), 8u);          // after "two."
  EXPECT_EQ(nearest_sentence_end(s, 16, 100), 20u);        // after "four!"
  EXPECT_EQ(nearest_sentence_end(s, 30, 100), 32u);        // after "six.)"
  EXPECT_EQ(nearest_sentence_end(s, 49, 100), 32u);        // the unfinished end is no sentence end
  EXPECT_EQ(nearest_sentence_end("a b. c.", 7, 100), 7u);  // a finished end is
  // Beyond max_dist: the nearest whitespace, else the character start.
  EXPECT_EQ(nearest_sentence_end(s, 44, 4), 44u);
  EXPECT_EQ(nearest_sentence_end(s, 42, 4), 44u);
  EXPECT_EQ(nearest_sentence_end("abc\xC3\xA9xyz", 4, 2), 3u);
}

TEST(PromptFit, Utf8Cuts) {
  const std::string s = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x91\x8B";  // a é € 👋
  EXPECT_EQ(utf8_floor(s, 2), 1u);
  EXPECT_EQ(utf8_floor(s, 3), 3u);
  EXPECT_EQ(utf8_floor(s, 5), 3u);
  EXPECT_EQ(utf8_floor(s, 9), 6u);
  EXPECT_EQ(utf8_floor(s, 10), 10u);
  EXPECT_EQ(utf8_whole(s), s.size());
  EXPECT_EQ(utf8_whole(s.substr(0, 9)), 6u);
  EXPECT_EQ(utf8_whole(s.substr(0, 2)), 1u);
  EXPECT_EQ(utf8_whole(""), 0u);
  EXPECT_EQ(count_occurrences("aaaa", "aa"), 3u);
  EXPECT_EQ(count_occurrences("abc", ""), 0u);
}

TEST(PromptFit, EncoderKeepsBosAndDropsATemplateEos) {
  const PromptEncoder plain(*byte_tokenizer());
  EXPECT_EQ(plain.encode("ab"), (std::vector<Token>{ByteTokenizer::kBos, 'a', 'b'}));
  const EosAppending eos;
  const PromptEncoder enc(eos);
  EXPECT_EQ(enc.encode("ab"), (std::vector<Token>{ByteTokenizer::kBos, 'a', 'b'}));
  EXPECT_EQ(enc.boundary(enc.encode("abcd"), "ab"), 3);
  // A passkey prompt sized in bytes under it: exact, no EOS inside.
  std::mt19937_64 rng(5);
  const auto p = make_nl_passkey_prompt(eos, rng, 700, 0.5);
  EXPECT_EQ(static_cast<int64_t>(p.tokens.size()) + p.new_tokens, 701);
  EXPECT_NE(p.tokens.back(), ByteTokenizer::kEos);
  EXPECT_EQ(p.new_tokens, static_cast<int64_t>(p.completion.size()));
  EXPECT_EQ(p.fact_pos, static_cast<int64_t>(p.text.find(p.statement)) + 1);  // + BOS
}

TEST(PromptFit, TextFillerTakesWrapAndDecodesDocuments) {
  const std::vector<Document> docs = {{"a", ByteTokenizer::encode("First doc.")},
                                      {"empty", {}},
                                      {"b", ByteTokenizer::encode("Second one.")}};
  const TextFiller f(docs, *byte_tokenizer(), "two docs");
  EXPECT_EQ(f.text(), "First doc.\nSecond one.");
  EXPECT_EQ(f.take(11, 16), "Second one.\nFirs");
  EXPECT_EQ(f.start_after(3), 11u);  // "Second" starts the next line
  EXPECT_EQ(f.start_after(15), 0u);  // wraps around to the start
  EXPECT_EQ(f.source(), "two docs");
  EXPECT_THROW(TextFiller(std::vector<Document>{{"e", {}}}, *byte_tokenizer()), DataError);
}
