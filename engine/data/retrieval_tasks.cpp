// Prompt generators and the scorer for passkey, needle and key-value retrieval. Sizes are counted
// in bytes (= tokens of the byte-level tokenizer), so every length is exact.
#include "data/retrieval_tasks.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "data/longrange_corpus.h"
#include "data/rng.h"

namespace ctx::data {
namespace {

constexpr int64_t kSnap = 32;     // how far back a statement may move to start after whitespace
constexpr int64_t kMaxName = 13;  // 3 syllables of up to 4 bytes and a coda (longrange_name)

bool space(char c) {
  return c == ' ' || c == '\n';
}

struct Fact {
  std::string name, attribute, value;
  std::string statement() const {
    return "the " + attribute + " of " + name + " is " + value + ". ";
  }
  std::string question() const {
    return std::string(kLongRangeRecallMarker) + "the " + attribute + " of " + name + " is ";
  }
};

// A fact whose name the filler never mentions and that no other fact of the prompt uses.
Fact draw_fact(const Filler& f, std::mt19937_64& rng, const std::string& attribute, int digits,
               std::set<std::string>* used = nullptr) {
  Fact x;
  x.attribute = attribute;
  for (;;) {
    x.name = longrange_name(rng);
    if (used && used->count(x.name)) continue;
    if (f.contains(" " + x.name + " ")) continue;
    break;
  }
  if (used) used->insert(x.name);
  for (int i = 0; i < digits; ++i) x.value += static_cast<char>('0' + uniform_below(rng, 10));
  return x;
}

std::pair<std::string, int> random_attribute(std::mt19937_64& rng) {
  static const auto attrs = longrange_attributes();
  return pick(attrs, rng);
}

std::string as_text(const std::vector<Token>& t) {
  std::string s(t.size(), '\0');
  for (size_t i = 0; i < t.size(); ++i) s[i] = static_cast<char>(t[i]);
  return s;
}

RetrievalPrompt finish(const std::string& context, const Fact& fact, int64_t fact_pos) {
  RetrievalPrompt p;
  p.tokens = ByteTokenizer::encode(context + fact.question());
  p.answer = fact.value;
  p.new_tokens = static_cast<int64_t>(fact.value.size()) + 1;
  p.fact_pos = fact_pos;
  p.statement = fact.statement();
  return p;
}

void too_short(const std::string& task, int64_t length, int64_t need) {
  throw DataError(task + ": length " + std::to_string(length) +
                  " cannot hold the prompt (needs at least " + std::to_string(need) + " tokens)");
}

RetrievalPrompt depth_prompt(const std::string& task, const Filler& f, std::mt19937_64& rng,
                             int64_t length, double depth, const std::string& attribute,
                             int digits) {
  if (depth < 0) depth = uniform_unit(rng);
  depth = std::clamp(depth, 0.0, 1.0);
  const Fact fact = draw_fact(f, rng, attribute, digits);
  const std::string st = fact.statement();
  const int64_t n = length - static_cast<int64_t>(fact.value.size()) -
                    static_cast<int64_t>(fact.question().size()) - static_cast<int64_t>(st.size());
  if (n < 0) too_short(task, length, min_prompt_length(task));
  std::string hay = as_text(f.take(rng, n));
  const auto target = static_cast<int64_t>(std::llround(depth * static_cast<double>(n)));
  int64_t at = target;
  for (int64_t p = target; p >= std::max<int64_t>(0, target - kSnap); --p) {
    if (p == 0 || space(hay[static_cast<size_t>(p - 1)])) {
      at = p;
      break;
    }
  }
  // The question starts a unit too: the context before it ends with a separator.
  if (at < n && !space(hay.back())) hay.back() = ' ';
  std::string context =
      hay.substr(0, static_cast<size_t>(at)) + st + hay.substr(static_cast<size_t>(at));
  auto p = finish(context, fact, at);
  p.depth = n > 0 ? static_cast<double>(at) / static_cast<double>(n) : 0.0;
  return p;
}

}  // namespace

Filler::Filler(const std::vector<Document>& docs, std::string source) : source_(std::move(source)) {
  for (const auto& d : docs) {
    if (!text_.empty()) text_ += '\n';
    for (Token t : d.tokens)
      if (t >= 0 && t < 256) text_ += static_cast<char>(t);
  }
  if (text_.empty())
    throw DataError("filler: no text to build the prompts from" +
                    (source_.empty() ? "" : " (" + source_ + ")"));
}

std::vector<Token> Filler::take(std::mt19937_64& rng, int64_t n) const {
  std::vector<Token> out;
  out.reserve(static_cast<size_t>(std::max<int64_t>(n, 0)));
  const size_t size = text_.size();
  size_t i = static_cast<size_t>(uniform_below(rng, size));
  for (int64_t k = 0; k < n; ++k, i = (i + 1) % size)
    out.push_back(static_cast<unsigned char>(text_[i]));
  return out;
}

RetrievalPrompt make_passkey_prompt(const Filler& f, std::mt19937_64& rng, int64_t length,
                                    double depth) {
  return depth_prompt("passkey", f, rng, length, depth, "key", 5);
}

RetrievalPrompt make_needle_prompt(const Filler& f, std::mt19937_64& rng, int64_t length,
                                   double depth) {
  // The attribute is drawn before the depth so that a grid's cells share their facts per trial.
  auto [attribute, digits] = random_attribute(rng);
  return depth_prompt("needle", f, rng, length, depth, attribute, digits);
}

RetrievalPrompt make_kv_prompt(const Filler& f, std::mt19937_64& rng, int64_t length, int64_t pairs,
                               double position) {
  // Room for the question and answer of the longest fact, reserved before any pair is placed.
  const int64_t reserve =
      static_cast<int64_t>(std::string(kLongRangeRecallMarker).size()) + 14 + kMaxName + 4 + 6;
  const int64_t budget = length - reserve;
  std::set<std::string> used;
  std::vector<Fact> facts;
  int64_t bytes = 0;
  for (;;) {
    if (pairs > 0 && static_cast<int64_t>(facts.size()) == pairs) break;
    auto [attribute, digits] = random_attribute(rng);
    Fact x = draw_fact(f, rng, attribute, digits, &used);
    const int64_t n = static_cast<int64_t>(x.statement().size());
    if (bytes + n > budget) {
      if (pairs > 0)
        throw DataError("kvretrieval: " + std::to_string(pairs) + " pairs do not fit in length " +
                        std::to_string(length) + " (about " +
                        std::to_string(std::max<int64_t>(1, budget / 30)) + " do)");
      break;
    }
    bytes += n;
    facts.push_back(std::move(x));
  }
  if (facts.size() < 2) too_short("kvretrieval", length, min_prompt_length("kvretrieval"));
  const int64_t N = static_cast<int64_t>(facts.size());
  const int64_t index = std::clamp<int64_t>(
      static_cast<int64_t>(std::floor(position * static_cast<double>(N))), 0, N - 1);
  const Fact& asked = facts[static_cast<size_t>(index)];
  const int64_t context = length - static_cast<int64_t>(asked.question().size()) -
                          static_cast<int64_t>(asked.value.size());
  const int64_t fill = context - bytes;
  std::string hay = as_text(f.take(rng, fill));
  if (!hay.empty() && !space(hay.back())) hay.back() = ' ';
  // Auto-packed records put all filler first (a whole record, as in lost-in-the-middle); a given
  // number of pairs spreads it into N + 1 even gaps.
  std::string text;
  int64_t fact_pos = 0;
  size_t taken = 0;
  auto put_fill = [&](int64_t upto) {
    text += hay.substr(taken, static_cast<size_t>(upto) - taken);
    taken = static_cast<size_t>(upto);
  };
  for (int64_t i = 0; i < N; ++i) {
    put_fill(pairs > 0 ? fill * (i + 1) / (N + 1) : fill);
    if (i == index) fact_pos = static_cast<int64_t>(text.size());
    text += facts[static_cast<size_t>(i)].statement();
  }
  put_fill(fill);
  auto p = finish(text, asked, fact_pos);
  p.pair_index = index;
  p.pairs = N;
  p.depth = (static_cast<double>(index) + 0.5) / static_cast<double>(N);
  return p;
}

int64_t min_prompt_length(const std::string& task) {
  // Longest statement ("the number of <name> is <6 digits>. ") + longest question + answer + ".".
  const int64_t statement = 14 + kMaxName + 4 + 6 + 2;
  const int64_t question =
      static_cast<int64_t>(std::string(kLongRangeRecallMarker).size()) + 14 + kMaxName + 4;
  if (task == "kvretrieval") return question + 6 + 2 * statement;
  return question + 6 + statement;
}

bool score_answer(const std::string& generated, const std::string& answer) {
  size_t i = 0;
  while (i < generated.size() && !std::isdigit(static_cast<unsigned char>(generated[i]))) ++i;
  size_t j = i;
  while (j < generated.size() && std::isdigit(static_cast<unsigned char>(generated[j]))) ++j;
  return j > i && generated.compare(i, j - i, answer) == 0 && j - i == answer.size();
}

uint64_t trial_seed(uint64_t seed, const std::string& task, int64_t length, int64_t cell,
                    int64_t trial) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a of the task name: portable, unlike std::hash
  for (char c : task) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  auto mix = [](uint64_t x) {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
  };
  uint64_t s = mix(seed ^ h);
  for (int64_t v : {length, cell, trial}) s = mix(s ^ static_cast<uint64_t>(v));
  return s;
}

}  // namespace ctx::data
