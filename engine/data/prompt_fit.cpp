// The token-count search behind the natural-language retrieval prompts: measured counts, a memo of
// them, secant steps, bisection and a local search for an exact fit.
#include "data/prompt_fit.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace ctx::data {
namespace {

constexpr int kLocalSteps = 12;  // amounts tried on each side of the bracket for an exact fit
constexpr int kSecantSteps = 16;
constexpr size_t kWhitespaceSnap = 64;

bool is_space(char c) {
  return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

bool utf8_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

// A sentence ends at p: p is the start of s, or s[p] is whitespace or the end of s after '.', '!'
// or '?' (possibly closed by quotes or brackets).
bool sentence_end_at(std::string_view s, size_t p) {
  if (p == 0) return true;
  if (p < s.size() && !is_space(s[p])) return false;
  size_t q = p;
  while (q > 0 && (s[q - 1] == '"' || s[q - 1] == '\'' || s[q - 1] == ')' || s[q - 1] == ']')) --q;
  return q > 0 && (s[q - 1] == '.' || s[q - 1] == '!' || s[q - 1] == '?');
}

// The nearest p to `at` (within max_dist, earlier first on ties) with pred(p).
template <typename Pred>
size_t nearest(std::string_view s, size_t at, size_t max_dist, Pred pred, bool* found) {
  for (size_t d = 0; d <= max_dist; ++d) {
    if (at >= d && pred(at - d)) {
      *found = true;
      return at - d;
    }
    if (at + d <= s.size() && pred(at + d)) {
      *found = true;
      return at + d;
    }
    if (at < d && at + d > s.size()) break;
  }
  *found = false;
  return at;
}

// The memoised search state of fit_amount: the bracket lo < hi with count(lo) < target < count(hi).
class Search {
 public:
  Search(const AmountFn& count, int64_t target, int64_t max_amount, const AmountFn& floor)
      : count_(count), target_(target), max_(max_amount), floor_(floor) {}

  int64_t at(int64_t a) {
    auto it = memo_.find(a);
    const int64_t c = it != memo_.end() ? it->second : count_(a);
    memo_.emplace(a, c);
    if (c < target_ && a > lo_ && (hi_ < 0 || a < hi_)) lo_ = a;
    if (c > target_ && a > lo_ && (hi_ < 0 || a < hi_)) hi_ = a;
    return c;
  }
  int64_t next(int64_t a) const {
    int64_t x = a + 1;
    while (x < max_ && floor_(x) != x) ++x;
    return std::min(x, max_);
  }
  int64_t prev(int64_t a) const { return a <= 0 ? 0 : floor_(a - 1); }
  bool tight() const { return hi_ >= 0 && next(lo_) >= hi_; }
  // The measured amount whose count is closest below (or at) the target.
  FitResult best() const {
    FitResult r{0, -1, false};
    for (const auto& [a, c] : memo_)
      if (c <= target_ && c > r.count) r = {a, c, false};
    return r;
  }
  int64_t lo_ = 0, hi_ = -1;

 private:
  const AmountFn& count_;
  int64_t target_, max_;
  const AmountFn& floor_;
  std::map<int64_t, int64_t> memo_;
};

}  // namespace

PromptEncoder::PromptEncoder(const Tokenizer& tok) : tok_(tok) {
  const Token eos = tok.eos_id();
  if (eos < 0) return;
  const auto with = tok.encode("a", true);
  const auto without = tok.encode("a", false);
  strip_eos_ = !with.empty() && with.back() == eos && (without.empty() || without.back() != eos);
}

std::vector<Token> PromptEncoder::encode(std::string_view text) const {
  auto ids = tok_.encode(text, true);
  if (strip_eos_ && !ids.empty() && ids.back() == tok_.eos_id()) ids.pop_back();
  return ids;
}

int64_t PromptEncoder::boundary(const std::vector<Token>& full, std::string_view prefix) const {
  const auto ids = encode(prefix);
  const size_t n = std::min(ids.size(), full.size());
  size_t i = 0;
  while (i < n && ids[i] == full[i]) ++i;
  if (i == ids.size()) return static_cast<int64_t>(i);
  // The prefix ends inside a merge or split differently (trailing whitespace): the boundary is the
  // first token of `full` whose text reaches past the prefix's.
  const size_t want = tok_.decode(ids, true).size();
  while (i < full.size() &&
         tok_.decode(std::vector<Token>(full.begin(),
                                        full.begin() + static_cast<std::ptrdiff_t>(i + 1)),
                     true)
                 .size() <= want)
    ++i;
  return static_cast<int64_t>(i);
}

size_t utf8_floor(std::string_view s, size_t n) {
  if (n >= s.size()) return n;
  while (n > 0 && utf8_continuation(s[n])) --n;
  return n;
}

size_t utf8_whole(std::string_view s) {
  if (s.empty()) return 0;
  const size_t last = utf8_floor(s, s.size() - 1);
  const auto lead = static_cast<unsigned char>(s[last]);
  const size_t len = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  return last + len > s.size() ? last : s.size();
}

double bytes_per_token(const Tokenizer& tok, std::string_view sample) {
  const size_t n = tok.encode(sample, false).size();
  return n == 0 ? 4.0 : static_cast<double>(sample.size()) / static_cast<double>(n);
}

FitResult fit_amount(const AmountFn& count, int64_t target, int64_t max_amount, double per_token,
                     const AmountFn& floor, int64_t hint) {
  Search s(count, target, max_amount, floor);
  const int64_t c0 = s.at(0);
  if (c0 >= target || max_amount <= 0) return {0, c0, c0 < target};
  // Secant steps on the average slope of the filler (amount per token from 0 to the last probe).
  double slope = per_token > 0 ? per_token : 1.0;
  int64_t a = hint > 0
                  ? hint
                  : static_cast<int64_t>(std::llround(static_cast<double>(target - c0) * slope));
  for (int i = 0; i < kSecantSteps && !s.tight(); ++i) {
    a = floor(std::clamp<int64_t>(a, 0, max_amount));
    if (s.hi_ >= 0 && a >= s.hi_) a = floor(s.lo_ + (s.hi_ - s.lo_) / 2);
    if (a <= s.lo_) a = s.next(s.lo_);  // inside the bracket, which is not tight
    const int64_t c = s.at(a);
    if (c == target) return {a, c, false};
    if (c < target && a >= max_amount) return {a, c, true};
    if (c > c0) slope = static_cast<double>(a) / static_cast<double>(c - c0);
    const auto step = static_cast<int64_t>(std::llround(static_cast<double>(target - c) * slope));
    a += step != 0 ? step : (c < target ? 1 : -1);
  }
  if (s.hi_ < 0) {
    const int64_t c = s.at(max_amount);
    if (c == target) return {max_amount, c, false};
    if (c < target) return {max_amount, c, true};
    s.hi_ = max_amount;
  }
  while (!s.tight()) {
    int64_t m = floor(s.lo_ + (s.hi_ - s.lo_) / 2);
    if (m <= s.lo_) m = s.next(s.lo_);
    const int64_t c = s.at(m);  // m lies inside the bracket: it becomes its new lo or hi
    if (c == target) return {m, c, false};
  }
  // Merges can make one more character add two tokens: try the amounts next to the bracket.
  int64_t down = s.lo_, up = s.hi_;
  for (int k = 0; k < kLocalSteps; ++k) {
    if (down > 0) {
      down = s.prev(down);
      if (s.at(down) == target) return {down, target, false};
    }
    if (up < max_amount) {
      up = s.next(up);
      if (s.at(up) == target) return {up, target, false};
    }
  }
  return s.best();
}

size_t nearest_sentence_end(std::string_view s, size_t at, size_t max_dist) {
  at = std::min(at, s.size());
  bool found = false;
  size_t p = nearest(
      s, at, max_dist, [&](size_t q) { return sentence_end_at(s, q); }, &found);
  if (found) return p;
  p = nearest(
      s, at, kWhitespaceSnap, [&](size_t q) { return q < s.size() && is_space(s[q]); }, &found);
  return found ? p : utf8_floor(s, at);
}

size_t count_occurrences(std::string_view s, std::string_view needle) {
  if (needle.empty()) return 0;
  size_t n = 0;
  for (size_t at = s.find(needle); at != std::string_view::npos; at = s.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace ctx::data
