// The sizing steps shared by the natural-language prompt generators (nl_prompt_parts.h).
#include "data/nl_prompt_parts.h"

#include <algorithm>

#include "data/retrieval_prompts_nl.h"

namespace ctx::data::nl {

[[noreturn]] void too_short(const std::string& task, int64_t length, int64_t need) {
  throw DataError(task + ": length " + std::to_string(length) +
                  " cannot hold the prompt (needs at least " + std::to_string(need) +
                  " tokens with this tokenizer)");
}

FitResult fit_pool(const Tokenizer& tok, const std::function<std::string(size_t)>& take,
                   std::string& pool, const AmountFn& count, int64_t target,
                   const std::string& task) {
  pool.clear();
  const int64_t c0 = count(0);
  if (c0 >= target) return {0, c0, false};
  const std::string sample = take(16384);
  const double bpt = bytes_per_token(tok, std::string_view(sample).substr(0, utf8_whole(sample)));
  auto bytes = static_cast<size_t>(static_cast<double>(target - c0) * bpt * 2) + 4096;
  const AmountFn floor = [&](int64_t n) {
    return static_cast<int64_t>(utf8_floor(pool, static_cast<size_t>(n)));
  };
  for (int grow = 0;; ++grow, bytes *= 4) {
    pool = take(bytes);
    pool.resize(utf8_whole(pool));
    const FitResult r = fit_amount(count, target, static_cast<int64_t>(pool.size()), bpt, floor);
    if (!r.capped) return r;
    if (grow == 3)
      throw DataError(task + ": " + std::to_string(pool.size()) + " bytes of filler reach only " +
                      std::to_string(r.count) + " of " + std::to_string(target) + " tokens");
  }
}

FitResult refit_frozen(const AmountFn& count_frozen, const std::string& pool, int64_t target,
                       const FitResult& first) {
  if (first.count == target) return first;
  const AmountFn floor = [&](int64_t n) {
    return static_cast<int64_t>(utf8_floor(pool, static_cast<size_t>(n)));
  };
  const FitResult r =
      fit_amount(count_frozen, target, static_cast<int64_t>(pool.size()), 4.0, floor, first.amount);
  return r.count <= target && (first.count > target || r.count > first.count) ? r : first;
}

RetrievalPrompt finish(const PromptEncoder& enc, const Draft& d, const std::string& completion,
                       const std::string& task, int64_t length) {
  RetrievalPrompt p;
  p.text = d.text;
  p.completion = completion;
  p.tokens = enc.encode(d.text);
  const int64_t total = enc.count(d.text + completion);
  p.new_tokens = total - static_cast<int64_t>(p.tokens.size());
  if (total > length + 1 || total < length + 1 - kNlLengthSlack || p.new_tokens < 1)
    throw DataError(task + ": could not size the prompt to length " + std::to_string(length) +
                    " (prompt " + std::to_string(p.tokens.size()) + " + answer " +
                    std::to_string(p.new_tokens) + " tokens)");
  p.fact_pos = enc.boundary(p.tokens, std::string_view(d.text).substr(0, d.fact_begin));
  return p;
}

double realised_depth(const PromptEncoder& enc, const RetrievalPrompt& p, const Draft& d) {
  const std::string_view t = d.text;
  const int64_t begin = enc.boundary(p.tokens, t.substr(0, d.filler_begin));
  const int64_t fact_end = enc.boundary(p.tokens, t.substr(0, d.fact_end));
  const int64_t end = enc.boundary(p.tokens, t.substr(0, d.filler_end));
  const int64_t filler = (end - begin) - (fact_end - p.fact_pos);
  if (filler <= 0) return 0;
  return std::clamp(static_cast<double>(p.fact_pos - begin) / static_cast<double>(filler), 0.0,
                    1.0);
}

}  // namespace ctx::data::nl
