// BPE merging as `tokenizers`' Word::merge_all does it: a min-heap of (rank, position), stale
// entries skipped. Symbols and heap live in per-thread scratch buffers.
#include "io/bpe_model.h"

#include <algorithm>

#include "io/byte_level.h"
#include "io/json_fields.h"
#include "io/tokenizer_error.h"
#include "io/unicode_text.h"
#include "io/word_cache.h"

namespace ctx::io {

using data::Token;
using json_fields::Where;

namespace {

std::string fallback_token(unsigned char b) {
  static const char* kHex = "0123456789ABCDEF";
  return std::string{'<', '0', 'x', kHex[b >> 4], kHex[b & 0xF], '>'};
}

struct HeapEntry {
  int32_t rank;
  int32_t pos;
  Token id;
};
// Orders the heap as a min-heap on (rank, pos).
struct Later {
  bool operator()(const HeapEntry& a, const HeapEntry& b) const {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  }
};

}  // namespace

BpeModel::BpeModel(const nlohmann::json& model, const std::string& file, bool byte_level_words)
    : byte_level_words_(byte_level_words), cache_id_(WordCache::new_model_id()) {
  const Where where{file, "model"};
  if (!model.is_object()) json_fields::fail(where, "expected an object");
  const std::string type = json_fields::optional_string(model, "type", "BPE", where);
  if (type != "BPE") {
    json_fields::fail(Where{file, ""}, "model type '" + type + "' is not supported (BPE only)");
  }
  const Where bpe{file, "model 'BPE'"};
  if (auto it = model.find("dropout"); it != model.end() && !it->is_null()) {
    if (!it->is_number() || it->get<double>() != 0.0) {
      json_fields::fail(bpe, "dropout is not supported (it must be null or 0)");
    }
  }
  unk_token_ = json_fields::optional_string(model, "unk_token", "", bpe);
  prefix_ = json_fields::optional_string(model, "continuing_subword_prefix", "", bpe);
  suffix_ = json_fields::optional_string(model, "end_of_word_suffix", "", bpe);
  fuse_unk_ = json_fields::optional_bool(model, "fuse_unk", false, bpe);
  byte_fallback_ = json_fields::optional_bool(model, "byte_fallback", false, bpe);
  ignore_merges_ = json_fields::optional_bool(model, "ignore_merges", false, bpe);
  read_vocab(json_fields::required(model, "vocab", bpe), file);
  read_merges(json_fields::array_of(model, "merges", bpe), file);
  if (!unk_token_.empty()) unk_id_ = id_of(unk_token_);
  index_symbols();
  cut_at_metaspace_ = metaspace_cuts_are_safe();
}

// SentencePiece-style words ("▁Hello▁world", a whole segment when the pre-tokenizer does not
// split) can be merged piece by piece, cached, when no merge can ever cross the cut before a "▁"
// that follows another character: then no token's text holds such a pair (a merge's result is
// always in the vocabulary), "▁" is a token of its own (an unknown run cannot fuse across the
// cut) and nothing depends on where a word starts or ends (affixes, ignore_merges). Merges in
// separate pieces never interact, so the result is the whole word's, merged in the same order.
bool BpeModel::metaspace_cuts_are_safe() const {
  static const std::string kMeta = "\xE2\x96\x81";
  if (byte_level_words_ || ignore_merges_ || !prefix_.empty() || !suffix_.empty()) return false;
  if (id_of(kMeta) < 0) return false;
  auto ends_with_meta = [](const std::string& t) {
    return t.size() >= 3 && t.compare(t.size() - 3, 3, kMeta) == 0;
  };
  if (!unk_token_.empty() && ends_with_meta(unk_token_)) return false;
  for (size_t id = 0; id < tokens_.size(); ++id) {
    if (!present_[id]) continue;
    const std::string& t = tokens_[id];
    for (size_t pos = t.find(kMeta, 1); pos != std::string::npos; pos = t.find(kMeta, pos + 3)) {
      if (pos < 3 || t.compare(pos - 3, 3, kMeta) != 0) return false;
    }
  }
  return true;
}

void BpeModel::read_vocab(const nlohmann::json& vocab, const std::string& file) {
  const Where where{file, "model 'BPE' vocab"};
  if (!vocab.is_object()) json_fields::fail(where, "must be an object of token: id");
  constexpr int64_t kMaxId = int64_t{1} << 26;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 ||
        it.value().get<int64_t>() >= kMaxId) {
      json_fields::fail(where, "the id of '" + it.key() + "' is not an integer in [0, 2^26)");
    }
    const auto id = static_cast<Token>(it.value().get<int64_t>());
    vocab_.insert(it.key(), id);
    if (static_cast<size_t>(id) >= tokens_.size()) {
      tokens_.resize(id + 1);
      present_.resize(id + 1, false);
    }
    if (!present_[id]) {
      tokens_[id] = it.key();
      present_[id] = true;
    }
  }
}

void BpeModel::read_merges(const nlohmann::json& merges, const std::string& file) {
  const Where where{file, "model 'BPE' merges"};
  int32_t rank = 0;
  for (const auto& m : merges) {
    if (m.is_string()) {  // "a b"
      const auto& line = m.get_ref<const std::string&>();
      if (line.rfind("#version", 0) == 0) continue;
      const size_t space = line.find(' ');
      if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos) {
        json_fields::fail(where, "merge " + std::to_string(rank + 1) + " ('" + line +
                                     "') is not two tokens separated by one space");
      }
      add_merge(line.substr(0, space), line.substr(space + 1), rank, file);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      add_merge(m[0].get<std::string>(), m[1].get<std::string>(), rank, file);
    } else {
      json_fields::fail(
          where, "merge " + std::to_string(rank + 1) + " is neither \"a b\" nor [\"a\", \"b\"]");
    }
    ++rank;
  }
}

void BpeModel::add_merge(const std::string& a, const std::string& b, int32_t rank,
                         const std::string& file) {
  const Where where{file, "model 'BPE' merge " + std::to_string(rank + 1)};
  const Token a_id = id_of(a), b_id = id_of(b);
  if (a_id < 0) json_fields::fail(where, "'" + a + "' is not in the vocabulary");
  if (b_id < 0) json_fields::fail(where, "'" + b + "' is not in the vocabulary");
  if (b.size() < prefix_.size()) {
    json_fields::fail(where, "'" + b + "' is shorter than continuing_subword_prefix");
  }
  const std::string merged = a + b.substr(prefix_.size());
  const Token id = id_of(merged);
  if (id < 0) json_fields::fail(where, "'" + merged + "' is not in the vocabulary");
  merges_.insert((static_cast<uint64_t>(a_id) << 32) | static_cast<uint32_t>(b_id),
                 Merge{rank, id});
}

void BpeModel::index_symbols() {
  for (size_t id = 0; id < tokens_.size(); ++id) {
    if (!present_[id] || tokens_[id].empty()) continue;
    const std::string& t = tokens_[id];
    char32_t cp;
    if (text::decode_utf8(t.data(), t.data() + t.size(), &cp) == static_cast<int>(t.size())) {
      // The vocabulary decides which id a character has, even if another id spells it too.
      char_ids_.insert(cp, id_of(t));
    }
  }
  std::string spelled;
  for (int b = 0; b < 256; ++b) {
    spelled.clear();
    text::append_utf8(spelled, byte_level::char_of(static_cast<unsigned char>(b)));
    byte_char_ids_[b] = id_of(spelled);
    fallback_ids_[b] = byte_fallback_ ? id_of(fallback_token(static_cast<unsigned char>(b))) : -1;
  }
}

Token BpeModel::id_of(std::string_view token) const {
  const Token* id = vocab_.find(token);
  return id ? *id : -1;
}

const std::string* BpeModel::token_of(Token id) const {
  if (id < 0 || static_cast<size_t>(id) >= tokens_.size() || !present_[id]) return nullptr;
  return &tokens_[id];
}

bool BpeModel::byte_symbols(std::string_view word, std::vector<Symbol>& symbols) const {
  symbols.clear();
  const auto n = static_cast<int32_t>(word.size());
  for (int32_t i = 0; i < n; ++i) {
    const Token id = byte_char_ids_[static_cast<unsigned char>(word[i])];
    if (id < 0) return false;
    symbols.push_back({id, i - 1, i + 1 < n ? i + 1 : -1, 1});
  }
  return true;
}

void BpeModel::initial_symbols(std::string_view w, std::vector<Symbol>& symbols) const {
  symbols.clear();
  auto add = [&](Token id, uint32_t len) {
    const auto at = static_cast<int32_t>(symbols.size());
    if (at > 0) symbols.back().next = at;
    symbols.push_back({id, at - 1, -1, len});
  };
  const bool affixes = !prefix_.empty() || !suffix_.empty();
  std::string s;
  Token unk = -1;
  uint32_t unk_len = 0;
  const char* begin = w.data();
  const char* end = begin + w.size();
  for (const char* p = begin; p < end;) {
    char32_t cp;
    const int len = text::decode_utf8(p, end, &cp);
    const bool first = p == begin, last = p + len == end;
    Token id = -1;
    if (!affixes) {
      const Token* found = char_ids_.find(cp);
      if (found) id = *found;
      s.assign(p, len);
    } else {
      s.clear();
      if (!first) s += prefix_;
      s.append(p, len);
      if (last) s += suffix_;
      id = id_of(s);
    }
    p += len;
    if (id >= 0) {
      if (unk >= 0) add(unk, unk_len);
      unk = -1;
      add(id, static_cast<uint32_t>(len));
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (char c : s) all = all && fallback_ids_[static_cast<unsigned char>(c)] >= 0;
      if (all) {  // as in `tokenizers`, a pending unk is not flushed here
        for (char c : s) add(fallback_ids_[static_cast<unsigned char>(c)], 1);
        continue;
      }
    }
    if (unk_token_.empty()) continue;  // no unk token: the character is dropped
    if (unk_id_ < 0) {
      throw TokenizerError("tokenizer.json: unk_token '" + unk_token_ +
                           "' is not in the vocabulary");
    }
    if (unk >= 0 && fuse_unk_) {
      unk_len += static_cast<uint32_t>(len);
    } else {
      if (unk >= 0) add(unk, unk_len);
      unk = unk_id_;
      unk_len = static_cast<uint32_t>(len);
    }
  }
  if (unk >= 0) add(unk, unk_len);
}

void BpeModel::merge_symbols(std::vector<Symbol>& sym) const {
  if (sym.size() < 2) return;
  thread_local std::vector<HeapEntry> heap;
  heap.clear();
  for (size_t i = 0; i + 1 < sym.size(); ++i) {
    if (const Merge* m = find_merge(sym[i].id, sym[i + 1].id)) {
      heap.push_back({m->rank, static_cast<int32_t>(i), m->id});
    }
  }
  std::make_heap(heap.begin(), heap.end(), Later{});
  auto push = [&](const Merge* m, int32_t pos) {
    heap.push_back({m->rank, pos, m->id});
    std::push_heap(heap.begin(), heap.end(), Later{});
  };
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), Later{});
    const HeapEntry top = heap.back();
    heap.pop_back();
    Symbol& cur = sym[top.pos];
    if (cur.len == 0 || cur.next < 0) continue;
    const int32_t right_pos = cur.next;
    const Symbol right = sym[right_pos];
    const Merge* now = find_merge(cur.id, right.id);
    if (!now || now->id != top.id) continue;  // stale entry
    cur.id = top.id;
    cur.len += right.len;
    cur.next = right.next;
    sym[right_pos].len = 0;
    if (right.next >= 0) sym[right.next].prev = top.pos;
    if (cur.prev >= 0) {
      if (const Merge* m = find_merge(sym[cur.prev].id, cur.id)) push(m, cur.prev);
    }
    if (cur.next >= 0) {
      if (const Merge* m = find_merge(cur.id, sym[cur.next].id)) push(m, top.pos);
    }
  }
}

WordCache& BpeModel::thread_cache() const {
  return WordCache::of_thread(cache_id_);
}

void BpeModel::tokenize(std::string_view word, WordCache& cache, std::vector<Token>& out) const {
  if (word.empty()) return;
  if (!cut_at_metaspace_) {
    tokenize_piece(word, cache, out);
    return;
  }
  static const std::string_view kMeta = "\xE2\x96\x81";
  size_t start = 0;
  for (size_t pos = word.find(kMeta, 1); pos != std::string_view::npos;
       pos = word.find(kMeta, pos + 3)) {
    if (pos >= 3 && word.compare(pos - 3, 3, kMeta) == 0) continue;  // inside a run of "▁"
    tokenize_piece(word.substr(start, pos - start), cache, out);
    start = pos;
  }
  tokenize_piece(word.substr(start), cache, out);
}

void BpeModel::tokenize_piece(std::string_view word, WordCache& cache,
                              std::vector<Token>& out) const {
  if (cache.lookup(word, out)) return;
  thread_local std::string spelled;
  std::string_view model_word = word;  // what the reference's model sees
  const bool fast = byte_level_words_ && prefix_.empty() && suffix_.empty();
  if (byte_level_words_ && (ignore_merges_ || !fast)) {
    spelled.clear();
    byte_level::append_chars(spelled, word);
    model_word = spelled;
  }
  const size_t mark = out.size();
  if (ignore_merges_) {
    if (const Token id = id_of(model_word); id >= 0) {
      out.push_back(id);
      cache.store(word, &out[mark], 1);
      return;
    }
  }
  thread_local std::vector<Symbol> symbols;
  if (!fast || !byte_symbols(word, symbols)) {
    if (byte_level_words_ && model_word.data() != spelled.data()) {
      spelled.clear();
      byte_level::append_chars(spelled, word);
      model_word = spelled;
    }
    initial_symbols(model_word, symbols);
  }
  merge_symbols(symbols);
  for (const Symbol& s : symbols) {
    if (s.len != 0) out.push_back(s.id);
  }
  cache.store(word, out.data() + mark, out.size() - mark);
}

}  // namespace ctx::io
