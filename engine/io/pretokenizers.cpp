// Pre-tokenizers as `tokenizers`' NormalizedString::split works: match / non-match parts, kept and
// merged by the behaviour, empty results dropped; per-thread buffers, so no allocation once warm.
#include "io/pretokenizers.h"

#include <algorithm>

#include "io/byte_level.h"
#include "io/json_fields.h"
#include "io/text_pattern.h"
#include "io/unicode_text.h"

namespace ctx::io {

namespace {

using json_fields::Where;

enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

struct Part {
  size_t begin;
  size_t end;
  bool is_match;
};

// Parts covering a word of length n from the matches found in it.
void parts_from_matches(const std::vector<Span>& matches, size_t n, bool invert,
                        std::vector<Part>& parts) {
  parts.clear();
  size_t prev = 0;
  for (const Span& m : matches) {
    if (prev != m.begin) parts.push_back({prev, m.begin, invert});
    parts.push_back({m.begin, m.end, !invert});
    prev = m.end;
  }
  if (prev != n) parts.push_back({prev, n, invert});
}

// Parts of a word where every character satisfying `pred` is a match of its own.
template <class Pred>
void parts_from_chars(std::string_view s, Pred pred, std::vector<Part>& parts) {
  parts.clear();
  const char* base = s.data();
  const char* end = base + s.size();
  size_t last = 0;
  for (const char* p = base; p < end;) {
    char32_t cp;
    const int len = text::decode_utf8(p, end, &cp);
    const size_t at = static_cast<size_t>(p - base);
    if (pred(cp)) {
      if (last < at) parts.push_back({last, at, false});
      parts.push_back({at, at + len, true});
      last = at + len;
    }
    p += len;
  }
  if (last < s.size()) parts.push_back({last, s.size(), false});
}

// Keeps and merges parts as `behavior` says and passes the results on.
void emit_parts(std::string_view word, bool at_origin, const std::vector<Part>& parts,
                Behavior behavior, WordSink& sink) {
  auto emit = [&](size_t b, size_t e) {
    if (e > b) sink.word(word.substr(b, e - b), at_origin && b == 0);
  };
  if (behavior == Behavior::kIsolated || behavior == Behavior::kRemoved) {
    for (const Part& p : parts) {
      if (behavior == Behavior::kIsolated || !p.is_match) emit(p.begin, p.end);
    }
    return;
  }
  thread_local std::vector<Part> kept;
  kept.clear();
  bool previous = false;
  if (behavior == Behavior::kMergedWithNext) {
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
      if (it->is_match && !previous && !kept.empty()) {
        kept.back().begin = it->begin;
      } else {
        kept.push_back(*it);
      }
      previous = it->is_match;
    }
    std::reverse(kept.begin(), kept.end());
  } else {
    for (const Part& p : parts) {
      const bool merge =
          behavior == Behavior::kContiguous ? p.is_match == previous : p.is_match && !previous;
      if (merge && !kept.empty()) {
        kept.back().end = p.end;
      } else {
        kept.push_back(p);
      }
      previous = p.is_match;
    }
  }
  for (const Part& p : kept) emit(p.begin, p.end);
}

class Split : public PreTokenizer {
 public:
  Split(TextPattern pattern, Behavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  void split(std::string_view word, bool at_origin, WordSink& sink) const override {
    if (behavior_ == Behavior::kIsolated) {  // every part kept: stream the matches
      TextPattern::Scanner scanner(pattern_, word);
      size_t prev = 0;
      Span m;
      while (scanner.next(&m)) {
        if (prev != m.begin) sink.word(word.substr(prev, m.begin - prev), at_origin && !prev);
        if (m.end > m.begin)
          sink.word(word.substr(m.begin, m.end - m.begin), at_origin && !m.begin);
        prev = m.end;
      }
      if (prev != word.size()) sink.word(word.substr(prev), at_origin && !prev);
      return;
    }
    thread_local std::vector<Span> matches;
    thread_local std::vector<Part> parts;
    pattern_.find_all(word, matches);
    parts_from_matches(matches, word.size(), invert_, parts);
    emit_parts(word, at_origin, parts, behavior_, sink);
  }

 private:
  TextPattern pattern_;
  Behavior behavior_;
  bool invert_;
};

// GPT-2's split, built into `tokenizers`' ByteLevel pre-tokenizer.
const char* kGpt2Regex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Maps each word's bytes to byte-level characters on the way to the next sink.
class ByteMapSink : public WordSink {
 public:
  explicit ByteMapSink(WordSink& next) : next_(next) {}
  void word(std::string_view w, bool at_origin) override {
    mapped_.clear();
    byte_level::append_chars(mapped_, w);
    next_.word(mapped_, at_origin);
  }

 private:
  WordSink& next_;
  std::string mapped_;
};

class ByteLevel : public PreTokenizer {
 public:
  ByteLevel(bool add_prefix_space, bool use_regex, bool map_bytes, const std::string& file)
      : add_prefix_space_(add_prefix_space), map_bytes_(map_bytes) {
    if (use_regex) {
      regex_ = std::make_unique<Split>(
          TextPattern::regex(kGpt2Regex, file + ": pre_tokenizer 'ByteLevel'"), Behavior::kIsolated,
          false);
    }
  }
  // Whether this step changes nothing (the mapping left to the model, no prefix, no regex).
  bool is_identity() const { return !map_bytes_ && !add_prefix_space_ && !regex_; }

  void split(std::string_view word, bool at_origin, WordSink& sink) const override {
    thread_local std::string prefixed;
    if (add_prefix_space_ && word.front() != ' ') {
      prefixed.assign(1, ' ');
      prefixed.append(word.data(), word.size());
      word = prefixed;
    }
    if (!map_bytes_) {
      pass(word, at_origin, sink);
      return;
    }
    ByteMapSink mapped(sink);
    pass(word, at_origin, mapped);
  }

 private:
  void pass(std::string_view word, bool at_origin, WordSink& sink) const {
    if (regex_) {
      regex_->split(word, at_origin, sink);
    } else {
      sink.word(word, at_origin);
    }
  }
  bool add_prefix_space_;
  bool map_bytes_;
  std::unique_ptr<Split> regex_;
};

enum class Prepend { kAlways, kFirst, kNever };

class Metaspace : public PreTokenizer {
 public:
  Metaspace(std::string replacement, Prepend prepend, bool split)
      : replacement_(std::move(replacement)), prepend_(prepend), split_(split) {}
  void split(std::string_view src, bool at_origin, WordSink& sink) const override {
    thread_local std::string word;
    word.clear();
    if (!(prepend_ == Prepend::kAlways || (prepend_ == Prepend::kFirst && at_origin))) {
      // no prepending
    } else if (!(src.front() == ' ' || src.compare(0, replacement_.size(), replacement_) == 0)) {
      word += replacement_;
    }
    for (char c : src) {
      if (c == ' ') {
        word += replacement_;
      } else {
        word.push_back(c);
      }
    }
    if (!split_) {
      sink.word(word, at_origin);
      return;
    }
    // MergedWithNext on every replacement character: each word starts at one.
    const std::string_view w = word;
    size_t start = 0;
    size_t pos = w.find(replacement_, 1);
    while (pos != std::string_view::npos) {
      sink.word(w.substr(start, pos - start), at_origin && !start);
      start = pos;
      pos = w.find(replacement_, pos + replacement_.size());
    }
    sink.word(w.substr(start), at_origin && !start);
  }

 private:
  std::string replacement_;
  Prepend prepend_;
  bool split_;
};

class Digits : public PreTokenizer {
 public:
  explicit Digits(bool individual) : individual_(individual) {}
  void split(std::string_view word, bool at_origin, WordSink& sink) const override {
    thread_local std::vector<Part> parts;
    parts_from_chars(word, text::is_numeric, parts);
    emit_parts(word, at_origin, parts, individual_ ? Behavior::kIsolated : Behavior::kContiguous,
               sink);
  }

 private:
  bool individual_;
};

// WhitespaceSplit: whitespace removed, the rest kept in runs.
class WhitespaceSplit : public PreTokenizer {
 public:
  void split(std::string_view word, bool at_origin, WordSink& sink) const override {
    thread_local std::vector<Part> parts;
    parts_from_chars(word, text::is_whitespace, parts);
    emit_parts(word, at_origin, parts, Behavior::kRemoved, sink);
  }
};

// Whitespace: the regex \w+|[^\w\s]+, its matches kept and the rest removed.
class Whitespace : public PreTokenizer {
 public:
  void split(std::string_view word, bool at_origin, WordSink& sink) const override {
    const char* base = word.data();
    const char* end = base + word.size();
    int run_class = -1;  // 0: \w, 1: neither \w nor \s
    size_t run_start = 0;
    for (const char* p = base; p <= end;) {
      int cls = -1;
      int len = 1;
      if (p < end) {
        char32_t cp;
        len = text::decode_utf8(p, end, &cp);
        cls = text::is_word_char(cp) ? 0 : text::is_whitespace(cp) ? -1 : 1;
      }
      const size_t at = static_cast<size_t>(p - base);
      if (cls != run_class) {
        if (run_class >= 0) {
          sink.word(word.substr(run_start, at - run_start), at_origin && run_start == 0);
        }
        run_class = cls;
        run_start = at;
      }
      p += len;
    }
  }
};

// Per-thread word lists for the steps of Sequences, one pair per nesting level.
class ListPool {
 public:
  struct Lease {
    PieceList& a;
    PieceList& b;
    ~Lease() { --depth(); }
  };
  static Lease lease() {
    thread_local std::vector<std::unique_ptr<PieceList>> lists;
    const size_t level = depth()++;
    while (lists.size() < 2 * level + 2) lists.push_back(std::make_unique<PieceList>());
    return Lease{*lists[2 * level], *lists[2 * level + 1]};
  }

 private:
  static size_t& depth() {
    thread_local size_t d = 0;
    return d;
  }
};

class Sequence : public PreTokenizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {}
  void split(std::string_view word, bool at_origin, WordSink& sink) const override {
    if (steps_.empty()) {
      sink.word(word, at_origin);
      return;
    }
    if (steps_.size() == 1) {
      steps_[0]->split(word, at_origin, sink);
      return;
    }
    ListPool::Lease lists = ListPool::lease();
    PieceList* src = &lists.a;
    PieceList* dst = &lists.b;
    src->clear();
    steps_[0]->split(word, at_origin, *src);
    for (size_t i = 1; i + 1 < steps_.size(); ++i) {
      dst->clear();
      for (const auto& piece : src->pieces) {
        steps_[i]->split(src->view(piece), piece.at_origin, *dst);
      }
      std::swap(src, dst);
    }
    for (const auto& piece : src->pieces) {
      steps_.back()->split(src->view(piece), piece.at_origin, sink);
    }
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

Behavior behavior_of(const std::string& name, const Where& where) {
  if (name == "Removed") return Behavior::kRemoved;
  if (name == "Isolated") return Behavior::kIsolated;
  if (name == "MergedWithPrevious") return Behavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return Behavior::kMergedWithNext;
  if (name == "Contiguous") return Behavior::kContiguous;
  json_fields::fail(where, "unknown behavior '" + name + "'");
}

Prepend prepend_of(const nlohmann::json& j, const Where& where) {
  // Older files write add_prefix_space instead of prepend_scheme.
  const bool legacy_prefix = json_fields::optional_bool(j, "add_prefix_space", true, where);
  const std::string scheme =
      json_fields::optional_string(j, "prepend_scheme", legacy_prefix ? "always" : "never", where);
  if (!legacy_prefix && scheme != "never") {
    json_fields::fail(where, "add_prefix_space does not match prepend_scheme '" + scheme + "'");
  }
  if (scheme == "always") return Prepend::kAlways;
  if (scheme == "first") return Prepend::kFirst;
  if (scheme == "never") return Prepend::kNever;
  json_fields::fail(where, "unknown prepend_scheme '" + scheme + "'");
}

// `last`: this step ends the whole pre-tokenization, so a ByteLevel here may leave its byte
// mapping to the model.
std::unique_ptr<PreTokenizer> build(const nlohmann::json& j, const std::string& file, bool last,
                                    PreTokenizerSpec& spec) {
  const std::string type = json_fields::type_of(j, Where{file, "pre_tokenizer"});
  const Where where{file, "pre_tokenizer '" + type + "'"};
  if (type == "Split") {
    return std::make_unique<Split>(
        pattern_from_json(json_fields::required(j, "pattern", where), where),
        behavior_of(json_fields::string_of(j, "behavior", where), where),
        json_fields::optional_bool(j, "invert", false, where));
  }
  if (type == "ByteLevel") {
    spec.has_byte_level = true;
    if (last) spec.byte_level_words = true;
    return std::make_unique<ByteLevel>(
        json_fields::optional_bool(j, "add_prefix_space", true, where),
        json_fields::optional_bool(j, "use_regex", true, where), !last, file);
  }
  if (type == "Metaspace") {
    spec.has_metaspace = true;
    const std::string replacement = json_fields::string_of(j, "replacement", where);
    if (replacement.empty() || text::utf8_length(static_cast<unsigned char>(replacement[0])) !=
                                   static_cast<int>(replacement.size())) {
      json_fields::fail(where, "'replacement' must be one character");
    }
    return std::make_unique<Metaspace>(replacement, prepend_of(j, where),
                                       json_fields::optional_bool(j, "split", true, where));
  }
  if (type == "Digits") {
    return std::make_unique<Digits>(
        json_fields::optional_bool(j, "individual_digits", false, where));
  }
  if (type == "Whitespace") return std::make_unique<Whitespace>();
  if (type == "WhitespaceSplit") return std::make_unique<WhitespaceSplit>();
  if (type == "Sequence") {
    const auto& children = json_fields::array_of(j, "pretokenizers", where);
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (size_t i = 0; i < children.size(); ++i) {
      auto step = build(children[i], file, last && i + 1 == children.size(), spec);
      const auto* byte_level = dynamic_cast<const ByteLevel*>(step.get());
      if (!byte_level || !byte_level->is_identity()) steps.push_back(std::move(step));
    }
    return std::make_unique<Sequence>(std::move(steps));
  }
  json_fields::fail(Where{file, ""},
                    "pre_tokenizer '" + type +
                        "' is not supported (supported: Split, ByteLevel, "
                        "Metaspace, Digits, Whitespace, WhitespaceSplit, Sequence)");
}

}  // namespace

PreTokenizerSpec make_pre_tokenizer(const nlohmann::json& j, const std::string& file) {
  PreTokenizerSpec spec;
  if (!j.is_null()) spec.pre_tokenizer = build(j, file, true, spec);
  if (const auto* b = dynamic_cast<const ByteLevel*>(spec.pre_tokenizer.get());
      b && b->is_identity()) {
    spec.pre_tokenizer.reset();
  }
  return spec;
}

}  // namespace ctx::io
