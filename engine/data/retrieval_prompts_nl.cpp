// Natural-language passkey and needle prompts, sized by measuring the assembled text in the
// tokenizer's tokens (prompt_fit.h), the minimum lengths and the scorers; key-value prompts are in
// kv_prompts_nl.cpp. The prose is our own wording of the papers' formats (METHODS.md §9).
#include "data/retrieval_prompts_nl.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <optional>

#include "data/nl_prompt_parts.h"
#include "data/rng.h"

namespace ctx::data {
namespace {

using nl::Draft;
using nl::finish;
using nl::fit_pool;
using nl::realised_depth;
using nl::refit_frozen;
using nl::too_short;

constexpr const char* kPasskeyHead =
    "Somewhere in the long text below, among many sentences that do not matter, one important "
    "piece of information is hidden. Find it and remember it: you will be asked about it at the "
    "end.";
constexpr const char* kPasskeyBlock =
    "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";
constexpr const char* kPasskeyQuestion = "Which number is the pass key? The pass key is";
constexpr int64_t kPasskeyMax = 50000;  // YaRN/PoSE: random.randint(1, 50000)

constexpr const char* kNeedleHead =
    "Below is a long document. Read it carefully: a question about its content follows at the end.";
constexpr const char* kNeedle =
    "The best thing to do in San Francisco is to eat a sandwich and sit in Dolores Park on a sunny "
    "day.";
constexpr const char* kNeedleQuestion =
    "Question: What is the best thing to do in San Francisco, according to the document?\n"
    "Answer: The best thing to do in San Francisco is to";
constexpr const char* kNeedleCompletion = " eat a sandwich and sit in Dolores Park on a sunny day.";
constexpr const char* kNeedleAnswer = "Dolores Park";
constexpr size_t kSentenceSnap = 1024;  // bytes searched each way for a sentence end
constexpr int kNeedleStarts = 8;        // haystacks tried for an exact fit without "Dolores Park"

bool is_space(char c) {
  return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

double draw_depth(std::mt19937_64& rng, double depth, const char* task) {
  if (std::isnan(depth)) throw DataError(std::string(task) + ": depth is not a number");
  if (depth < 0) depth = uniform_unit(rng);
  return std::min(depth, 1.0);
}

// ---- passkey ----

std::string passkey_pool(size_t bytes) {
  std::string s;
  while (s.size() < bytes) {
    if (!s.empty()) s += ' ';
    s += kPasskeyBlock;
  }
  return s;
}

std::string passkey_line(const std::string& key) {
  return "The pass key is " + key + ". Remember it well. " + key + " is the pass key.";
}

// Of n bytes of filler, the part before the key line: up to the sentence end nearest to depth * n.
size_t passkey_split(const std::string& pool, size_t n, double depth) {
  if (depth <= 0) return 0;
  if (depth >= 1) return n;
  return nearest_sentence_end(std::string_view(pool).substr(0, n),
                              static_cast<size_t>(std::llround(depth * static_cast<double>(n))),
                              kSentenceSnap);
}

// `before` bytes of the block, the key line, then the rest of the n bytes from the block's start.
Draft passkey_draft(const std::string& pool, size_t n, size_t before, const std::string& line) {
  before = std::min(before, n);
  Draft d;
  d.text = std::string(kPasskeyHead) + "\n";
  d.filler_begin = d.text.size();
  if (before > 0) d.text.append(pool, 0, before).append("\n");
  d.fact_begin = d.text.size();
  d.text.append(line).append("\n");
  d.fact_end = d.text.size();
  if (n > before) d.text.append(pool, 0, n - before).append("\n");
  d.filler_end = d.text.size();
  d.text += kPasskeyQuestion;
  return d;
}

int64_t passkey_fixed_tokens(const PromptEncoder& enc, const std::string& key) {
  return enc.count(passkey_draft("", 0, 0, passkey_line(key)).text + " " + key + ".");
}

// ---- needle ----

// The needle goes at byte `at` of the n-byte haystack: after a sentence end, with a space before
// it (or first, with a space after it).
Draft needle_draft(const std::string& pool, size_t n, size_t at) {
  at = std::min(at, n);
  Draft d;
  d.text = std::string(kNeedleHead) + "\n\n";
  d.filler_begin = d.text.size();
  d.text.append(pool, 0, at);
  if (at > 0 && !is_space(pool[at - 1])) d.text += ' ';
  d.fact_begin = d.text.size();
  d.text += kNeedle;
  d.fact_end = d.text.size();
  if (at == 0 && n > 0 && !is_space(pool[0])) d.text += ' ';
  d.text.append(pool, at, n - at);
  d.filler_end = d.text.size();
  d.text.append("\n\n").append(kNeedleQuestion);
  return d;
}

size_t needle_byte_depth(const std::string& pool, size_t n, double depth) {
  if (depth <= 0) return 0;
  if (depth >= 1) return n;
  return nearest_sentence_end(std::string_view(pool).substr(0, n),
                              static_cast<size_t>(std::llround(depth * static_cast<double>(n))),
                              kSentenceSnap);
}

// The sentence end nearest to the exact token depth of the haystack pool[:n] (encoded alone).
size_t needle_token_depth(const Tokenizer& tok, const std::string& pool, size_t n, double depth) {
  const std::string hay = pool.substr(0, n);
  const auto ids = tok.encode(hay, false);
  const auto k = static_cast<size_t>(std::llround(depth * static_cast<double>(ids.size())));
  const std::vector<Token> head(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(k));
  const size_t byte = std::min(n, tok.decode(head, true).size());
  return nearest_sentence_end(hay, byte, kSentenceSnap);
}

struct NeedleFit {
  Draft draft;
  int64_t count = 0;
  bool mentions_answer = false;
};

// The haystack from `start` sized with the needle at the byte depth, then the needle moved to the
// sentence end nearest to the token depth of that haystack and frozen there for a last search.
NeedleFit fit_needle(const TextFiller& f, const Tokenizer& tok, const PromptEncoder& enc,
                     size_t start, int64_t length, double depth) {
  const int64_t target = length + 1;
  const auto take = [&](size_t n) { return f.take(start, n); };
  std::string pool;
  const auto measure = [&](int64_t n, size_t at) {
    return enc.count(needle_draft(pool, static_cast<size_t>(n), at).text + kNeedleCompletion);
  };
  const AmountFn count = [&](int64_t n) {
    return measure(n, needle_byte_depth(pool, static_cast<size_t>(n), depth));
  };
  FitResult r = fit_pool(tok, take, pool, count, target, "needle");
  if (r.count > target)
    too_short("needle", length, std::max(r.count - 1, min_nl_prompt_length(tok, "needle")));
  const auto first = static_cast<size_t>(r.amount);
  const size_t exact = depth > 0 && depth < 1 ? needle_token_depth(tok, pool, first, depth) : 0;
  const auto place = [&](int64_t n) { return depth >= 1 ? static_cast<size_t>(n) : exact; };
  const AmountFn frozen = [&](int64_t n) { return measure(n, place(n)); };
  if (place(r.amount) != needle_byte_depth(pool, first, depth)) r.count = frozen(r.amount);
  r = refit_frozen(frozen, pool, target, r);
  const auto n = static_cast<size_t>(r.amount);
  NeedleFit out;
  out.draft = needle_draft(pool, n, place(r.amount));
  out.count = r.count <= target ? r.count : -1;
  out.mentions_answer = lower(pool.substr(0, n)).find("dolores park") != std::string::npos;
  return out;
}

}  // namespace

RetrievalPrompt make_nl_passkey_prompt(const Tokenizer& tok, std::mt19937_64& rng, int64_t length,
                                       double depth) {
  depth = draw_depth(rng, depth, "passkey");
  const std::string key = std::to_string(uniform_int(rng, 1, kPasskeyMax));
  const std::string line = passkey_line(key), completion = " " + key + ".";
  const PromptEncoder enc(tok);
  std::string pool;
  const auto measure = [&](int64_t n, size_t before) {
    return enc.count(passkey_draft(pool, static_cast<size_t>(n), before, line).text + completion);
  };
  const AmountFn count = [&](int64_t n) {
    return measure(n, passkey_split(pool, static_cast<size_t>(n), depth));
  };
  FitResult r = fit_pool(tok, passkey_pool, pool, count, length + 1, "passkey");
  if (r.count > length + 1)
    too_short("passkey", length, std::max(r.count - 1, min_nl_prompt_length(tok, "passkey")));
  const size_t split = passkey_split(pool, static_cast<size_t>(r.amount), depth);
  const auto before = [&](int64_t n) { return depth >= 1 ? static_cast<size_t>(n) : split; };
  const AmountFn frozen = [&](int64_t n) { return measure(n, before(n)); };
  r = refit_frozen(frozen, pool, length + 1, r);
  const Draft d = passkey_draft(pool, static_cast<size_t>(r.amount), before(r.amount), line);
  RetrievalPrompt p = finish(enc, d, completion, "passkey", length);
  p.answer = key;
  p.statement = line;
  p.depth = realised_depth(enc, p, d);
  return p;
}

RetrievalPrompt make_nl_needle_prompt(const TextFiller& f, const Tokenizer& tok,
                                      std::mt19937_64& rng, int64_t length, double depth) {
  depth = draw_depth(rng, depth, "needle");
  const PromptEncoder enc(tok);
  // Haystacks from the drawn start, then from the sentence starts after it: the first that fits
  // exactly and does not mention Dolores Park, else the closest fit.
  size_t start = f.random_start(rng);
  std::optional<NeedleFit> best;
  for (int k = 0; k < kNeedleStarts; ++k, start = f.start_after(start + 1)) {
    NeedleFit fit = fit_needle(f, tok, enc, start, length, depth);
    if (fit.mentions_answer) continue;
    if (!best || fit.count > best->count) best = std::move(fit);
    if (best->count == length + 1) break;
  }
  if (!best)
    throw DataError("needle: the filler mentions \"Dolores Park\" in each of " +
                    std::to_string(kNeedleStarts) + " haystacks tried" +
                    (f.source().empty() ? "" : " (" + f.source() + ")"));
  RetrievalPrompt p = finish(enc, best->draft, kNeedleCompletion, "needle", length);
  p.answer = kNeedleAnswer;
  p.statement = kNeedle;
  p.depth = realised_depth(enc, p, best->draft);
  return p;
}

int64_t min_nl_prompt_length(const Tokenizer& tok, const std::string& task) {
  const PromptEncoder enc(tok);
  constexpr int kSamples = 64;
  constexpr int64_t kMargin = 2;
  if (task == "needle") return enc.count(needle_draft("", 0, 0).text + kNeedleCompletion) - 1;
  if (task == "passkey") {
    int64_t most = 0;
    for (int64_t k : {1, 9, 10, 99, 100, 999, 1000, 9999, 10000, 49999, 50000})
      most = std::max(most, passkey_fixed_tokens(enc, std::to_string(k)));
    std::mt19937_64 g(kSamples);
    for (int i = 0; i < kSamples; ++i)
      most =
          std::max(most, passkey_fixed_tokens(enc, std::to_string(uniform_int(g, 1, kPasskeyMax))));
    return most - 1 + kMargin;
  }
  if (task == "kvretrieval") return nl::kv_min_length(enc);
  throw DataError("retrieval task \"" + task + "\" is not one of passkey, needle, kvretrieval");
}

bool score_passkey_answer(const std::string& generated, const std::string& key) {
  return score_answer(generated, key);
}

bool score_needle_answer(const std::string& generated) {
  std::string s;
  for (char c : generated) {
    if (is_space(c)) {
      if (!s.empty() && s.back() != ' ') s += ' ';
    } else {
      s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  return s.find("dolores park") != std::string::npos;
}

bool score_kv_answer(const std::string& generated, const std::string& value) {
  if (value.empty()) return false;
  // Not part of a longer run of UUID characters (hex digits and dashes).
  const auto uuid_char = [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == '-';
  };
  for (size_t at = generated.find(value); at != std::string::npos;
       at = generated.find(value, at + 1)) {
    const size_t end = at + value.size();
    if ((at == 0 || !uuid_char(generated[at - 1])) &&
        (end == generated.size() || !uuid_char(generated[end])))
      return true;
  }
  return false;
}

bool score_nl_answer(const std::string& task, const std::string& generated,
                     const std::string& answer) {
  if (task == "passkey") return score_passkey_answer(generated, answer);
  if (task == "needle") return score_needle_answer(generated);
  if (task == "kvretrieval") return score_kv_answer(generated, answer);
  throw DataError("retrieval task \"" + task + "\" is not one of passkey, needle, kvretrieval");
}

}  // namespace ctx::data
