// RULER-style prompts in the fact format (bytes) and in natural language under fixture tokenizers:
// prompt + answer is length + 1 - slack tokens, every needle starts at the token the prompt
// reports, single needles sit at the requested depth, distractors never equal the answer, keys and
// values are unique, vt states its chain in order, cwe / fwe ask for the words that really are the
// most frequent, seeds reproduce prompts, too-short lengths are refused, and the scorer gives
// RULER's partial credit.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "data/prompt_fit.h"
#include "data/retrieval_prompts_nl.h"
#include "data/retrieval_tasks.h"
#include "data/ruler_tasks.h"
#include "io/tokenizer_loader.h"
#include "tokenizer_fixtures.h"

using namespace ctx::data;

namespace {

const std::vector<std::string> kTokenizers = {"bytelevel-llama3", "sentencepiece",
                                              "bytelevel-qwen2"};

const char* kText =
    "Rain fell on the old harbour for most of the morning. The baker on the corner opened late "
    "because his oven had broken. Children walked to school under bright umbrellas. A small boat "
    "drifted past the lighthouse, its sail half raised.\nNobody in the village remembered who had "
    "planted the oak tree. The library keeps its oldest maps in a cool room under the stairs. By "
    "noon the clouds had thinned and the streets began to dry. Two cats slept on the warm stones "
    "of the church wall.";

const TextFiller& corpus() {
  static const TextFiller f(kText, "test corpus");
  return f;
}

RulerSources sources() {
  RulerSources s;
  s.corpus = &corpus();
  return s;
}

std::shared_ptr<const Tokenizer> load(const std::string& name) {
  return ctx::io::load_tokenizer(ctx::test::tokenizer_fixture(name));
}

RulerPrompt make(const std::string& task, const Tokenizer* tok, int64_t length, double depth,
                 uint64_t seed = 7) {
  std::mt19937_64 rng(trial_seed(seed, task, length, 0, 0));
  return make_ruler_prompt(ruler_task(task), sources(), tok, rng, length, depth);
}

std::string decode_from(const Tokenizer* tok, const RulerPrompt& p, int64_t from) {
  const std::vector<Token> rest(p.tokens.begin() + from, p.tokens.end());
  return tok ? tok->decode(rest, true) : ByteTokenizer::decode(rest);
}

bool list_task(const RulerTask& t) {
  return t.haystack == "needles" || t.family == RulerFamily::CommonWords ||
         t.family == RulerFamily::FrequentWords;
}

// Sized as promised, tokens as the model reads the text, each needle at its reported token.
void expect_sized_and_placed(const Tokenizer* tok, const RulerPrompt& p, int64_t length,
                             const std::string& what) {
  const auto& t = ruler_task(what.substr(0, what.find(' ')));
  EXPECT_EQ(p.total(), length + 1 - p.slack) << what;
  EXPECT_GE(p.slack, 0) << what;
  // Lists grow an item at a time: less than one item short (a needle of a needle haystack).
  const int64_t item = t.haystack == "needles" && !p.needles.empty()
                           ? static_cast<int64_t>(p.needles[0].text.size()) + 4
                           : 24;
  EXPECT_LE(p.slack, list_task(t) ? item : kNlLengthSlack) << what;
  EXPECT_GE(p.new_tokens, 1) << what;
  if (tok) {
    const PromptEncoder enc(*tok);
    EXPECT_EQ(p.tokens, enc.encode(p.text)) << what;
    if (p.turns.empty()) {
      EXPECT_EQ(enc.count(p.text + p.completion), length + 1 - p.slack) << what;
    }
  } else {
    EXPECT_EQ(ByteTokenizer::decode(p.tokens), p.text) << what;
  }
  ASSERT_FALSE(p.expected.empty()) << what;
  for (const auto& n : p.needles) {
    ASSERT_GE(n.pos, 0) << what;
    ASSERT_LT(n.pos, static_cast<int64_t>(p.tokens.size())) << what;
    EXPECT_EQ(count_occurrences(p.text, n.text), 1u) << what << ": " << n.text;
    EXPECT_LE(decode_from(tok, p, n.pos).find(n.text), 2u) << what << ": " << n.text;
    EXPECT_EQ(decode_from(tok, p, n.pos + 1).find(n.text), std::string::npos) << what;
  }
}

struct Stated {
  std::string key, value;
};

// Needle statements of either format found in a text.
std::vector<Stated> statements_in(const std::string& text) {
  static const std::regex nl("One of the special magic \\w+ for (\\S+) is: ([^ ]+)\\.");
  static const std::regex fact("the (\\w+) of (\\S+) is ([0-9a-z-]+)\\.");
  std::vector<Stated> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), nl); it != std::sregex_iterator(); ++it)
    out.push_back({it->str(1), it->str(2)});
  for (auto it = std::sregex_iterator(text.begin(), text.end(), fact); it != std::sregex_iterator();
       ++it)
    out.push_back({it->str(2), it->str(3)});
  return out;
}

// The depth's grain: a sentence end within 7% of the haystack, or one needle of a needle haystack.
double depth_tolerance(const RulerTask& t, const RulerPrompt& p) {
  if (t.haystack != "needles") return 0.07;
  return 1.0 / static_cast<double>(statements_in(p.text).size()) + 0.02;
}

std::vector<std::string> niah_tasks() {
  std::vector<std::string> out;
  for (const auto& t : ruler_tasks())
    if (t.family == RulerFamily::Niah) out.push_back(t.name);
  return out;
}

}  // namespace

TEST(RulerTasks, RegistryHasRulersNamesAndRefusesOthers) {
  EXPECT_EQ(ruler_default_tasks(),
            (std::vector<std::string>{"niah_single_1", "niah_single_2", "niah_single_3",
                                      "niah_multikey_1", "niah_multikey_2", "niah_multikey_3",
                                      "niah_multivalue", "niah_multiquery", "vt", "cwe", "fwe"}));
  EXPECT_EQ(ruler_task("niah_single_3").value_type, "uuid");
  EXPECT_EQ(ruler_task("niah_single_corpus_word").haystack, "corpus");
  try {
    ruler_task("niah_single_4");
    FAIL() << "accepted an unknown task";
  } catch (const DataError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("niah_single_4"), std::string::npos);
    EXPECT_NE(msg.find("niah_multiquery"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }
}

TEST(RulerTasks, ScorerGivesRulersPartialCredit) {
  EXPECT_DOUBLE_EQ(ruler_score("The numbers are 1234567 and 7654321.", {"1234567"}), 1.0);
  EXPECT_DOUBLE_EQ(ruler_score("1234567, 2345678 and 3456789", {"1234567", "2345678", "3456789",
                                                                "4567890"}),
                   0.75);
  EXPECT_DOUBLE_EQ(ruler_score("nothing here", {"1234567", "2345678"}), 0.0);
  EXPECT_DOUBLE_EQ(ruler_score("VAR abcde then FGHIJ", {"ABCDE", "FGHIJ"}), 1.0);  // any case
  EXPECT_DOUBLE_EQ(ruler_score("123456", {"1234567"}), 0.0);  // a prefix is not the value
  EXPECT_DOUBLE_EQ(ruler_score("anything", {}), 0.0);
}

TEST(RulerTasks, FactFormatNeedlesSitWhereAndAtTheDepthTheyReport) {
  for (const auto& name : niah_tasks()) {
    for (int64_t L : {512, 1024}) {
      for (double depth : {0.0, 0.25, 0.5, 0.75, 1.0}) {
        const std::string what = name + " L=" + std::to_string(L) + " depth " + std::to_string(depth);
        const auto p = make(name, nullptr, L, depth);
        expect_sized_and_placed(nullptr, p, L, what);
        const auto& t = ruler_task(name);
        // Sentence ends (essays: ~60 bytes) or whole needles are the grain of the placement.
        if (L >= 1024) {
          EXPECT_NEAR(p.depth, depth, depth_tolerance(t, p)) << what;
        }
        if (t.keys == 1 && t.values == 1 && t.haystack != "needles") {
          // The depth recomputed from the text: bytes of haystack before the needle / all of it.
          const auto& n = p.needles.front();
          const size_t at = p.text.find(n.text), q = p.text.rfind("recall: ");
          EXPECT_EQ(static_cast<size_t>(n.pos), at) << what;
          const double hay = static_cast<double>(q - n.text.size() - 1);
          EXPECT_NEAR(static_cast<double>(at) / hay, p.depth, 0.01) << what;
        }
      }
    }
  }
}

TEST(RulerTasks, NaturalLanguageNeedlesAreSizedAndPlacedInTheTokenizersTokens) {
  for (const auto& fixture : kTokenizers) {
    const auto tok = load(fixture);
    for (const auto& name : niah_tasks()) {
      for (double depth : {0.0, 0.5, 1.0}) {
        const int64_t L = 2048;
        const std::string what = name + " " + fixture + " depth " + std::to_string(depth);
        const auto p = make(name, tok.get(), L, depth);
        expect_sized_and_placed(tok.get(), p, L, what);
        EXPECT_TRUE(p.turns.empty()) << what;  // natural language asks all keys at once
        EXPECT_NEAR(p.depth, depth, depth_tolerance(ruler_task(name), p)) << what;
        if (ruler_task(name).haystack != "needles") {
          EXPECT_EQ(p.slack, 0) << what;  // text haystacks fit exactly with these tokenizers
        }
      }
    }
  }
}

TEST(RulerTasks, DistractorsNeverEqualTheAnswerAndValuesAreUnique) {
  const auto tok = load("bytelevel-llama3");
  for (const Tokenizer* t : {static_cast<const Tokenizer*>(nullptr), tok.get()}) {
    for (uint64_t seed = 1; seed <= 4; ++seed) {
      for (const auto& name : niah_tasks()) {
        const std::string what = name + (t ? " nl" : " fact") + " seed " + std::to_string(seed);
        const auto p = make(name, t, 1024, -1, seed);
        const auto& task = ruler_task(name);
        const auto stated = statements_in(p.text);
        ASSERT_GE(stated.size(), p.expected.size()) << what;
        std::set<std::string> values, keys;
        for (const auto& s : stated) {
          EXPECT_TRUE(values.insert(s.value).second) << what << ": value " << s.value << " twice";
          keys.insert(s.key);
        }
        for (const auto& e : p.expected) {
          EXPECT_EQ(count_occurrences(p.text, e), 1u) << what << ": " << e;
          for (const auto& s : stated)
            if (s.value != e) {
              EXPECT_EQ(s.value.find(e), std::string::npos) << what;
              EXPECT_EQ(e.find(s.value), std::string::npos) << what;
            }
        }
        if (task.values > 1) {
          EXPECT_EQ(keys.size(), 1u) << what;
          EXPECT_EQ(p.expected.size(), 4u) << what;
        } else {
          EXPECT_EQ(keys.size(), stated.size()) << what << ": a key is stated twice";
          EXPECT_EQ(p.expected.size(), static_cast<size_t>(task.queries)) << what;
        }
        if (task.haystack == "needles") {
          EXPECT_GE(stated.size(), 5u) << what;
        }
        if (task.keys == 4) {
          EXPECT_EQ(stated.size(), 4u) << what;
        }
      }
    }
  }
}

TEST(RulerTasks, FactFormatMultiQueryAsksEachKeyInTurn) {
  const auto p = make("niah_multiquery", nullptr, 1024, 0.3);
  ASSERT_EQ(p.turns.size(), 3u);
  ASSERT_EQ(p.expected.size(), 4u);
  EXPECT_EQ(p.total(), 1025 - p.slack);
  std::string rebuilt = p.expected[0] + ".";
  EXPECT_EQ(p.new_tokens, static_cast<int64_t>(rebuilt.size()));
  for (size_t i = 0; i < p.turns.size(); ++i) {
    const std::string q = ByteTokenizer::decode(p.turns[i].forced);
    EXPECT_EQ(q.rfind(" recall: the ", 0), 0u) << q;
    EXPECT_EQ(p.turns[i].new_tokens, static_cast<int64_t>(p.expected[i + 1].size()) + 1);
    rebuilt += q + p.expected[i + 1] + ".";
  }
  EXPECT_EQ(rebuilt, p.completion);
}

TEST(RulerTasks, VariableTrackingStatesItsChainInOrder) {
  const auto tok = load("sentencepiece");
  for (const Tokenizer* t : {static_cast<const Tokenizer*>(nullptr), tok.get()}) {
    const int64_t L = 1024;
    const auto p = make("vt", t, L, 0.5);
    expect_sized_and_placed(t, p, L, std::string("vt ") + (t ? "nl" : "fact"));
    ASSERT_EQ(p.expected.size(), 5u);
    ASSERT_EQ(p.needles.size(), 5u);
    EXPECT_EQ(std::set<std::string>(p.expected.begin(), p.expected.end()).size(), 5u);
    EXPECT_EQ(p.depth, -1);
    size_t last = 0;
    for (size_t i = 0; i < p.needles.size(); ++i) {
      const size_t at = p.text.find(p.needles[i].text);
      EXPECT_GE(at, last) << "statement " << i << " comes before the one it copies";
      last = at;
      EXPECT_NE(p.needles[i].text.find(p.expected[i]), std::string::npos);
      if (i > 0) {
        EXPECT_NE(p.needles[i].text.find(p.expected[i - 1]), std::string::npos);
      }
    }
  }
}

TEST(RulerTasks, CommonWordsAreTheTenMostFrequentInTheList) {
  const auto tok = load("bytelevel-llama3");
  for (const Tokenizer* t : {static_cast<const Tokenizer*>(nullptr), tok.get()}) {
    for (int64_t L : {2048, 4096}) {
      const std::string what = std::string("cwe ") + (t ? "nl " : "fact ") + std::to_string(L);
      const auto p = make("cwe", t, L, -1);
      expect_sized_and_placed(t, p, L, what);
      std::map<std::string, int> counts;
      static const std::regex item("(\\d+)\\. ([a-z]+)");
      const std::string list = p.text.substr(0, p.text.find("Question") == std::string::npos
                                                    ? p.text.find("recall: ")
                                                    : p.text.find("Question"));
      int n = 0;
      for (auto it = std::sregex_iterator(list.begin(), list.end(), item); it != std::sregex_iterator();
           ++it) {
        EXPECT_EQ(std::stoi(it->str(1)), ++n) << what << ": items are numbered in order";
        counts[it->str(2)] += 1;
      }
      ASSERT_EQ(p.expected.size(), 10u) << what;
      int least_common = 1 << 30, most_other = 0;
      for (const auto& [w, c] : counts) {
        const bool expected =
            std::find(p.expected.begin(), p.expected.end(), w) != p.expected.end();
        if (expected) least_common = std::min(least_common, c);
        else most_other = std::max(most_other, c);
      }
      for (const auto& e : p.expected) EXPECT_TRUE(counts.count(e)) << what << ": " << e;
      EXPECT_GT(least_common, most_other) << what;
      EXPECT_GE(counts.size(), 20u) << what << ": at least ten uncommon words";
    }
  }
}

TEST(RulerTasks, FrequentWordsAreTheTopThreeCodedWords) {
  const auto tok = load("sentencepiece");
  for (const Tokenizer* t : {static_cast<const Tokenizer*>(nullptr), tok.get()}) {
    const int64_t L = 2048;
    const std::string what = std::string("fwe ") + (t ? "nl" : "fact");
    const auto p = make("fwe", t, L, -1);
    expect_sized_and_placed(t, p, L, what);
    const size_t q = p.text.find(t ? "\nQuestion" : " recall: ");
    const size_t from = t ? p.text.find("coded words. ") + 13 : 0;
    std::map<std::string, int> counts;
    std::stringstream words(p.text.substr(from, q - from));
    for (std::string w; words >> w;)
      if (w != "....") counts[w] += 1;
    std::vector<std::pair<int, std::string>> ranked;
    for (const auto& [w, c] : counts) ranked.push_back({c, w});
    std::sort(ranked.rbegin(), ranked.rend());
    ASSERT_GE(ranked.size(), 4u);
    ASSERT_EQ(p.expected.size(), 3u);
    std::set<std::string> top = {ranked[0].second, ranked[1].second, ranked[2].second};
    EXPECT_EQ(top, std::set<std::string>(p.expected.begin(), p.expected.end())) << what;
    EXPECT_GT(ranked[2].first, ranked[3].first) << what;
  }
}

TEST(RulerTasks, SeedsReproducePromptsAndTooShortLengthsAreRefused) {
  const auto tok = load("bytelevel-qwen2");
  for (const auto& name : ruler_default_tasks()) {
    for (const Tokenizer* t : {static_cast<const Tokenizer*>(nullptr), tok.get()}) {
      const std::string what = name + (t ? " nl" : " fact");
      const int64_t min = min_ruler_length(ruler_task(name), t);
      EXPECT_GT(min, 16) << what;
      const auto a = make(name, t, min + 200, 0.5, 3), b = make(name, t, min + 200, 0.5, 3);
      EXPECT_EQ(a.tokens, b.tokens) << what;
      EXPECT_NE(make(name, t, min + 200, 0.5, 4).tokens, a.tokens) << what;
      EXPECT_NO_THROW(make(name, t, min, 0.5)) << what;
      try {
        make(name, t, min / 2, 0.5);
        ADD_FAILURE() << what << ": length " << min / 2 << " accepted";
      } catch (const DataError& e) {
        EXPECT_NE(std::string(e.what()).find("cannot hold"), std::string::npos) << e.what();
      }
    }
  }
}
