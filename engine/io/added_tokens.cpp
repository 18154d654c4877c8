// Added-token matching: a byte trie gives the leftmost-longest match (as the reference's automaton
// does); single_word / lstrip / rstrip use Rust regex's Unicode \w and \s.
#include "io/added_tokens.h"

#include <algorithm>

#include "io/unicode_text.h"

namespace ctx::io {

namespace {

// Start of the whitespace run that ends `s` (s.size() when none).
size_t trailing_space_start(std::string_view s) {
  size_t i = s.size();
  while (i > 0) {
    size_t start = i - 1;
    while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    char32_t cp;
    text::decode_utf8(s.data() + start, s.data() + i, &cp);
    if (!text::is_whitespace(cp)) break;
    i = start;
  }
  return i;
}

// Length of the whitespace run that starts `s`.
size_t leading_space_length(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    char32_t cp;
    const int len = text::decode_utf8(s.data() + i, s.data() + s.size(), &cp);
    if (!text::is_whitespace(cp)) break;
    i += len;
  }
  return i;
}

bool ends_with_word(std::string_view s) {
  if (s.empty()) return false;
  size_t start = s.size() - 1;
  while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
  char32_t cp;
  text::decode_utf8(s.data() + start, s.data() + s.size(), &cp);
  return text::is_word_char(cp);
}

bool starts_with_word(std::string_view s) {
  if (s.empty()) return false;
  char32_t cp;
  text::decode_utf8(s.data(), s.data() + s.size(), &cp);
  return text::is_word_char(cp);
}

}  // namespace

void AddedVocabulary::Trie::insert(std::string_view text, int32_t token) {
  if (nodes.empty()) nodes.emplace_back();
  first_byte[static_cast<unsigned char>(text[0])] = true;
  size_t node = 0;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    int32_t next = -1;
    for (const auto& [byte, child] : nodes[node].children) {
      if (byte == c) next = child;
    }
    if (next < 0) {
      next = static_cast<int32_t>(nodes.size());
      nodes[node].children.emplace_back(c, next);
      nodes.emplace_back();
    }
    node = static_cast<size_t>(next);
  }
  nodes[node].token = token;
}

int32_t AddedVocabulary::Trie::longest_at(std::string_view text, size_t pos, size_t* length) const {
  int32_t best = -1;
  size_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    int32_t next = -1;
    for (const auto& [byte, child] : nodes[node].children) {
      if (byte == c) {
        next = child;
        break;
      }
    }
    if (next < 0) break;
    node = static_cast<size_t>(next);
    if (nodes[node].token >= 0) {
      best = nodes[node].token;
      *length = i + 1 - pos;
    }
  }
  return best;
}

void AddedVocabulary::add(AddedToken token) {
  if (token.content.empty()) return;  // the reference ignores empty added tokens
  if (token.match_text.empty()) token.match_text = token.content;
  if (const size_t* at = by_content_.find(token.content)) {
    tokens_[*at] = std::move(token);
    by_id_[tokens_[*at].id] = *at;
    return;
  }
  by_content_.insert(token.content, tokens_.size());
  by_id_[token.id] = tokens_.size();
  tokens_.push_back(std::move(token));
}

void AddedVocabulary::finish() {
  raw_trie_ = Trie{};
  normalized_trie_ = Trie{};
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const AddedToken& t = tokens_[i];
    (t.normalized ? normalized_trie_ : raw_trie_).insert(t.match_text, static_cast<int32_t>(i));
  }
}

void AddedVocabulary::split(std::string_view text, bool normalized,
                            std::vector<TextSegment>& out) const {
  out.clear();
  const Trie& trie = normalized ? normalized_trie_ : raw_trie_;
  if (trie.nodes.empty()) {
    if (!text.empty()) out.push_back({0, text.size(), -1});
    return;
  }
  find_matches(text, trie, out);
}

void AddedVocabulary::find_matches(std::string_view text, const Trie& trie,
                                   std::vector<TextSegment>& out) const {
  size_t start_offset = 0;  // end of the last accepted token
  size_t pos = 0;           // where the automaton searches next
  while (pos < text.size()) {
    if (!trie.first_byte[static_cast<unsigned char>(text[pos])]) {
      ++pos;
      continue;
    }
    size_t length = 0;
    const int32_t index = trie.longest_at(text, pos, &length);
    if (index < 0) {
      ++pos;
      continue;
    }
    size_t start = pos, stop = pos + length;
    pos = stop;  // matches never overlap, whether this one is kept or not
    const AddedToken& t = tokens_[index];
    if (t.single_word) {
      const bool space_before = start == 0 || !ends_with_word(text.substr(0, start));
      const bool space_after = stop == text.size() || !starts_with_word(text.substr(stop));
      if (!space_before || !space_after) continue;
    }
    if (t.lstrip) start = std::max(trailing_space_start(text.substr(0, start)), start_offset);
    if (t.rstrip) stop += leading_space_length(text.substr(stop));
    if (start_offset < start) out.push_back({start_offset, start, -1});
    out.push_back({start, stop, t.id});
    start_offset = stop;
  }
  if (start_offset != text.size()) out.push_back({start_offset, text.size(), -1});
}

const AddedToken* AddedVocabulary::by_id(data::Token id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

const AddedToken* AddedVocabulary::by_content(std::string_view content) const {
  const size_t* at = by_content_.find(content);
  return at ? &tokens_[*at] : nullptr;
}

bool AddedVocabulary::is_special_content(std::string_view content) const {
  const AddedToken* t = by_content(content);
  return t && t->special;
}

}  // namespace ctx::io
