// TextFiller: documents as one text, random sentence-aligned starts, wrapping takes.
#include "data/text_filler.h"

#include <algorithm>

#include "data/prompt_fit.h"
#include "data/rng.h"

namespace ctx::data {
namespace {

constexpr size_t kSentenceSearch = 2048;
constexpr size_t kWordSearch = 64;

bool is_space(char c) {
  return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

// q starts a sentence or a line: a non-space character after a newline, or after whitespace that
// follows '.', '!' or '?'.
bool sentence_start_at(const std::string& s, size_t q) {
  if (q == 0) return true;
  if (is_space(s[q]) || !is_space(s[q - 1])) return false;
  size_t r = q;
  while (r > 0 && is_space(s[r - 1])) {
    if (s[r - 1] == '\n') return true;
    --r;
  }
  return r > 0 && (s[r - 1] == '.' || s[r - 1] == '!' || s[r - 1] == '?');
}

}  // namespace

TextFiller::TextFiller(const std::vector<Document>& docs, const Tokenizer& tok, std::string source)
    : source_(std::move(source)) {
  for (const auto& d : docs) {
    if (d.tokens.empty()) continue;
    if (!text_.empty()) text_ += '\n';
    text_ += tok.decode(d.tokens, true);
  }
  check_not_empty();
}

TextFiller::TextFiller(std::string text, std::string source)
    : text_(std::move(text)), source_(std::move(source)) {
  check_not_empty();
}

void TextFiller::check_not_empty() const {
  if (text_.empty())
    throw DataError("filler: no text to build the prompts from" +
                    (source_.empty() ? "" : " (" + source_ + ")"));
}

size_t TextFiller::draw_offset(std::mt19937_64& rng) const {
  return static_cast<size_t>(uniform_below(rng, text_.size()));
}

size_t TextFiller::start_after(size_t p) const {
  p %= text_.size();
  const size_t end = std::min(text_.size(), p + kSentenceSearch);
  for (size_t q = p; q < end; ++q)
    if (sentence_start_at(text_, q)) return q;
  if (p + kSentenceSearch >= text_.size()) return 0;  // the text wraps around to its start
  const size_t word_end = std::min(text_.size(), p + kWordSearch);
  for (size_t q = p; q < word_end; ++q)
    if (q > 0 && is_space(text_[q - 1]) && !is_space(text_[q])) return q;
  return utf8_floor(text_, p);
}

std::string TextFiller::take(size_t start, size_t n) const {
  std::string out;
  out.reserve(n);
  size_t i = start % text_.size();
  while (out.size() < n) {
    const size_t k = std::min(n - out.size(), text_.size() - i);
    out.append(text_, i, k);
    i += k;
    if (i == text_.size()) {
      if (out.size() < n) out += '\n';
      i = 0;
    }
  }
  return out;
}

}  // namespace ctx::data
