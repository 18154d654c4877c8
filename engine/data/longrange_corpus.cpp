// builtin:longrange — synthetic documents with learnable local grammar plus facts and copied spans
// planted at exact distances, so a model's loss at long range only drops when it looks far back.
//
// How the generator works (deterministic from the seed; document k uses its own mt19937_64 seeded
// from (seed, k), and every draw goes through rng.h, so the bytes are the same on any machine):
// - Local structure. A fixed vocabulary of about 300 pseudo-words is spelled from syllables
//   (nouns "drotrox", verbs "sol"/"sols", adjectives "troic", adverbs "troicly"); it does not
//   depend on the seed. Filler sentences follow a small grammar with subject-verb agreement
//   ("this drotrox sols beside two druvooks.", "some sien glefups stiwig over the zious sheawon."),
//   plus short interjections ("oh.", "well."). Each document favours 24 "topic" nouns. ASCII only.
// - Facts. "the code of Zorbin is 4821." states a made-up name (capitalised syllables, fresh per
//   document, unique within it) with a random 3-6 digit value; later the document says
//   "recall: the code of Zorbin is 4821." so that the recalled digits start exactly d tokens
//   after the stated digits, d drawn from `distances` (a fact needs d >= ~45 to fit its statement
//   before its recall, so shorter distances get copies only).
// - Copies. A random span of 24-64 bytes of recent filler text is repeated verbatim, introduced by
//   "again: ", starting exactly d tokens after the original span started.
// - Placement. Recalls and copies reserve their slot when planted; filler sentences are chosen to
//   fill the gap to the next slot exactly (any gap of 4+ bytes can be filled), so every distance is
//   exact and documents are exactly doc_tokens bytes. Distances beyond the document are skipped.
// - Density. About 9-10% of the bytes are answers to recalls or copies (only predictable by looking
//   back d tokens); generate_longrange(opt, &recalls) lists each one (source and answer offsets).
#include "data/longrange_corpus.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <iterator>
#include <random>
#include <set>
#include <stdexcept>

#include "data/interrupt.h"
#include "data/rng.h"

namespace ctx::data {

namespace {

using Rng = std::mt19937_64;

// ---- fixed vocabulary (the "language"; identical for every seed) ----

constexpr const char* kOnsets[] = {"b",  "d",  "f",  "g",  "h",  "k",  "l",  "m",  "n",
                                   "p",  "r",  "s",  "t",  "v",  "w",  "z",  "br", "dr",
                                   "gl", "kr", "pl", "sk", "st", "tr", "sh", "th"};
constexpr const char* kVowels[] = {"a", "e", "i", "o", "u", "ai", "ea", "oo"};
// No "s" coda: a final s marks plural nouns and singular verbs, and must stay unambiguous.
constexpr const char* kCodas[] = {"n", "r", "l", "m", "k", "t", "d", "g", "p", "x"};
constexpr const char* kAdjSuffixes[] = {"ic", "ous", "al", "ish", "en", "y"};

struct Vocabulary {
  std::vector<std::string> nouns, verbs, adjectives, adverbs;
};

std::string syllable(Rng& rng) {
  return std::string(pick(kOnsets, rng)) + pick(kVowels, rng);
}

Vocabulary build_vocabulary() {
  Rng rng(0x6374786c61620001ULL);  // fixed on purpose: the grammar is shared by all seeds
  std::set<std::string> used = {"the",   "a",      "one",    "every",  "this", "some", "two",
                                "three", "many",   "these",  "in",     "on",   "near", "under",
                                "with",  "behind", "over",   "beside", "and",  "but",  "while",
                                "of",    "is",     "recall", "again",  "code", "key",  "pin",
                                "room",  "number", "locker"};
  auto fresh = [&](auto make) {
    for (;;) {
      std::string w = make();
      if (used.insert(w).second) return w;
    }
  };
  Vocabulary v;
  for (int i = 0; i < 160; ++i) {
    v.nouns.push_back(fresh([&] { return syllable(rng) + syllable(rng) + pick(kCodas, rng); }));
  }
  for (int i = 0; i < 64; ++i) {
    v.verbs.push_back(fresh([&] {
      std::string w = syllable(rng);
      if (uniform_below(rng, 3) == 0) w += syllable(rng);
      return w + pick(kCodas, rng);
    }));
  }
  for (int i = 0; i < 64; ++i) {
    v.adjectives.push_back(fresh([&] { return syllable(rng) + pick(kAdjSuffixes, rng); }));
  }
  for (int i = 0; i < 24; ++i) v.adverbs.push_back(fresh([&] { return v.adjectives[i] + "ly"; }));
  return v;
}

const Vocabulary& vocabulary() {
  static const Vocabulary v = build_vocabulary();
  return v;
}

constexpr const char* kDetSingular[] = {"the", "a", "one", "every", "this"};
constexpr const char* kDetPlural[] = {"the", "some", "two", "three", "many", "these"};
constexpr const char* kPrepositions[] = {"in",   "on",     "near", "under",
                                         "with", "behind", "over", "beside"};
constexpr const char* kConjunctions[] = {"and", "but", "while"};

// Interjections by their length including the separator (4..7): with them any gap of 4 or more
// bytes can be filled exactly, which is what keeps every planted distance exact.
constexpr const char* kInterjections[4][3] = {{"oh.", "so.", "ah."},
                                              {"yes.", "hmm.", "aha."},
                                              {"well.", "okay.", "alas."},
                                              {"quite.", "truly.", "right."}};
constexpr int64_t kMinUnit = 4;
constexpr int64_t kShortSentence = 16;  // about the shortest short_sentence()

struct Attribute {
  const char* word;
  int digits;
};
const Attribute kAttributes[] = {{"code", 4}, {"key", 5},    {"pin", 4},
                                 {"room", 3}, {"number", 6}, {"locker", 4}};

constexpr const char* kRecallMarker = "recall: ";
constexpr const char* kCopyMarker = "again: ";
constexpr int64_t kMinSpan = 24, kMaxSpan = 64;
constexpr int kTopicNouns = 24;
// Per unit boundary (fact and copy rates are options; their defaults give ~10% answer bytes).
constexpr double kInterjectionRate = 0.06, kParagraphRate = 0.08;

bool fillable(int64_t gap) {
  return gap == 0 || gap >= kMinUnit;
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// A recall or copy whose bytes are reserved at [start, start + text.size()).
struct Slot {
  int64_t start = 0;
  std::string text;
  int64_t answer_offset = 0;  // where the answer bytes begin inside text
  int64_t source_pos = 0;
  int64_t length = 0;
  int64_t end() const { return start + static_cast<int64_t>(text.size()); }
};

class DocumentBuilder {
 public:
  DocumentBuilder(const LongRangeOptions& opt, const std::vector<int64_t>& distances, int64_t index,
                  std::vector<PlantedRecall>* recalls)
      : opt_(opt),
        distances_(distances),
        index_(index),
        recalls_(recalls),
        rng_(splitmix64(opt.seed ^ splitmix64(static_cast<uint64_t>(index) + 1))) {
    const auto& nouns = vocabulary().nouns;
    for (int i = 0; i < kTopicNouns; ++i) topic_.push_back(pick(nouns, rng_));
  }

  std::string build() {
    const int64_t end = opt_.doc_tokens;
    for (;;) {
      const int64_t barrier = slots_.empty() ? end : slots_.front().start;
      const int64_t gap = barrier - pos();
      if (gap == 0) {
        if (slots_.empty()) break;
        emit_slot();
        continue;
      }
      if (gap < kMinUnit) {
        throw std::logic_error("builtin:longrange: unfillable gap of " + std::to_string(gap) +
                               " at byte " + std::to_string(pos()));
      }
      if (bernoulli(rng_, opt_.fact_rate) && try_plant_fact(gap)) continue;
      // A copy only reserves its slot (the text comes later), which may move the barrier.
      if (bernoulli(rng_, opt_.copy_rate) && try_plant_copy()) continue;
      std::string unit = filler_unit();
      const int64_t len = static_cast<int64_t>(unit.size());
      if (len == gap || len + kShortSentence <= gap) {
        emit_filler(unit);
      } else {
        emit_filler(fitted_unit(gap));
      }
    }
    return std::move(out_);
  }

 private:
  int64_t pos() const { return static_cast<int64_t>(out_.size()); }

  std::string separator() { return bernoulli(rng_, kParagraphRate) ? "\n" : " "; }

  const std::string& noun() {
    return bernoulli(rng_, 0.7) ? pick(topic_, rng_) : pick(vocabulary().nouns, rng_);
  }

  std::string noun_phrase(bool plural) {
    std::string np = plural ? pick(kDetPlural, rng_) : pick(kDetSingular, rng_);
    np += " ";
    if (bernoulli(rng_, 0.35)) np += pick(vocabulary().adjectives, rng_) + " ";
    np += noun();
    if (plural) np += "s";
    return np;
  }

  std::string clause() {
    const bool plural = bernoulli(rng_, 0.35);
    std::string c = noun_phrase(plural) + " " + pick(vocabulary().verbs, rng_);
    if (!plural) c += "s";  // agreement: the one rule that links subject and verb spelling
    if (bernoulli(rng_, 0.7)) c += " " + noun_phrase(bernoulli(rng_, 0.35));
    if (bernoulli(rng_, 0.35)) {
      c += std::string(" ") + pick(kPrepositions, rng_) + " " + noun_phrase(bernoulli(rng_, 0.35));
    }
    if (bernoulli(rng_, 0.25)) c += " " + pick(vocabulary().adverbs, rng_);
    return c;
  }

  std::string sentence() {
    std::string s = clause();
    if (bernoulli(rng_, 0.2)) s += std::string(", ") + pick(kConjunctions, rng_) + " " + clause();
    return s + "." + separator();
  }

  std::string interjection(int64_t unit_len) {
    return pick(kInterjections[unit_len - kMinUnit], rng_) + separator();
  }

  std::string filler_unit() {
    if (bernoulli(rng_, kInterjectionRate)) return interjection(uniform_int(rng_, 4, 7));
    return sentence();
  }

  // A subject and verb only: short enough to fill the last few dozen bytes before a slot.
  std::string short_sentence() {
    const bool plural = bernoulli(rng_, 0.35);
    std::string s = noun_phrase(plural) + " " + pick(vocabulary().verbs, rng_);
    if (!plural) s += "s";
    if (bernoulli(rng_, 0.5)) s += " " + pick(vocabulary().adverbs, rng_);
    return s + "." + separator();
  }

  // A unit of at most `gap` bytes (gap >= kMinUnit) whose remainder can still be filled. Sentences
  // are preferred, leaving either nothing or room for another sentence; interjections are the last
  // resort, so that a run of them does not announce every recall.
  std::string fitted_unit(int64_t gap) {
    for (int i = 0; i < 200; ++i) {
      std::string s = (i % 2 == 0) ? sentence() : short_sentence();
      const int64_t rest = gap - static_cast<int64_t>(s.size());
      if (rest == 0 || rest >= kShortSentence) return s;
    }
    if (gap <= 7) return interjection(gap);
    if (gap < 2 * kMinUnit + 4) return interjection(kMinUnit);  // leaves 4..7
    return interjection(uniform_int(rng_, 4, 7));
  }

  void emit_filler(const std::string& unit) { out_ += unit; }

  void emit_special(const std::string& text) {
    out_ += text;
    filler_start_ = pos();
  }

  void emit_slot() {
    Slot s = std::move(slots_.front());
    slots_.erase(slots_.begin());
    if (recalls_) {
      recalls_->push_back({index_, s.source_pos, s.start + s.answer_offset, s.length});
    }
    emit_special(s.text);
  }

  // Whether [start, start + len) can be reserved when the text will have reached `after`: no
  // overlap, inside the document, and every gap it leaves can still be filled exactly.
  bool can_reserve(int64_t start, int64_t len, int64_t after) const {
    int64_t prev_end = after, next_start = opt_.doc_tokens;
    for (const Slot& s : slots_) {
      if (s.end() <= start) {
        prev_end = std::max(prev_end, s.end());
      } else if (s.start >= start + len) {
        next_start = std::min(next_start, s.start);
      } else {
        return false;
      }
    }
    return start >= prev_end && start + len <= next_start && fillable(start - prev_end) &&
           fillable(next_start - start - len);
  }

  void reserve(Slot slot) {
    auto it = std::find_if(slots_.begin(), slots_.end(),
                           [&](const Slot& s) { return s.start > slot.start; });
    slots_.insert(it, std::move(slot));
  }

  int64_t draw_distance() {
    if (distances_.empty()) return 0;
    const int64_t d = pick(distances_, rng_);
    if (opt_.jitter <= 0) return d;  // no extra draw: the exact-distance bytes stay as they were
    const auto lo = static_cast<int64_t>(std::ceil(static_cast<double>(d) * (1.0 - opt_.jitter)));
    return uniform_int(rng_, std::max<int64_t>(1, lo), d);
  }

  std::string fresh_name() {
    for (;;) {
      std::string name = syllable(rng_) + syllable(rng_);
      if (bernoulli(rng_, 0.5)) name += syllable(rng_);
      if (bernoulli(rng_, 0.6)) name += pick(kCodas, rng_);
      name[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[0])));
      if (names_.insert(name).second) return name;
    }
  }

  bool try_plant_fact(int64_t gap) {
    if (distances_.empty()) return false;
    const Attribute& attr = kAttributes[uniform_below(rng_, std::size(kAttributes))];
    const std::string name = fresh_name();
    std::string value;
    for (int i = 0; i < attr.digits; ++i) value += static_cast<char>('0' + uniform_below(rng_, 10));
    const std::string prefix = std::string("the ") + attr.word + " of " + name + " is ";
    const std::string statement = prefix + value + ".";
    const std::string unit = statement + separator();
    const int64_t len = static_cast<int64_t>(unit.size());
    if (len > gap || !fillable(gap - len)) return false;

    const int64_t answer_offset =
        static_cast<int64_t>(std::string(kRecallMarker).size() + prefix.size());
    const std::string recall = kRecallMarker + statement + separator();
    const int64_t source_pos = pos() + static_cast<int64_t>(prefix.size());
    for (int attempt = 0; attempt < 3; ++attempt) {
      const int64_t d = draw_distance();
      const int64_t start = source_pos + d - answer_offset;
      if (!can_reserve(start, static_cast<int64_t>(recall.size()), pos() + len)) continue;
      reserve({start, recall, answer_offset, source_pos, static_cast<int64_t>(value.size())});
      emit_special(unit);
      return true;
    }
    return false;
  }

  // Copies come from filler written since the last planted text and on the current line, so a copy
  // never duplicates a fact (which would shorten that fact's distance) or another copy.
  bool try_plant_copy() {
    const int64_t line_start = static_cast<int64_t>(out_.rfind('\n') + 1);  // npos + 1 == 0
    const int64_t region = std::max(line_start, filler_start_);
    const int64_t avail = pos() - region;
    const int64_t marker = static_cast<int64_t>(std::string(kCopyMarker).size());
    for (int attempt = 0; attempt < 3; ++attempt) {
      const int64_t d = draw_distance();
      // The copy must start after the text written so far: span + lag <= d - marker.
      const int64_t max_len = std::min({kMaxSpan, avail, d - marker});
      if (max_len < kMinSpan) continue;
      const int64_t len = uniform_int(rng_, kMinSpan, max_len);
      const int64_t lag = uniform_int(rng_, 0, std::min(avail - len, d - marker - len));
      const int64_t source = pos() - len - lag;
      const int64_t start = source + d - marker;
      std::string text = kCopyMarker +
                         out_.substr(static_cast<size_t>(source), static_cast<size_t>(len)) +
                         separator();
      if (!can_reserve(start, static_cast<int64_t>(text.size()), pos())) continue;
      reserve({start, std::move(text), marker, source, len});
      filler_start_ = pos();  // the next copy takes newer text, not an overlapping span
      return true;
    }
    return false;
  }

  const LongRangeOptions& opt_;
  const std::vector<int64_t>& distances_;
  const int64_t index_;
  std::vector<PlantedRecall>* recalls_;
  Rng rng_;
  std::vector<std::string> topic_;
  std::set<std::string> names_;
  std::vector<Slot> slots_;  // sorted by start
  std::string out_;
  int64_t filler_start_ = 0;
};

}  // namespace

std::string longrange_name(std::mt19937_64& rng) {
  std::string name = syllable(rng) + syllable(rng);
  if (bernoulli(rng, 0.5)) name += syllable(rng);
  if (bernoulli(rng, 0.6)) name += pick(kCodas, rng);
  name[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[0])));
  return name;
}

std::vector<std::pair<std::string, int>> longrange_attributes() {
  std::vector<std::pair<std::string, int>> out;
  for (const auto& a : kAttributes) out.emplace_back(a.word, a.digits);
  return out;
}

std::vector<Document> generate_longrange(const LongRangeOptions& opt) {
  return generate_longrange(opt, nullptr);
}

std::vector<Document> generate_longrange(const LongRangeOptions& opt,
                                         std::vector<PlantedRecall>* recalls) {
  if (opt.docs < 0) throw DataError("builtin:longrange: docs must not be negative");
  if (!(opt.fact_rate >= 0 && opt.fact_rate <= 1) || !(opt.copy_rate >= 0 && opt.copy_rate <= 1)) {
    throw DataError("builtin:longrange: fact and copy rates must be in [0, 1]");
  }
  if (!(opt.jitter >= 0 && opt.jitter < 1)) {
    throw DataError("builtin:longrange: jitter must be in [0, 1), got " +
                    std::to_string(opt.jitter));
  }
  if (opt.doc_tokens < 16) {
    throw DataError("builtin:longrange: doc_tokens must be at least 16, got " +
                    std::to_string(opt.doc_tokens));
  }
  std::vector<int64_t> distances;
  for (int64_t d : opt.distances) {
    if (d > 0 && d <= opt.doc_tokens) distances.push_back(d);
  }
  if (recalls) recalls->clear();
  std::vector<Document> docs;
  docs.reserve(static_cast<size_t>(opt.docs));
  for (int64_t k = 0; k < opt.docs; ++k) {
    check_stop("generating builtin:longrange");
    DocumentBuilder builder(opt, distances, k, recalls);
    docs.push_back(
        {"builtin:longrange#" + std::to_string(k), ByteTokenizer::encode(builder.build())});
  }
  return docs;
}

}  // namespace ctx::data
