// Key-value retrieval prompts (lost in the middle, as CREAM uses it): random UUID pairs in one
// JSON object or spread through filler text, sized in the tokenizer's tokens.
#include <algorithm>
#include <cmath>
#include <functional>
#include <set>

#include "data/nl_prompt_parts.h"
#include "data/retrieval_prompts_nl.h"
#include "data/rng.h"

namespace ctx::data {
namespace {

using nl::Draft;
using nl::finish;
using nl::fit_pool;
using nl::refit_frozen;
using nl::too_short;

constexpr const char* kKvHeadPacked =
    "The JSON object below maps keys to values; all of them are random UUIDs. Find the key named "
    "at the end and give the value that belongs to it.";
constexpr const char* kKvHeadSpread =
    "Records of the form {\"key\": \"value\"}, with random UUIDs as keys and values, are scattered "
    "one per line through the text below. Find the record whose key is named at the end and give "
    "its value.";

constexpr size_t kGapSnap = 32;  // gaps move back to whitespace within this many bytes
constexpr int kMinPairs = 2;
constexpr int kMinSamples = 64;    // pair draws measured for the minimum length
constexpr int64_t kMinMargin = 2;  // tokens added to it: other draws tokenize a little longer

bool is_space(char c) {
  return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

std::string uuid4(std::mt19937_64& g) {
  static const char* hex = "0123456789abcdef";
  uint64_t w[2] = {g(), g()};
  w[0] = (w[0] & ~uint64_t{0xF000}) | 0x4000;                  // version 4
  w[1] = (w[1] & ~(uint64_t{3} << 62)) | (uint64_t{2} << 62);  // variant 10xx
  std::string s;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) s += '-';
    const uint64_t word = w[i / 16];
    s += hex[(word >> (60 - 4 * (i % 16))) & 0xF];
  }
  return s;
}

struct KvPair {
  std::string key, value;
  std::string json() const { return "\"" + key + "\": \"" + value + "\""; }
};

// Pairs drawn on demand from their own generator: pair i is the same whatever else is drawn.
class PairStream {
 public:
  explicit PairStream(uint64_t seed) : g_(seed) {}
  const KvPair& operator[](int64_t i) {
    while (static_cast<int64_t>(pairs_.size()) <= i) {
      KvPair p{fresh(), fresh()};
      pairs_.push_back(std::move(p));
    }
    return pairs_[static_cast<size_t>(i)];
  }

 private:
  std::string fresh() {
    for (;;) {
      std::string u = uuid4(g_);
      if (seen_.insert(u).second) return u;
    }
  }
  std::mt19937_64 g_;
  std::vector<KvPair> pairs_;
  std::set<std::string> seen_;
};

std::string kv_question(const KvPair& p) {
  return "Key: \"" + p.key + "\"\nValue:";
}

std::string kv_completion(const KvPair& p) {
  return " \"" + p.value + "\"";
}

int64_t kv_index(double position, int64_t pairs) {
  const auto i = static_cast<int64_t>(std::floor(position * static_cast<double>(pairs)));
  return std::clamp<int64_t>(i, 0, pairs - 1);
}

// All pairs in one JSON object after the instruction; the n filler bytes between the two.
Draft kv_packed_draft(PairStream& ps, int64_t pairs, int64_t index, const std::string& pool,
                      size_t n) {
  Draft d;
  d.text = std::string(kKvHeadPacked) + "\n\n";
  d.filler_begin = d.text.size();
  if (n > 0) d.text.append(pool, 0, n).append("\n\n");
  d.filler_end = d.text.size();
  d.text += "JSON data:\n{";
  for (int64_t i = 0; i < pairs; ++i) {
    if (i > 0) d.text += ",\n ";
    if (i == index) d.fact_begin = d.text.size();
    d.text += ps[i].json();
    if (i == index) d.fact_end = d.text.size();
  }
  d.text += "}\n\n" + kv_question(ps[index]);
  return d;
}

std::string trimmed(std::string_view s) {
  size_t a = 0, b = s.size();
  while (a < b && is_space(s[a])) ++a;
  while (b > a && is_space(s[b - 1])) --b;
  return std::string(s.substr(a, b - a));
}

// Where the filler of n bytes is cut into pairs + 1 even gaps: cut i (1..pairs) near i * n /
// (pairs + 1), moved back to just after whitespace within kGapSnap bytes.
std::vector<size_t> spread_cuts(const std::string& pool, size_t n, int64_t pairs) {
  const std::string_view hay = std::string_view(pool).substr(0, n);
  std::vector<size_t> cuts;
  for (int64_t i = 1; i <= pairs; ++i) {
    const auto c = static_cast<size_t>(static_cast<double>(n) * static_cast<double>(i) /
                                       static_cast<double>(pairs + 1));
    size_t at = utf8_floor(hay, c);
    for (size_t q = c; q + kGapSnap >= c && q > 0; --q)
      if (is_space(hay[q - 1])) {
        at = q;
        break;
      }
    cuts.push_back(std::max(cuts.empty() ? 0 : cuts.back(), at));
  }
  return cuts;
}

// One-pair objects on their own lines between the gaps of pool[:n] (cuts clamped to n).
Draft kv_spread_draft(PairStream& ps, int64_t pairs, int64_t index, const std::string& pool,
                      size_t n, const std::vector<size_t>& cuts) {
  const std::string_view hay = std::string_view(pool).substr(0, n);
  Draft d;
  d.text = std::string(kKvHeadSpread) + "\n\n";
  d.filler_begin = d.text.size();
  size_t from = 0;
  for (int64_t i = 0; i <= pairs; ++i) {
    const size_t to = i < pairs ? std::min(n, cuts[static_cast<size_t>(i)]) : n;
    const std::string gap = trimmed(hay.substr(from, std::max(from, to) - from));
    from = std::max(from, to);
    if (!gap.empty()) d.text.append(gap).append("\n");
    if (i == pairs) break;
    if (i == index) d.fact_begin = d.text.size();
    d.text.append("{").append(ps[i].json()).append("}");
    if (i == index) d.fact_end = d.text.size();
    d.text += "\n";
  }
  d.filler_end = d.text.size();
  d.text += "\n" + kv_question(ps[index]);
  return d;
}

// Key-value prompts: the pairs, the filler pool and the search for their sizes.
class KvBuilder {
 public:
  KvBuilder(const TextFiller& f, const Tokenizer& tok, std::mt19937_64& rng, int64_t length,
            int64_t pairs, double position)
      : tok_(tok),
        enc_(tok),
        ps_(rng()),
        length_(length),
        target_(length + 1),
        given_(pairs),
        position_(position) {
    const size_t start = f.random_start(rng);
    take_ = [&f, start](size_t n) { return f.take(start, n); };
  }

  RetrievalPrompt build() {
    const int64_t base = measure(given_ > 0 ? given_ : kMinPairs, 0);
    if (base > target_) {
      if (given_ > 0)
        throw DataError("kvretrieval: " + std::to_string(given_) + " pairs do not fit in length " +
                        std::to_string(length_) + " (about " + std::to_string(fitting_pairs()) +
                        " do)");
      too_short("kvretrieval", length_,
                std::max(base - 1, min_nl_prompt_length(tok_, "kvretrieval")));
    }
    given_ > 0 ? fit_spread() : fit_packed();
    const int64_t index = kv_index(position_, pairs_);
    const Draft d = draft(pairs_, static_cast<size_t>(fit_.amount));
    const KvPair& asked = ps_[index];
    RetrievalPrompt p = finish(enc_, d, kv_completion(asked), "kvretrieval", length_);
    const std::string_view record = std::string_view(d.text).substr(0, d.text.rfind("\nKey: \""));
    if (count_occurrences(d.text, asked.value) != 1 || count_occurrences(record, asked.key) != 1)
      throw DataError("kvretrieval: the filler repeats the asked key or value " + asked.key);
    p.answer = asked.value;
    p.statement = given_ > 0 ? "{" + asked.json() + "}" : asked.json();
    p.pair_index = index;
    p.pairs = pairs_;
    p.depth = (static_cast<double>(index) + 0.5) / static_cast<double>(pairs_);
    return p;
  }

 private:
  // Spread layout: cuts_ follow n until frozen.
  Draft draft(int64_t N, size_t n) {
    const int64_t index = kv_index(position_, N);
    if (given_ == 0) return kv_packed_draft(ps_, N, index, pool_, n);
    return kv_spread_draft(ps_, N, index, pool_, n, frozen_ ? cuts_ : spread_cuts(pool_, n, N));
  }
  int64_t measure(int64_t N, size_t n) {
    return enc_.count(draft(N, n).text + kv_completion(ps_[kv_index(position_, N)]));
  }
  int64_t tokens_per_pair() {
    return std::max<int64_t>(1, (measure(kMinPairs + 8, 0) - measure(kMinPairs, 0)) / 8);
  }
  int64_t fitting_pairs() {
    return std::max<int64_t>(0, kMinPairs + (target_ - measure(kMinPairs, 0)) / tokens_per_pair());
  }

  // As many pairs as fit without filler, then the filler; a record that cannot be filled exactly
  // gives up a pair or two.
  void fit_packed() {
    const AmountFn extra = [&](int64_t m) { return measure(kMinPairs + m, 0); };
    const AmountFn whole = [](int64_t m) { return m; };
    const double per_token = 1.0 / static_cast<double>(tokens_per_pair());
    const int64_t most = kMinPairs + fit_amount(extra, target_, target_, per_token, whole).amount;
    FitResult best{0, -1, false};
    std::string best_pool;
    for (int64_t N = most; N >= std::max<int64_t>(kMinPairs, most - 2); --N) {
      const AmountFn count = [&](int64_t n) { return measure(N, static_cast<size_t>(n)); };
      const FitResult r = fit_pool(tok_, take_, pool_, count, target_, "kvretrieval");
      if (r.count <= target_ && r.count > best.count) {
        best = r;
        pairs_ = N;
        best_pool = pool_;
      }
      if (r.count == target_) break;
    }
    fit_ = best;
    pool_ = std::move(best_pool);
  }

  // The given pairs with the filler cut evenly around them. The cuts are then frozen for a last
  // search of the end; when that does not fit exactly, the cuts of nearby amounts are tried (other
  // words on either side of the pairs).
  void fit_spread() {
    pairs_ = given_;
    const AmountFn count = [&](int64_t n) { return measure(pairs_, static_cast<size_t>(n)); };
    const FitResult first = fit_pool(tok_, take_, pool_, count, target_, "kvretrieval");
    frozen_ = true;
    FitResult best{0, -1, false};
    std::vector<size_t> best_cuts;
    for (int64_t shift : {0, 16, -16, 32, -32, 48, -48}) {
      const int64_t at =
          std::clamp<int64_t>(first.amount + shift, 0, static_cast<int64_t>(pool_.size()));
      cuts_ = spread_cuts(pool_, static_cast<size_t>(at), pairs_);
      FitResult r = first;
      if (shift != 0) r.count = count(r.amount);
      r = refit_frozen(count, pool_, target_, r);
      if (r.count <= target_ && r.count > best.count) {
        best = r;
        best_cuts = cuts_;
      }
      if (best.count == target_) break;
    }
    cuts_ = std::move(best_cuts);
    fit_ = best;
  }

  const Tokenizer& tok_;
  PromptEncoder enc_;
  PairStream ps_;
  std::function<std::string(size_t)> take_;
  int64_t length_, target_, given_;
  double position_;
  std::string pool_;
  int64_t pairs_ = 0;
  FitResult fit_;
  std::vector<size_t> cuts_;
  bool frozen_ = false;
};

}  // namespace

RetrievalPrompt make_nl_kv_prompt(const TextFiller& f, const Tokenizer& tok, std::mt19937_64& rng,
                                  int64_t length, int64_t pairs, double position) {
  if (pairs < 0) throw DataError("kvretrieval: pairs " + std::to_string(pairs) + " is negative");
  if (std::isnan(position)) throw DataError("kvretrieval: position is not a number");
  return KvBuilder(f, tok, rng, length, pairs, position).build();
}

int64_t nl::kv_min_length(const PromptEncoder& enc) {
  int64_t most = 0;
  for (int s = 0; s < kMinSamples; ++s) {
    PairStream ps(static_cast<uint64_t>(s));
    for (int64_t index = 0; index < kMinPairs; ++index)
      most = std::max(most, enc.count(kv_packed_draft(ps, kMinPairs, index, "", 0).text +
                                      kv_completion(ps[index])));
  }
  return most - 1 + kMinMargin;
}

}  // namespace ctx::data
