// Retrieval prompts: exact lengths, the fact at the requested depth or pair position, the question
// asking for exactly that fact, the builtin corpus teaching the same format, and a scorer that
// accepts the right answer and nothing else.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>

#include "data/longrange_corpus.h"
#include "data/retrieval_tasks.h"

using namespace ctx::data;

namespace {

Filler builtin_filler() {
  LongRangeOptions o;
  o.docs = 4;
  o.doc_tokens = 2048;
  return Filler(generate_longrange(o), "builtin");
}

std::string text_of(const RetrievalPrompt& p) {
  return ByteTokenizer::decode(p.tokens);
}

// The fact statement is at fact_pos, holds the answer, and the prompt ends asking for it.
void expect_asks_for_its_fact(const RetrievalPrompt& p, int64_t length) {
  const std::string t = text_of(p);
  EXPECT_EQ(static_cast<int64_t>(p.tokens.size()) + p.new_tokens, length + 1);
  EXPECT_EQ(p.new_tokens, static_cast<int64_t>(p.answer.size()) + 1);
  EXPECT_EQ(t.substr(static_cast<size_t>(p.fact_pos), p.statement.size()), p.statement);
  const auto is = p.statement.rfind(" is ");
  ASSERT_NE(is, std::string::npos);
  EXPECT_EQ(p.statement.substr(is + 4), p.answer + ". ");
  const std::string question = "recall: " + p.statement.substr(0, is + 4);
  EXPECT_EQ(t.substr(t.size() - question.size()), question);
  // The name occurs only in the statement and the question.
  const std::string name =
      p.statement.substr(p.statement.find(" of ") + 4, is - p.statement.find(" of ") - 4);
  size_t count = 0;
  for (size_t at = t.find(" " + name + " "); at != std::string::npos;
       at = t.find(" " + name + " ", at + 1))
    ++count;
  EXPECT_EQ(count, 2u) << name;
}

}  // namespace

TEST(RetrievalTasks, PasskeyPlacesTheKeyAtTheRequestedDepth) {
  const auto f = builtin_filler();
  for (int64_t L : {96, 256, 1000}) {
    for (double depth : {0.0, 0.1, 0.25, 0.5, 0.9, 1.0}) {
      std::mt19937_64 rng(trial_seed(1, "passkey", L, 0, static_cast<int64_t>(depth * 100)));
      auto p = make_passkey_prompt(f, rng, L, depth);
      expect_asks_for_its_fact(p, L);
      EXPECT_EQ(p.answer.size(), 5u);
      EXPECT_EQ(p.statement.rfind("the key of ", 0), 0u);
      // Context = haystack + statement + question; the statement moved back to whitespace by <= 32.
      const int64_t question = static_cast<int64_t>(p.tokens.size()) -
                               static_cast<int64_t>(text_of(p).rfind("recall: "));
      const int64_t n = static_cast<int64_t>(p.tokens.size()) - question -
                        static_cast<int64_t>(p.statement.size());
      const double exact = depth * static_cast<double>(n);
      EXPECT_LE(static_cast<double>(p.fact_pos), exact + 0.5) << L << " " << depth;
      EXPECT_GE(static_cast<double>(p.fact_pos), exact - 32.5) << L << " " << depth;
      EXPECT_NEAR(p.depth, static_cast<double>(p.fact_pos) / static_cast<double>(n), 1e-12);
      if (depth == 0.0) {
        EXPECT_EQ(p.fact_pos, 0);
      }
    }
  }
}

TEST(RetrievalTasks, NeedleGridUsesEveryAttributeAndDepth) {
  const auto f = builtin_filler();
  std::set<std::string> attributes;
  for (int trial = 0; trial < 40; ++trial) {
    for (double pct : {0.0, 50.0, 100.0}) {
      std::mt19937_64 rng(trial_seed(7, "needle", 512, 0, trial));
      auto p = make_needle_prompt(f, rng, 512, pct / 100.0);
      expect_asks_for_its_fact(p, 512);
      EXPECT_NEAR(p.depth, pct / 100.0, 33.0 / 400.0);
      attributes.insert(p.statement.substr(4, p.statement.find(" of ") - 4));
    }
  }
  EXPECT_EQ(attributes.size(), longrange_attributes().size());
}

TEST(RetrievalTasks, KvRetrievalAsksForThePairAtThePosition) {
  const auto f = builtin_filler();
  for (int64_t pairs : {0, 6}) {
    for (double pos : {0.0, 0.3, 0.55, 0.99}) {
      std::mt19937_64 rng(trial_seed(3, "kvretrieval", 700, 0, static_cast<int64_t>(pos * 100)));
      auto p = make_kv_prompt(f, rng, 700, pairs, pos);
      expect_asks_for_its_fact(p, 700);
      if (pairs > 0)
        EXPECT_EQ(p.pairs, pairs);
      else
        EXPECT_GT(p.pairs, 10);
      EXPECT_EQ(p.pair_index, static_cast<int64_t>(std::floor(pos * static_cast<double>(p.pairs))));
      EXPECT_NEAR(p.depth, (static_cast<double>(p.pair_index) + 0.5) / static_cast<double>(p.pairs),
                  1e-12);
      // The pair before the asked one is a different fact ending right where it starts (packed
      // record).
      if (pairs == 0 && p.pair_index > 0) {
        EXPECT_EQ(text_of(p).substr(static_cast<size_t>(p.fact_pos) - 2, 2), ". ");
      }
    }
  }
  std::mt19937_64 rng(1);
  EXPECT_THROW(make_kv_prompt(f, rng, 200, 40, 0.5), DataError);
}

TEST(RetrievalTasks, SameSeedSamePromptAndTooShortIsNamed) {
  const auto f = builtin_filler();
  std::mt19937_64 a(trial_seed(5, "passkey", 300, 0, 2)), b(trial_seed(5, "passkey", 300, 0, 2));
  EXPECT_EQ(make_passkey_prompt(f, a, 300, -1).tokens, make_passkey_prompt(f, b, 300, -1).tokens);
  EXPECT_NE(trial_seed(5, "passkey", 300, 0, 2), trial_seed(5, "needle", 300, 0, 2));
  std::mt19937_64 rng(1);
  try {
    make_passkey_prompt(f, rng, 40, 0.5);
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("length 40"), std::string::npos) << e.what();
  }
  // Every prompt fits its task's minimum length.
  for (int trial = 0; trial < 50; ++trial) {
    std::mt19937_64 r(static_cast<uint64_t>(trial));
    EXPECT_NO_THROW(make_needle_prompt(f, r, min_prompt_length("needle"), 1.0));
    EXPECT_NO_THROW(make_kv_prompt(f, r, min_prompt_length("kvretrieval"), 0, 0.5));
  }
}

TEST(RetrievalTasks, BuiltinCorpusTeachesTheFormat) {
  LongRangeOptions o;
  o.docs = 8;
  o.doc_tokens = 4096;
  std::string all;
  for (const auto& d : generate_longrange(o)) all += ByteTokenizer::decode(d.tokens);
  EXPECT_NE(all.find(std::string(kLongRangeRecallMarker) + "the key of "), std::string::npos);
  EXPECT_NE(all.find(std::string(kLongRangeRecallMarker) + "the code of "), std::string::npos);
}

TEST(RetrievalTasks, ScorerAcceptsExactlyTheAnswer) {
  EXPECT_TRUE(score_answer("48213.", "48213"));
  EXPECT_TRUE(score_answer("48213 and more", "48213"));
  EXPECT_TRUE(score_answer(" 48213.", "48213"));
  EXPECT_TRUE(score_answer("04821.", "04821"));
  EXPECT_FALSE(score_answer("4821.", "04821"));
  EXPECT_FALSE(score_answer("48214.", "48213"));
  EXPECT_FALSE(score_answer("482130", "48213"));
  EXPECT_FALSE(score_answer("4821.3", "48213"));
  EXPECT_FALSE(score_answer("", "48213"));
  EXPECT_FALSE(score_answer("no digits", "48213"));
  EXPECT_FALSE(score_answer("1 48213", "48213"));
}
