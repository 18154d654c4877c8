// Natural-language retrieval prompts under the fixture tokenizers: prompt + completion is exactly
// length + 1 tokens, the key line / needle / asked pair sits at fact_pos and at the requested
// depth, the answer occurs once, seeds reproduce prompts, scorers accept only the right answers,
// and too-short lengths are refused naming the minimum.
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <memory>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "data/prompt_fit.h"
#include "data/retrieval_prompts_nl.h"
#include "io/tokenizer_loader.h"
#include "tokenizer_fixtures.h"

using namespace ctx::data;

namespace {

const std::vector<std::string> kFixtures = {"bytelevel-llama3", "bytelevel-qwen2",
                                            "bytelevel-smollm", "sentencepiece",
                                            "metaspace-llama2", "legacy-llama2"};
const std::vector<int64_t> kLengths = {256, 512, 1000, 2048};

const std::vector<std::string> kSentences = {
    "Rain fell on the old harbour for most of the morning.",
    "The baker on the corner opened late because his oven had broken.",
    "Children walked to school under bright umbrellas.",
    "A small boat drifted past the lighthouse, its sail half raised.",
    "Nobody in the village remembered who had planted the oak tree.",
    "The library keeps its oldest maps in a cool room under the stairs.",
    "By noon the clouds had thinned and the streets began to dry.",
    "Two cats slept on the warm stones of the church wall.",
    "The market sold apples, cheese, and bread that was still warm.",
    "An old man fed the pigeons and talked to them about the weather.",
    "Trains to the city ran every hour, except on holidays.",
    "In the evening the square filled with music and the smell of grilled fish.",
    "The river was higher than usual after a week of storms.",
    "She wrote letters to her brother every Sunday, even when there was little to tell.",
    "The museum showed old clocks and told the stories of the people who built them.",
    "Somebody had painted the fence blue, and the neighbours could not agree about it.",
    "Workers repaired the bridge at night so that traffic could pass during the day.",
    "The forest path was muddy, but the view from the hill was worth the climb.",
    "At the end of the summer the fields turned gold and the farmers worked until dark.",
    "A letter arrived with no name on it, only a drawing of a house by the sea."};

const std::vector<std::string> kPasskeySentences = {"The grass is green.", "The sky is blue.",
                                                    "The sun is yellow.", "Here we go.",
                                                    "There and back again."};

std::shared_ptr<const Tokenizer> load(const std::string& fixture) {
  return ctx::io::load_tokenizer(ctx::test::tokenizer_fixture(fixture));
}

// Documents of the test sentences (rotated, in paragraphs), tokenized by `tok` as a corpus is.
std::vector<Document> documents(const Tokenizer& tok, const std::string& extra = "") {
  std::vector<Document> docs;
  for (size_t d = 0; d < 4; ++d) {
    std::string text;
    for (size_t i = 0; i < kSentences.size(); ++i) {
      if (i > 0) text += i % 5 == 0 ? "\n" : " ";
      text += kSentences[(i + 7 * d) % kSentences.size()];
      if (i == 9 && !extra.empty()) text += " " + extra;
    }
    docs.push_back({"doc" + std::to_string(d), tok.encode(text, false)});
  }
  return docs;
}

// Byte-fallback tokens that a decoder writes as "<0x39>" (the metaspace fixture has no
// ByteFallback decoder, as in its Hugging Face reference) read as their bytes.
std::string unescape_bytes(const std::string& s) {
  static const std::regex re("<0x([0-9A-F]{2})>");
  std::string out;
  auto last = s.cbegin();
  for (auto it = std::sregex_iterator(s.begin(), s.end(), re); it != std::sregex_iterator(); ++it) {
    out.append(last, s.cbegin() + it->position());
    out += static_cast<char>(std::stoi(it->str(1), nullptr, 16));
    last = s.cbegin() + it->position() + it->length();
  }
  out.append(last, s.cend());
  return out;
}

std::string decode_from(const Tokenizer& tok, const RetrievalPrompt& p, int64_t from) {
  return unescape_bytes(
      tok.decode(std::vector<Token>(p.tokens.begin() + from, p.tokens.end()), true));
}

int64_t max_sentence_tokens(const Tokenizer& tok, const std::vector<std::string>& sentences) {
  int64_t most = 0;
  for (const auto& s : sentences)
    most = std::max<int64_t>(most, static_cast<int64_t>(tok.encode(" " + s, false).size()));
  return most;
}

// Sizes, tokens, completion, and the statement starting inside token fact_pos.
void expect_sized_with_fact(const Tokenizer& tok, const RetrievalPrompt& p, int64_t length,
                            const std::string& what) {
  EXPECT_EQ(p.tokens, tok.encode(p.text, true)) << what;
  const auto full = tok.encode(p.text + p.completion, true);
  EXPECT_EQ(static_cast<int64_t>(full.size()), length + 1) << what;
  EXPECT_EQ(static_cast<int64_t>(p.tokens.size()) + p.new_tokens, length + 1) << what;
  EXPECT_GE(p.new_tokens, 1) << what;
  // The reference answer continues the prompt's tokens: generating it reproduces `full`.
  EXPECT_TRUE(std::equal(p.tokens.begin(), p.tokens.end(), full.begin())) << what;
  EXPECT_EQ(ctx::data::count_occurrences(p.text, p.statement), 1u) << what;
  ASSERT_GE(p.fact_pos, 0);
  ASSERT_LT(p.fact_pos, static_cast<int64_t>(p.tokens.size()));
  const std::string at = decode_from(tok, p, p.fact_pos);
  const auto found = at.find(p.statement);
  EXPECT_LE(found, 2u) << what << ": fact_pos " << p.fact_pos << " reads \"" << at.substr(0, 40)
                       << "\"";
  EXPECT_EQ(decode_from(tok, p, p.fact_pos + 1).find(p.statement), std::string::npos) << what;
}

// The depth recomputed from the text: (fact_pos - first filler token) / filler tokens.
double depth_from_text(const Tokenizer& tok, const RetrievalPrompt& p, size_t filler_begin,
                       size_t filler_end, double* filler_tokens) {
  const auto begin = static_cast<int64_t>(tok.encode(p.text.substr(0, filler_begin), true).size());
  const auto end = static_cast<int64_t>(tok.encode(p.text.substr(0, filler_end), true).size());
  const auto fact = static_cast<int64_t>(tok.encode(p.statement, false).size());
  *filler_tokens = static_cast<double>(end - begin - fact);
  return static_cast<double>(p.fact_pos - begin) / *filler_tokens;
}

bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

std::vector<std::string> uuids_in(const std::string& s) {
  static const std::regex re("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::vector<std::string> out;
  for (auto it = std::sregex_iterator(s.begin(), s.end(), re); it != std::sregex_iterator(); ++it)
    out.push_back(it->str());
  return out;
}

}  // namespace

// The lengths of kLengths that leave room for filler (the fixtures' tiny vocabularies need about
// 1.5 bytes a token, so some prompts do not fit in 256); checks that 512 and more always do.
std::vector<int64_t> lengths_for(const Tokenizer& tok, const std::string& task) {
  const int64_t min = min_nl_prompt_length(tok, task);
  std::vector<int64_t> out;
  for (int64_t L : kLengths)
    if (L >= min + 32) out.push_back(L);
  EXPECT_GE(out.size(), kLengths.size() - 1) << task << " min " << min;
  return out;
}

TEST(RetrievalPromptsNl, PasskeyIsExactAndAtTheRequestedDepth) {
  std::string block;
  for (int i = 0; i < 50; ++i)
    block +=
        "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back "
        "again. ";
  for (const auto& name : kFixtures) {
    const auto tok = load(name);
    const double sentence = static_cast<double>(max_sentence_tokens(*tok, kPasskeySentences));
    for (int64_t L : lengths_for(*tok, "passkey")) {
      for (double depth : {0.0, 0.25, 0.5, 0.9, 1.0}) {
        const std::string what =
            name + " L=" + std::to_string(L) + " depth " + std::to_string(depth);
        std::mt19937_64 rng(trial_seed(3, "passkey", L, 0, static_cast<int64_t>(depth * 100)));
        const auto p = make_nl_passkey_prompt(*tok, rng, L, depth);
        expect_sized_with_fact(*tok, p, L, what);
        const int key = std::stoi(p.answer);
        EXPECT_GE(key, 1);
        EXPECT_LE(key, 50000);
        EXPECT_EQ(p.statement, "The pass key is " + p.answer + ". Remember it well. " + p.answer +
                                   " is the pass key.");
        EXPECT_EQ(p.completion, " " + p.answer + ".");
        const std::string question = "\nWhich number is the pass key? The pass key is";
        ASSERT_GE(p.text.size(), question.size());
        EXPECT_EQ(p.text.substr(p.text.size() - question.size()), question) << what;
        // The key's digits occur only in the key line, and the filler is the block from its start.
        const size_t filler_begin = p.text.find('\n') + 1;
        std::string rest = p.text;
        rest.erase(rest.find(p.statement), p.statement.size());
        for (char c : rest) EXPECT_FALSE(std::isdigit(static_cast<unsigned char>(c))) << what;
        // After the key line: the block again from its start, cut to size, then the question.
        const std::string after = p.text.substr(p.text.find(p.statement) + p.statement.size());
        const std::string suffix = after.substr(0, after.size() - question.size());
        EXPECT_TRUE(suffix.empty() || (suffix[0] == '\n' && block.rfind(suffix.substr(1), 0) == 0))
            << what << ": " << suffix;
        const std::string before = p.text.substr(0, p.text.find(p.statement));
        EXPECT_TRUE(before.size() == filler_begin || before.size() < filler_begin + 2 ||
                    before.substr(before.size() - 2) == ".\n" || depth == 1.0)
            << what;
        double filler = 0;
        const double d =
            depth_from_text(*tok, p, filler_begin, p.text.size() - question.size() + 1, &filler);
        EXPECT_NEAR(p.depth, d, 3.0 / filler) << what;
        EXPECT_NEAR(p.depth, depth, 0.01 + (sentence + 2) / filler) << what;
        if (depth == 0.0) {
          EXPECT_EQ(p.depth, 0.0) << what;
        }
        if (depth == 1.0) {
          EXPECT_GE(p.depth, 1.0 - 2.0 / filler) << what;
        }
      }
    }
  }
}

TEST(RetrievalPromptsNl, NeedleIsExactAndAtTheRequestedDepth) {
  for (const auto& name : kFixtures) {
    const auto tok = load(name);
    const TextFiller f(documents(*tok), *tok, "test sentences");
    const double sentence = static_cast<double>(max_sentence_tokens(*tok, kSentences));
    for (int64_t L : lengths_for(*tok, "needle")) {
      for (double depth : {0.0, 0.25, 0.5, 0.75, 1.0}) {
        const std::string what =
            name + " L=" + std::to_string(L) + " depth " + std::to_string(depth);
        std::mt19937_64 rng(trial_seed(5, "needle", L, 0, static_cast<int64_t>(depth * 100)));
        const auto p = make_nl_needle_prompt(f, *tok, rng, L, depth);
        expect_sized_with_fact(*tok, p, L, what);
        EXPECT_EQ(p.statement,
                  "The best thing to do in San Francisco is to eat a sandwich and sit in Dolores "
                  "Park on a sunny day.");
        EXPECT_EQ(p.answer, "Dolores Park");
        EXPECT_EQ(p.completion, " eat a sandwich and sit in Dolores Park on a sunny day.");
        EXPECT_EQ(count_occurrences(p.text, "Dolores Park"), 1u) << what;
        EXPECT_TRUE(score_needle_answer(p.completion));
        const std::string question =
            "\n\nQuestion: What is the best thing to do in San Francisco, according to the "
            "document?\nAnswer: The best thing to do in San Francisco is to";
        ASSERT_GE(p.text.size(), question.size());
        EXPECT_EQ(p.text.substr(p.text.size() - question.size()), question) << what;
        // At a sentence boundary: the needle follows a sentence end (or starts the haystack).
        const size_t at = p.text.find(p.statement);
        const size_t filler_begin = p.text.find("\n\n") + 2;
        if (at > filler_begin) {
          EXPECT_EQ(p.text[at - 1], ' ') << what;
          EXPECT_TRUE(std::string(".!?").find(p.text[at - 2]) != std::string::npos ||
                      at + p.statement.size() == p.text.size() - question.size())
              << what;
        }
        double filler = 0;
        const double d =
            depth_from_text(*tok, p, filler_begin, p.text.size() - question.size(), &filler);
        EXPECT_NEAR(p.depth, d, 3.0 / filler) << what;
        EXPECT_NEAR(p.depth, depth, 0.01 + (sentence + 2) / filler) << what;
        if (depth == 0.0) {
          EXPECT_EQ(p.depth, 0.0) << what;
        }
        if (depth == 1.0) {
          EXPECT_GE(p.depth, 1.0 - 2.0 / filler) << what;
        }
      }
    }
  }
}

TEST(RetrievalPromptsNl, PackedKvAsksForThePairAtThePosition) {
  for (const auto& name : kFixtures) {
    const auto tok = load(name);
    const TextFiller f(documents(*tok), *tok, "test sentences");
    for (int64_t L : lengths_for(*tok, "kvretrieval")) {
      for (double position : {0.0, 0.3, 0.6, 0.99}) {
        const std::string what =
            name + " L=" + std::to_string(L) + " position " + std::to_string(position);
        std::mt19937_64 rng(
            trial_seed(7, "kvretrieval", L, static_cast<int64_t>(position * 100), 0));
        const auto p = make_nl_kv_prompt(f, *tok, rng, L, 0, position);
        expect_sized_with_fact(*tok, p, L, what);
        ASSERT_GE(p.pairs, 2) << what;
        EXPECT_EQ(
            p.pair_index,
            std::min<int64_t>(p.pairs - 1, static_cast<int64_t>(std::floor(position * p.pairs))));
        EXPECT_NEAR(p.depth, (static_cast<double>(p.pair_index) + 0.5) / p.pairs, 1e-12);
        const size_t q = p.text.rfind("\n\nKey: \"");
        ASSERT_NE(q, std::string::npos);
        const std::string record = p.text.substr(0, q);
        const auto ids = uuids_in(record);
        ASSERT_EQ(static_cast<int64_t>(ids.size()), 2 * p.pairs) << what;
        EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size()) << what;
        const std::string& key = ids[static_cast<size_t>(2 * p.pair_index)];
        EXPECT_EQ(ids[static_cast<size_t>(2 * p.pair_index + 1)], p.answer) << what;
        EXPECT_EQ(p.statement, "\"" + key + "\": \"" + p.answer + "\"");
        EXPECT_EQ(p.text.substr(q), "\n\nKey: \"" + key + "\"\nValue:") << what;
        EXPECT_EQ(p.completion, " \"" + p.answer + "\"");
        EXPECT_EQ(count_occurrences(record, key), 1u) << what;
        EXPECT_EQ(count_occurrences(p.text, p.answer), 1u) << what;
        EXPECT_TRUE(score_kv_answer(p.completion, p.answer));
        // As many pairs as fit: what is left for the filler is less than a few pairs.
        const size_t json = p.text.find("JSON data:\n{");
        ASSERT_NE(json, std::string::npos);
        const auto head = tok->encode(p.text.substr(0, p.text.find("\n\n") + 2), true).size();
        const auto upto_json = tok->encode(p.text.substr(0, json), true).size();
        const auto pair = tok->encode(",\n " + p.statement, false).size();
        EXPECT_LT(upto_json - head, 3 * pair + 8) << what;
      }
    }
  }
}

TEST(RetrievalPromptsNl, SpreadKvKeepsTheGivenPairsAmongTheFiller) {
  for (const auto& name : kFixtures) {
    const auto tok = load(name);
    const TextFiller f(documents(*tok), *tok, "test sentences");
    for (int64_t L : {1000, 2048}) {
      for (double position : {0.0, 0.5, 0.9}) {
        const std::string what =
            name + " L=" + std::to_string(L) + " position " + std::to_string(position);
        std::mt19937_64 rng(
            trial_seed(9, "kvretrieval", L, static_cast<int64_t>(position * 10), 1));
        const auto p = make_nl_kv_prompt(f, *tok, rng, L, 4, position);
        expect_sized_with_fact(*tok, p, L, what);
        EXPECT_EQ(p.pairs, 4);
        EXPECT_EQ(p.pair_index, static_cast<int64_t>(std::floor(position * 4)));
        const size_t q = p.text.rfind("\n\nKey: \"");
        ASSERT_NE(q, std::string::npos);
        const std::string record = p.text.substr(0, q);
        const auto ids = uuids_in(record);
        ASSERT_EQ(ids.size(), 8u) << what;
        EXPECT_EQ(ids[static_cast<size_t>(2 * p.pair_index + 1)], p.answer);
        EXPECT_EQ(p.statement,
                  "{\"" + ids[static_cast<size_t>(2 * p.pair_index)] + "\": \"" + p.answer + "\"}");
        EXPECT_EQ(count_occurrences(p.text, p.answer), 1u) << what;
        // Filler sentences before the first pair, between every two, and after the last.
        size_t from = 0;
        for (int i = 0; i <= 4; ++i) {
          const size_t next = i < 4 ? record.find("{\"" + ids[static_cast<size_t>(2 * i)]) : q;
          ASSERT_NE(next, std::string::npos);
          const std::string gap = record.substr(from, next - from);
          EXPECT_NE(gap.find("the"), std::string::npos) << what << " gap " << i << ": " << gap;
          from = record.find('\n', next) + 1;
        }
      }
    }
  }
}

TEST(RetrievalPromptsNl, SameSeedSamePromptOtherSeedOther) {
  const auto tok = load("bytelevel-llama3");
  const TextFiller f(documents(*tok), *tok);
  for (const std::string task : {"passkey", "needle", "kvretrieval"}) {
    auto make = [&](uint64_t seed) {
      std::mt19937_64 rng(trial_seed(seed, task, 512, 0, 0));
      if (task == "passkey") return make_nl_passkey_prompt(*tok, rng, 512, 0.5);
      if (task == "needle") return make_nl_needle_prompt(f, *tok, rng, 512, 0.5);
      return make_nl_kv_prompt(f, *tok, rng, 512, 0, 0.5);
    };
    const auto a = make(1), b = make(1), c = make(2);
    EXPECT_EQ(a.text, b.text) << task;
    EXPECT_EQ(a.tokens, b.tokens) << task;
    EXPECT_EQ(a.answer, b.answer) << task;
    EXPECT_NE(a.text, c.text) << task;
  }
  // A random depth (depth < 0) is drawn from the trial's generator too.
  std::mt19937_64 r1(11), r2(11);
  EXPECT_EQ(make_nl_passkey_prompt(*tok, r1, 512, -1).text,
            make_nl_passkey_prompt(*tok, r2, 512, -1).text);
}

const std::string kUtf8Sentence =
    "Caf\xC3\xA9 cr\xC3\xA8me in Z\xC3\xBCrich \xE2\x80\x94 na\xC3\xAFve "
    "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E \xF0\x9F\x91\x8B\xF0\x9F\x8F\xBD.";

// Text of nothing but that sentence: a character can add up to four tokens of a small vocabulary,
// so an exact fit is not always reachable; the size stays within the slack, never a cut character.
TEST(RetrievalPromptsNl, Utf8FillerIsNeverCutInsideACharacter) {
  for (const std::string name : {"bytelevel-llama3", "bytelevel-qwen2", "sentencepiece"}) {
    const auto tok = load(name);
    std::string text;
    for (int i = 0; i < 40; ++i) text += kUtf8Sentence + " " + kUtf8Sentence + (i % 3 ? " " : "\n");
    const TextFiller f(text, "utf8");
    for (int trial = 0; trial < 12; ++trial) {
      const int64_t L = 700 + 37 * trial;
      std::mt19937_64 rng(trial_seed(13, "utf8", L, 0, trial));
      const auto n = make_nl_needle_prompt(f, *tok, rng, L, trial / 12.0);
      const auto k = make_nl_kv_prompt(f, *tok, rng, L, trial % 2 ? 0 : 2, 0.5);
      for (const auto* p : {&n, &k}) {
        EXPECT_TRUE(valid_utf8(p->text)) << name << " " << L;
        if (p == &n) {
          EXPECT_NE(p->text.find("\xE6\x97\xA5"), std::string::npos);
        }
        const auto total = static_cast<int64_t>(tok->encode(p->text + p->completion, true).size());
        EXPECT_LE(total, L + 1) << name << " " << L;
        EXPECT_GE(total, L + 1 - kNlLengthSlack) << name << " " << L;
      }
    }
  }
}

// The same sentence now and then among English ones: exact, and whole characters.
TEST(RetrievalPromptsNl, MixedUtf8FillerFitsExactly) {
  for (const std::string name : {"bytelevel-llama3", "bytelevel-qwen2", "sentencepiece"}) {
    const auto tok = load(name);
    const TextFiller f(documents(*tok, kUtf8Sentence), *tok, "mixed");
    EXPECT_TRUE(f.contains(kUtf8Sentence)) << name;
    for (int trial = 0; trial < 16; ++trial) {
      const int64_t L = 600 + 53 * trial;
      std::mt19937_64 rng(trial_seed(17, "utf8", L, 0, trial));
      const auto n = make_nl_needle_prompt(f, *tok, rng, L, trial / 16.0);
      const auto k = make_nl_kv_prompt(f, *tok, rng, L, trial % 2 ? 0 : 3, trial / 16.0);
      for (const auto* p : {&n, &k}) {
        EXPECT_TRUE(valid_utf8(p->text)) << name << " " << L;
        EXPECT_EQ(static_cast<int64_t>(tok->encode(p->text + p->completion, true).size()), L + 1)
            << name << " " << L;
      }
    }
  }
}

TEST(RetrievalPromptsNl, ScorersAcceptOnlyTheRightAnswer) {
  EXPECT_TRUE(score_passkey_answer(" 48213.", "48213"));
  EXPECT_TRUE(score_passkey_answer("The pass key is 48213", "48213"));
  EXPECT_TRUE(score_passkey_answer("7", "7"));
  EXPECT_FALSE(score_passkey_answer(" 4821.", "48213"));
  EXPECT_FALSE(score_passkey_answer(" 482134", "48213"));
  EXPECT_FALSE(score_passkey_answer(" 12 48213", "48213"));
  EXPECT_FALSE(score_passkey_answer("no number", "48213"));

  EXPECT_TRUE(score_needle_answer(" eat a sandwich and sit in Dolores Park on a sunny day."));
  EXPECT_TRUE(score_needle_answer("go to DOLORES PARK"));
  EXPECT_TRUE(score_needle_answer("dolores\n  park"));
  EXPECT_FALSE(score_needle_answer("Golden Gate Park"));
  EXPECT_FALSE(score_needle_answer("Dolores"));
  EXPECT_FALSE(score_needle_answer("Doloresp ark"));
  EXPECT_FALSE(score_needle_answer(""));

  const std::string v = "3f2b8c1e-9a4d-4c7e-8b21-5d6f7a8e9c0b";
  EXPECT_TRUE(score_kv_answer(" \"" + v + "\"", v));
  EXPECT_TRUE(score_kv_answer("The value is " + v + ", I think.", v));
  EXPECT_FALSE(score_kv_answer(" \"3f2b8c1e-9a4d-4c7e-8b21-5d6f7a8e9c0c\"", v));
  EXPECT_FALSE(score_kv_answer(" \"3f2b8c1e-9a4d-4c7e-8b21-5d6f7a8e9c0\"", v));
  EXPECT_FALSE(score_kv_answer("3F2B8C1E-9A4D-4C7E-8B21-5D6F7A8E9C0B", v));
  EXPECT_FALSE(score_kv_answer("", v));
  EXPECT_FALSE(score_kv_answer(" \"" + v + "ff\"", v));
  EXPECT_FALSE(score_kv_answer("a" + v, v));
  EXPECT_TRUE(score_kv_answer(v, v));

  EXPECT_TRUE(score_nl_answer("passkey", "123.", "123"));
  EXPECT_TRUE(score_nl_answer("needle", "Dolores Park", "Dolores Park"));
  EXPECT_TRUE(score_nl_answer("kvretrieval", v, v));
  EXPECT_FALSE(score_nl_answer("kvretrieval", "other", v));
  EXPECT_THROW(score_nl_answer("lines", "x", "x"), DataError);
}

TEST(RetrievalPromptsNl, TooShortLengthsNameTaskLengthAndMinimum) {
  for (const auto& name : kFixtures) {
    const auto tok = load(name);
    const TextFiller f(documents(*tok), *tok);
    for (const std::string task : {"passkey", "needle", "kvretrieval"}) {
      const int64_t min = min_nl_prompt_length(*tok, task);
      auto make = [&](int64_t L, uint64_t seed) {
        std::mt19937_64 rng(trial_seed(seed, task, L, 0, 0));
        if (task == "passkey") return make_nl_passkey_prompt(*tok, rng, L, 0.5);
        if (task == "needle") return make_nl_needle_prompt(f, *tok, rng, L, 0.5);
        return make_nl_kv_prompt(f, *tok, rng, L, 0, 0.5);
      };
      // The minimum fits every draw tried; one token less does not fit the fixed needle prompt.
      for (uint64_t seed = 0; seed < 16; ++seed) {
        const auto p = make(min, seed);
        const auto n = static_cast<int64_t>(p.tokens.size()) + p.new_tokens;
        EXPECT_LE(n, min + 1) << name << " " << task;
        EXPECT_GE(n, min + 1 - kNlLengthSlack) << name << " " << task;
      }
      const int64_t too_short = task == "needle" ? min - 1 : min / 2;
      try {
        make(too_short, 1);
        ADD_FAILURE() << name << " " << task << ": length " << too_short << " accepted";
      } catch (const DataError& e) {
        const std::string m = e.what();
        EXPECT_EQ(m.rfind(task + ": length " + std::to_string(too_short), 0), 0u) << m;
        EXPECT_NE(m.find("at least " + std::to_string(min) + " tokens"), std::string::npos) << m;
      }
    }
  }
}

TEST(RetrievalPromptsNl, TooManyPairsAndBadArgumentsAreRefused) {
  const auto tok = load("bytelevel-qwen2");
  const TextFiller f(documents(*tok), *tok);
  std::mt19937_64 rng(1);
  try {
    make_nl_kv_prompt(f, *tok, rng, 512, 1000, 0.5);
    ADD_FAILURE() << "1000 pairs accepted in 512 tokens";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("kvretrieval: 1000 pairs do not fit in length 512"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(make_nl_kv_prompt(f, *tok, rng, 512, -1, 0.5), DataError);
  EXPECT_THROW(make_nl_passkey_prompt(*tok, rng, 512, std::nan("")), DataError);
  EXPECT_THROW(make_nl_needle_prompt(f, *tok, rng, 512, std::nan("")), DataError);
  EXPECT_THROW(make_nl_kv_prompt(f, *tok, rng, 512, 0, std::nan("")), DataError);
  EXPECT_THROW(min_nl_prompt_length(*tok, "lines"), DataError);
  EXPECT_THROW(TextFiller("", "empty"), DataError);
}

TEST(RetrievalPromptsNl, TextFillerWrapsAndStartsAtSentences) {
  const TextFiller f("One two. Three four.\nFive six.", "t");
  EXPECT_EQ(f.take(0, 40), "One two. Three four.\nFive six.\nOne two. ");
  EXPECT_EQ(f.take(9, 12), "Three four.\n");
  std::set<std::string> starts;
  for (uint64_t s = 0; s < 64; ++s) {
    std::mt19937_64 rng(s);
    const size_t at = f.random_start(rng);
    ASSERT_LT(at, static_cast<size_t>(f.size()));
    starts.insert(f.text().substr(at, 3));
  }
  EXPECT_EQ(starts, (std::set<std::string>{"One", "Thr", "Fiv"}));
}
