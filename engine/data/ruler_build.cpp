// Sizing of the RULER-style prompts: text haystacks with planted statements, growing lists, and the
// finished prompt with its measured size, statement positions and depth.
#include "data/ruler_build.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "data/longrange_corpus.h"
#include "data/nl_prompt_parts.h"
#include "data/retrieval_prompts_nl.h"

namespace ctx::data::ruler {
namespace {

constexpr size_t kSentenceSnap = 1024;  // bytes searched each way for a sentence end
constexpr const char* kNoiseBlock =
    "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";

bool is_space(char c) {
  return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

[[noreturn]] void too_short(const Measure& m, const std::string& task, int64_t length,
                            int64_t need) {
  throw DataError(task + ": length " + std::to_string(length) +
                  " cannot hold the prompt (needs at least " + std::to_string(need) + " tokens" +
                  (m.byte_level() ? "" : " with this tokenizer") + ")");
}

// Byte position in pool[:n] for a depth: the sentence end nearest to depth * n.
size_t position_for(const std::string& pool, size_t n, double depth) {
  if (depth <= 0) return 0;
  if (depth >= 1) return n;
  return nearest_sentence_end(std::string_view(pool).substr(0, n),
                              static_cast<size_t>(std::llround(depth * static_cast<double>(n))),
                              kSentenceSnap);
}

// pool[:n] with statement i at byte at[i], in order of position (then of index).
Draft text_draft(const TextPromptSpec& spec, bool byte_level, const std::string& pool, size_t n,
                 const std::vector<size_t>& at) {
  Draft d;
  if (!byte_level && !spec.head.empty()) d.text = spec.head + "\n";
  d.hay_begin = d.text.size();
  std::vector<size_t> order(spec.statements.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return at[a] < at[b]; });
  d.marks.assign(order.size(), 0);
  d.ends.assign(order.size(), 0);
  size_t from = 0;
  for (size_t i : order) {
    const size_t p = std::min(at[i], n);
    d.text.append(pool, from, p - from);
    from = p;
    if (d.text.size() > d.hay_begin && !is_space(d.text.back())) d.text += ' ';
    d.marks[i] = d.text.size();
    d.text += spec.statements[i].text;
    d.ends[i] = d.text.size();
    if (p < n && !is_space(pool[p])) d.text += ' ';
  }
  d.text.append(pool, from, n - from);
  d.hay_end = d.text.size();
  if (byte_level) {
    d.text = separated(d.text);
  } else {
    d.text += "\n";
  }
  d.text += spec.question;
  return d;
}

}  // namespace

Measure::Measure(const Tokenizer* tok) : tok_(tok) {
  if (tok_ && tok_->kind() != "byte") {
    enc_.emplace(*tok_);
  } else {
    tok_ = byte_tokenizer().get();  // a process-wide singleton
  }
}

std::vector<Token> Measure::encode(std::string_view text) const {
  return enc_ ? enc_->encode(text) : ByteTokenizer::encode(text);
}

int64_t Measure::count(std::string_view text) const {
  return enc_ ? enc_->count(text) : static_cast<int64_t>(text.size());
}

int64_t Measure::boundary(const std::vector<Token>& full, std::string_view prefix) const {
  return enc_ ? enc_->boundary(full, prefix) : static_cast<int64_t>(prefix.size());
}

RulerPrompt build_text_prompt(const Measure& m, const TextPromptSpec& spec, const std::string& task,
                              int64_t length) {
  const int64_t target = length + 1;
  const bool bytes = m.byte_level();
  std::string pool;
  if (length == kMinimal) {
    const std::vector<size_t> none(spec.statements.size(), 0);
    const Draft d = text_draft(spec, bytes, pool, 0, none);
    RulerPrompt p = finish(m, d, spec.completion, task, length, 0);
    p.depth = realised_depth(m, p, d);
    return p;
  }
  const auto positions = [&](int64_t n) {
    std::vector<size_t> at;
    for (const auto& s : spec.statements)
      at.push_back(position_for(pool, static_cast<size_t>(n), s.depth));
    return at;
  };
  const auto measure = [&](int64_t n, const std::vector<size_t>& at) {
    return m.count(text_draft(spec, bytes, pool, static_cast<size_t>(n), at).text +
                   spec.completion);
  };
  const AmountFn follow = [&](int64_t n) { return measure(n, positions(n)); };
  FitResult r = nl::fit_pool(m.tokenizer(), spec.take, pool, follow, target, task);
  if (r.count > target) too_short(m, task, length, r.count - 1);
  // Freeze the statements where the first fit put them (those at depth 1 stay at the end).
  const std::vector<size_t> first = positions(r.amount);
  const auto frozen_at = [&](int64_t n) {
    std::vector<size_t> at = first;
    for (size_t i = 0; i < at.size(); ++i)
      at[i] = spec.statements[i].depth >= 1 ? static_cast<size_t>(n)
                                            : std::min(at[i], static_cast<size_t>(n));
    return at;
  };
  const AmountFn frozen = [&](int64_t n) { return measure(n, frozen_at(n)); };
  r.count = frozen(r.amount);
  r = nl::refit_frozen(frozen, pool, target, r);
  const Draft d = text_draft(spec, bytes, pool, static_cast<size_t>(r.amount), frozen_at(r.amount));
  RulerPrompt p = finish(m, d, spec.completion, task, length, kNlLengthSlack);
  for (size_t i = 0; i < spec.statements.size(); ++i) p.needles[i].text = spec.statements[i].text;
  p.depth = realised_depth(m, p, d);
  return p;
}

RulerPrompt build_list_prompt(const Measure& m, const ListDraft& draft,
                              const std::string& completion, int64_t min_items,
                              const std::string& task, int64_t length, Draft* chosen) {
  if (length == kMinimal) {
    const Draft d = draft(min_items);
    if (chosen) *chosen = d;
    return finish(m, d, completion, task, length, 0);
  }
  const int64_t target = length + 1;
  const AmountFn count = [&](int64_t k) { return m.count(draft(min_items + k).text + completion); };
  const int64_t c0 = count(0);
  if (c0 > target) too_short(m, task, length, c0 - 1);
  const int64_t per_item = std::max<int64_t>(1, (count(8) - c0) / 8);
  const AmountFn whole = [](int64_t k) { return k; };
  const int64_t most = (target - c0) / 1 + 1;  // every item adds at least one token
  const FitResult r =
      fit_amount(count, target, most, 1.0 / static_cast<double>(per_item), whole);
  const Draft d = draft(min_items + r.amount);
  if (chosen) *chosen = d;
  return finish(m, d, completion, task, length, 4 * per_item + kNlLengthSlack);
}

RulerPrompt finish(const Measure& m, const Draft& d, const std::string& completion,
                   const std::string& task, int64_t length, int64_t max_slack) {
  RulerPrompt p;
  p.text = d.text;
  p.completion = completion;
  p.tokens = m.encode(d.text);
  const int64_t total = m.count(d.text + completion);
  p.new_tokens = total - static_cast<int64_t>(p.tokens.size());
  p.slack = length == kMinimal ? 0 : length + 1 - total;
  if (length != kMinimal && (p.slack < 0 || p.slack > max_slack || p.new_tokens < 1))
    throw DataError(task + ": could not size the prompt to length " + std::to_string(length) +
                    " (prompt " + std::to_string(p.tokens.size()) + " + answer " +
                    std::to_string(p.new_tokens) + " tokens)");
  for (size_t i = 0; i < d.marks.size(); ++i) {
    RulerNeedle n;
    n.text = d.text.substr(d.marks[i], d.ends[i] - d.marks[i]);
    n.pos = m.boundary(p.tokens, std::string_view(d.text).substr(0, d.marks[i]));
    p.needles.push_back(std::move(n));
  }
  return p;
}

double realised_depth(const Measure& m, const RulerPrompt& p, const Draft& d) {
  if (d.marks.empty()) return -1;
  const std::string_view t = d.text;
  const int64_t begin = m.boundary(p.tokens, t.substr(0, d.hay_begin));
  const int64_t end = m.boundary(p.tokens, t.substr(0, d.hay_end));
  int64_t inside = 0, before = 0;
  for (size_t i = 0; i < d.marks.size(); ++i) {
    const int64_t n = m.boundary(p.tokens, t.substr(0, d.ends[i])) - p.needles[i].pos;
    inside += n;
    if (i > 0 && d.marks[i] < d.marks[0]) before += n;
  }
  const int64_t filler = end - begin - inside;
  if (filler <= 0) return 0;
  return std::clamp(static_cast<double>(p.needles[0].pos - begin - before) /
                        static_cast<double>(filler),
                    0.0, 1.0);
}

std::string separated(const std::string& s) {
  return s.empty() || is_space(s.back()) ? s : s + " ";
}

std::string noise_text(size_t bytes) {
  std::string s;
  while (s.size() < bytes) {
    if (!s.empty()) s += ' ';
    s += kNoiseBlock;
  }
  return s;
}

const TextFiller& essay_filler() {
  static const TextFiller essay = [] {
    LongRangeOptions o;
    o.seed = 20240406;  // fixed: every run and every seed reads the same essays
    o.docs = 32;
    o.doc_tokens = 16384;
    o.fact_rate = 0;
    o.copy_rate = 0;
    o.distances.clear();
    std::string text;
    for (const auto& d : generate_longrange(o)) {
      if (!text.empty()) text += '\n';
      text += ByteTokenizer::decode(d.tokens);
    }
    return TextFiller(std::move(text), "essay-like prose (builtin:longrange filler)");
  }();
  return essay;
}

}  // namespace ctx::data::ruler
