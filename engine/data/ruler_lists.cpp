// RULER's aggregation tasks: common-words extraction (cwe: ten words repeated often among words
// repeated a few times, in a numbered list) and frequent-words extraction (fwe: coded words drawn
// with Zipf frequencies, the top one being dots that do not count). Both grow a word at a time.
#include <algorithm>
#include <cctype>
#include <cmath>

#include "data/longrange_corpus.h"
#include "data/rng.h"
#include "data/ruler_build.h"
#include "data/ruler_words.h"

namespace ctx::data::ruler {
namespace {

constexpr int kCommonWords = 10;   // RULER's num_cw
constexpr int kCommonMost = 30;    // RULER's freq_cw; lowered to fit short lengths
constexpr int kCommonLeast = 5;    // never below: clearly more than the uncommon words
constexpr int kUncommonFreq = 3;   // RULER's freq_ucw
constexpr int kMinUncommon = 10;
constexpr int kCodedVocab = 2000;  // RULER's fwe vocabulary, coded words of 6 letters
constexpr int kCodedLength = 6;
constexpr int kMinCoded = 100;     // words; from here ranks 2-4 are strictly above rank 5
constexpr int kFrequentAnswers = 3;
constexpr double kZipfAlpha = 2.0;
constexpr const char* kDots = "....";

constexpr const char* kCweHead =
    "Below is a numbered list of words. In these words, some appear more often than others. "
    "Memorize the ones that appear most often.";
constexpr const char* kCweQuestion =
    "Question: What are the 10 most common words in the above list? Answer: The top 10 words "
    "that appear most often in the list are:";
constexpr const char* kFweHead =
    "Read the following coded text and track the frequency of each coded word. Find the three "
    "most frequently appeared coded words.";
constexpr const char* kFweQuestion =
    "Question: Do not provide any explanation. Please ignore the dots '....'. What are the three "
    "most frequently appeared words in the above coded text? Answer: According to the coded text "
    "above, the three most frequently appeared words are:";

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

// Words for cwe: English words (natural language) then pseudo-words, none inside another.
class WordStream {
 public:
  WordStream(bool bytes, std::mt19937_64& rng) : rng_(rng) {
    if (!bytes) {
      pool_ = english_words(lower(std::string(kCweHead) + " " + kCweQuestion));
      fisher_yates_shuffle(pool_, rng_);
    }
  }
  // The i-th word (drawn on demand; later draws never contain or sit inside earlier ones).
  const std::string& operator[](size_t i) {
    while (words_.size() <= i) {
      if (next_ < pool_.size()) {
        words_.push_back(pool_[next_++]);
        used_.insert(words_.back());
        continue;
      }
      words_.push_back(fresh(used_, [&] { return pseudo_word(rng_); }, [&](const std::string& s) {
        return std::none_of(words_.begin(), words_.end(),
                            [&](const std::string& w) { return overlaps(w, s); });
      }));
    }
    return words_[i];
  }

 private:
  std::mt19937_64& rng_;
  std::vector<std::string> pool_, words_;
  std::set<std::string> used_;
  size_t next_ = 0;
};

std::vector<std::string> coded_vocabulary(std::mt19937_64& rng) {
  std::set<std::string> used;
  std::vector<std::string> v = {kDots};
  while (static_cast<int>(v.size()) < kCodedVocab)
    v.push_back(fresh(used, [&] {
      std::string w;
      for (int i = 0; i < kCodedLength; ++i) w += static_cast<char>('a' + uniform_below(rng, 26));
      return w;
    }));
  return v;
}

}  // namespace

RulerPrompt make_cwe(const RulerTask& t, const Measure& m, std::mt19937_64& rng, int64_t length) {
  const bool bytes = m.byte_level();
  WordStream words(bytes, rng);
  std::vector<std::string> common;
  for (size_t i = 0; i < kCommonWords; ++i) common.push_back(words[i]);
  const uint64_t shuffle_seed = rng();
  int freq = kCommonMost;
  const auto draft = [&](int64_t uncommon) {
    std::vector<std::string> list;
    for (const auto& w : common) list.insert(list.end(), static_cast<size_t>(freq), w);
    for (int64_t i = 0; i < uncommon; ++i)
      list.insert(list.end(), kUncommonFreq, words[kCommonWords + static_cast<size_t>(i)]);
    std::mt19937_64 g(shuffle_seed ^ static_cast<uint64_t>(uncommon));
    fisher_yates_shuffle(list, g);
    Draft d;
    if (!bytes) d.text = std::string(kCweHead) + "\n";
    d.hay_begin = d.text.size();
    for (size_t i = 0; i < list.size(); ++i)
      d.text += (i ? " " : "") + std::to_string(i + 1) + ". " + list[i];
    d.hay_end = d.text.size();
    d.text += bytes ? std::string(" ") + kLongRangeRecallMarker + "the ten most common words are "
                    : std::string("\n") + kCweQuestion;
    return d;
  };
  std::string completion;
  if (bytes) {
    completion = join(common, ", ") + ".";
  } else {
    for (size_t i = 0; i < common.size(); ++i)
      completion += " " + std::to_string(i + 1) + ". " + common[i];
  }
  // RULER repeats each common word 30 times; shorter lengths get fewer repetitions.
  if (length == kMinimal) {
    freq = kCommonLeast;
  } else {
    while (freq > kCommonLeast && m.count(draft(kMinUncommon).text + completion) > length + 1)
      --freq;
  }
  RulerPrompt p = build_list_prompt(m, draft, completion, kMinUncommon, t.name, length);
  p.expected = common;
  return p;
}

RulerPrompt make_fwe(const RulerTask& t, const Measure& m, std::mt19937_64& rng, int64_t length) {
  const bool bytes = m.byte_level();
  const std::vector<std::string> vocab = coded_vocabulary(rng);
  const uint64_t shuffle_seed = rng();
  const double zeta = M_PI * M_PI / 6.0;  // zeta(2)
  const auto draft = [&](int64_t n) {
    std::vector<std::string> text;
    for (size_t k = 0; k < vocab.size(); ++k) {
      const auto c = static_cast<size_t>(static_cast<double>(n) *
                                         std::pow(static_cast<double>(k + 1), -kZipfAlpha) / zeta);
      if (c == 0) break;
      text.insert(text.end(), c, vocab[k]);
    }
    std::mt19937_64 g(shuffle_seed ^ static_cast<uint64_t>(n));
    fisher_yates_shuffle(text, g);
    Draft d;
    if (!bytes) d.text = std::string(kFweHead) + " ";
    d.hay_begin = d.text.size();
    d.text += join(text, " ");
    d.hay_end = d.text.size();
    d.text += bytes ? std::string(" ") + kLongRangeRecallMarker + "the three most frequent words are "
                    : std::string("\n") + kFweQuestion;
    return d;
  };
  const std::vector<std::string> answers(vocab.begin() + 1, vocab.begin() + 1 + kFrequentAnswers);
  const std::string completion = bytes ? join(answers, ", ") + "." : " " + join(answers, " ");
  RulerPrompt p = build_list_prompt(m, draft, completion, kMinCoded, t.name, length);
  p.expected = answers;
  return p;
}

}  // namespace ctx::data::ruler
