// Pre-tokenizers of tokenizer.json. Splitting follows `tokenizers`' NormalizedString::split: the
// word is covered by match / non-match parts, the behaviour decides which parts are kept and
// merged, and empty results are dropped.
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

// Keeps and merges parts as `behavior` says and adds the results to `out`.
void emit_parts(std::string_view word, bool at_origin, std::vector<Part>& parts, Behavior behavior,
                PieceList& out) {
  std::vector<Part> kept;
  kept.reserve(parts.size());
  switch (behavior) {
    case Behavior::kIsolated:
      kept = parts;
      break;
    case Behavior::kRemoved:
      for (const Part& p : parts) {
        if (!p.is_match) kept.push_back(p);
      }
      break;
    case Behavior::kContiguous: {
      bool previous = false;
      for (const Part& p : parts) {
        if (p.is_match == previous && !kept.empty()) {
          kept.back().end = p.end;
        } else {
          kept.push_back(p);
        }
        previous = p.is_match;
      }
      break;
    }
    case Behavior::kMergedWithPrevious: {
      bool previous = false;
      for (const Part& p : parts) {
        if (p.is_match && !previous && !kept.empty()) {
          kept.back().end = p.end;
        } else {
          kept.push_back(p);
        }
        previous = p.is_match;
      }
      break;
    }
    case Behavior::kMergedWithNext: {
      bool previous = false;
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        if (it->is_match && !previous && !kept.empty()) {
          kept.back().begin = it->begin;
        } else {
          kept.push_back(*it);
        }
        previous = it->is_match;
      }
      std::reverse(kept.begin(), kept.end());
      break;
    }
  }
  for (const Part& p : kept) {
    out.add(word.substr(p.begin, p.end - p.begin), at_origin && p.begin == 0);
  }
}

class Split : public PreTokenizer {
 public:
  Split(TextPattern pattern, Behavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  void apply(const PieceList& in, PieceList& out) const override {
    out.clear();
    std::vector<Span> matches;
    std::vector<Part> parts;
    for (const auto& piece : in.pieces) {
      const std::string_view word = in.view(piece);
      pattern_.find_all(word, matches);
      parts_from_matches(matches, word.size(), invert_, parts);
      emit_parts(word, piece.at_origin, parts, behavior_, out);
    }
  }

 private:
  TextPattern pattern_;
  Behavior behavior_;
  bool invert_;
};

// GPT-2's split, built into `tokenizers`' ByteLevel pre-tokenizer.
const char* kGpt2Regex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class ByteLevel : public PreTokenizer {
 public:
  ByteLevel(bool add_prefix_space, bool use_regex, bool map_bytes, const std::string& file)
      : add_prefix_space_(add_prefix_space), map_bytes_(map_bytes) {
    if (use_regex) {
      regex_ = std::make_unique<TextPattern>(
          TextPattern::regex(kGpt2Regex, file + ": pre_tokenizer 'ByteLevel'"));
    }
  }
  void apply(const PieceList& in, PieceList& out) const override {
    out.clear();
    std::string prefixed;
    std::vector<Span> matches;
    for (const auto& piece : in.pieces) {
      std::string_view word = in.view(piece);
      if (add_prefix_space_ && word.front() != ' ') {
        prefixed.assign(1, ' ');
        prefixed.append(word.data(), word.size());
        word = prefixed;
      }
      if (!regex_) {
        add(out, word, piece.at_origin);
        continue;
      }
      regex_->find_all(word, matches);
      size_t prev = 0;
      for (const Span& m : matches) {  // Isolated: matches and the text between them
        if (prev != m.begin) add(out, word.substr(prev, m.begin - prev), piece.at_origin && !prev);
        add(out, word.substr(m.begin, m.end - m.begin), piece.at_origin && m.begin == 0);
        prev = m.end;
      }
      if (prev != word.size()) add(out, word.substr(prev), piece.at_origin && !prev);
    }
  }

 private:
  void add(PieceList& out, std::string_view word, bool at_origin) const {
    if (word.empty()) return;
    if (!map_bytes_) {
      out.add(word, at_origin);
      return;
    }
    const size_t begin = out.text.size();
    byte_level::append_chars(out.text, word);
    out.pieces.push_back({begin, out.text.size(), at_origin});
  }
  bool add_prefix_space_;
  bool map_bytes_;
  std::unique_ptr<TextPattern> regex_;
};

enum class Prepend { kAlways, kFirst, kNever };

class Metaspace : public PreTokenizer {
 public:
  Metaspace(std::string replacement, Prepend prepend, bool split)
      : replacement_(std::move(replacement)), prepend_(prepend), split_(split) {}
  void apply(const PieceList& in, PieceList& out) const override {
    out.clear();
    std::string word;
    for (const auto& piece : in.pieces) {
      const std::string_view src = in.view(piece);
      word.clear();
      for (char c : src) {
        if (c == ' ') {
          word += replacement_;
        } else {
          word.push_back(c);
        }
      }
      const bool starts = word.compare(0, replacement_.size(), replacement_) == 0;
      if (!starts &&
          (prepend_ == Prepend::kAlways || (prepend_ == Prepend::kFirst && piece.at_origin))) {
        word.insert(0, replacement_);
      }
      if (!split_) {
        out.add(word, piece.at_origin);
        continue;
      }
      // MergedWithNext on every replacement character: each word starts at one.
      size_t start = 0;
      size_t pos = word.find(replacement_, replacement_.size() > 0 ? 1 : 0);
      while (pos != std::string::npos && !replacement_.empty()) {
        out.add(std::string_view(word).substr(start, pos - start), piece.at_origin && !start);
        start = pos;
        pos = word.find(replacement_, pos + replacement_.size());
      }
      out.add(std::string_view(word).substr(start), piece.at_origin && !start);
    }
  }

 private:
  std::string replacement_;
  Prepend prepend_;
  bool split_;
};

class Digits : public PreTokenizer {
 public:
  explicit Digits(bool individual) : individual_(individual) {}
  void apply(const PieceList& in, PieceList& out) const override {
    out.clear();
    std::vector<Part> parts;
    for (const auto& piece : in.pieces) {
      const std::string_view word = in.view(piece);
      parts_from_chars(word, text::is_numeric, parts);
      emit_parts(word, piece.at_origin, parts,
                 individual_ ? Behavior::kIsolated : Behavior::kContiguous, out);
    }
  }

 private:
  bool individual_;
};

// WhitespaceSplit: whitespace removed, the rest kept in runs.
class WhitespaceSplit : public PreTokenizer {
 public:
  void apply(const PieceList& in, PieceList& out) const override {
    out.clear();
    std::vector<Part> parts;
    for (const auto& piece : in.pieces) {
      const std::string_view word = in.view(piece);
      parts_from_chars(word, text::is_whitespace, parts);
      emit_parts(word, piece.at_origin, parts, Behavior::kRemoved, out);
    }
  }
};

// Whitespace: the regex \w+|[^\w\s]+, its matches kept and the rest removed.
class Whitespace : public PreTokenizer {
 public:
  void apply(const PieceList& in, PieceList& out) const override {
    out.clear();
    for (const auto& piece : in.pieces) {
      const std::string_view word = in.view(piece);
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
            out.add(word.substr(run_start, at - run_start), piece.at_origin && run_start == 0);
          }
          run_class = cls;
          run_start = at;
        }
        p += len;
      }
    }
  }
};

class Sequence : public PreTokenizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {}
  void apply(const PieceList& in, PieceList& out) const override {
    if (steps_.empty()) {
      out = in;
      return;
    }
    PieceList a, b;
    const PieceList* src = &in;
    for (size_t i = 0; i < steps_.size(); ++i) {
      PieceList& dst = (i + 1 == steps_.size()) ? out : (i % 2 == 0 ? a : b);
      steps_[i]->apply(*src, dst);
      src = &dst;
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
      steps.push_back(build(children[i], file, last && i + 1 == children.size(), spec));
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
  return spec;
}

}  // namespace ctx::io
