// Literal and PCRE2 patterns: compiled (JIT) code shared by all threads, match data and JIT stack
// per thread; subjects are valid UTF-8, so PCRE2's per-call UTF check is skipped.
#include "io/text_pattern.h"

#include <pcre2.h>

#include "io/json_fields.h"
#include "io/tokenizer_error.h"
#include "io/unicode_text.h"

namespace ctx::io {

struct TextPattern::Regex {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Regex() {
    if (code) pcre2_code_free(code);
  }
};

namespace {

// Per-thread match state: one ovector pair is all find_all needs, whatever the pattern.
struct MatchState {
  pcre2_match_data* data = nullptr;
  pcre2_match_context* context = nullptr;
  pcre2_jit_stack* stack = nullptr;
  MatchState() {
    data = pcre2_match_data_create(1, nullptr);
    context = pcre2_match_context_create(nullptr);
    // Long runs of whitespace under a lookahead can need more than the default 32 KiB.
    stack = pcre2_jit_stack_create(64 * 1024, 8 * 1024 * 1024, nullptr);
    if (context && stack) pcre2_jit_stack_assign(context, nullptr, stack);
  }
  ~MatchState() {
    if (stack) pcre2_jit_stack_free(stack);
    if (context) pcre2_match_context_free(context);
    if (data) pcre2_match_data_free(data);
  }
  MatchState(const MatchState&) = delete;
  MatchState& operator=(const MatchState&) = delete;
};

MatchState& match_state() {
  thread_local MatchState state;
  return state;
}

}  // namespace

TextPattern::TextPattern() = default;
TextPattern::TextPattern(TextPattern&&) noexcept = default;
TextPattern& TextPattern::operator=(TextPattern&&) noexcept = default;
TextPattern::~TextPattern() = default;

TextPattern TextPattern::literal(std::string text) {
  TextPattern p;
  p.literal_ = std::move(text);
  return p;
}

namespace {

// Oniguruma's Unicode classes where PCRE2's differ: \s is White_Space (PCRE2 adds U+180E) and \w
// is letters, marks, numbers and connector punctuation (PCRE2 10.42 leaves marks and Nl/No out).
constexpr const char* kSpace = "\\p{Z}\\t-\\r\\x{85}";
constexpr const char* kWord = "\\p{L}\\p{M}\\p{N}\\p{Pc}";

// `pattern` with \s, \S, \w, \W spelled as Oniguruma reads them (inside a character class only
// the positive forms can be spelled out; \S and \W there stay PCRE2's).
std::string as_oniguruma(const std::string& pattern) {
  std::string out;
  out.reserve(pattern.size() + 32);
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char d = pattern[++i];
      const char* set = (d == 's' || d == 'S') ? kSpace : (d == 'w' || d == 'W') ? kWord : nullptr;
      const bool negated = d == 'S' || d == 'W';
      if (set && in_class && !negated) {
        out += set;
      } else if (set && !in_class) {
        out += negated ? "[^" : "[";
        out += set;
        out += "]";
      } else {
        out.push_back(c);
        out.push_back(d);
      }
      continue;
    }
    out.push_back(c);
    if (!in_class && c == '[') {
      in_class = true;
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out.push_back(pattern[++i]);
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out.push_back(pattern[++i]);  // literal
    } else if (in_class && c == '[' && i + 1 < pattern.size() && pattern[i + 1] == ':') {
      const size_t close = pattern.find(":]", i + 2);  // [:alpha:] inside a class
      if (close != std::string::npos) {
        out.append(pattern, i + 1, close + 2 - (i + 1));
        i = close + 1;
      }
    } else if (in_class && c == ']') {
      in_class = false;
    }
  }
  return out;
}

}  // namespace

TextPattern TextPattern::regex(const std::string& source, const std::string& what) {
  const std::string pattern = as_oniguruma(source);
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
  if (!code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof message);
    std::string shown = source.size() > 80 ? source.substr(0, 80) + "..." : source;
    throw TokenizerError(what + ": invalid regex '" + shown + "' at offset " +
                         std::to_string(offset) + ": " + reinterpret_cast<const char*>(message));
  }
  TextPattern p;
  p.regex_ = std::make_unique<Regex>();
  p.regex_->code = code;
  p.regex_->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  return p;
}

bool TextPattern::Scanner::next(Span* match) {
  const size_t n = subject_.size();
  if (!pattern_.regex_) {
    const std::string& lit = pattern_.literal_;
    if (lit.empty() || pos_ > n) return false;
    const size_t at = subject_.find(lit, pos_);
    if (at == std::string_view::npos) {
      pos_ = n + 1;
      return false;
    }
    *match = {at, at + lit.size()};
    pos_ = at + lit.size();
    return true;
  }
  MatchState& st = match_state();
  const Regex& re = *pattern_.regex_;
  const auto* s = reinterpret_cast<PCRE2_SPTR>(subject_.data());
  while (pos_ <= n) {
    const int rc = re.jit
                       ? pcre2_jit_match(re.code, s, n, pos_, 0, st.data, st.context)
                       : pcre2_match(re.code, s, n, pos_, PCRE2_NO_UTF_CHECK, st.data, st.context);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof message);
      throw TokenizerError(std::string("regex match failed: ") +
                           reinterpret_cast<const char*>(message));
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(st.data);
    const size_t b = ov[0], e = ov[1];
    if (b == e && have_last_ && last_end_ == e) {
      // An empty match right after the previous one: step one character on.
      pos_ += pos_ < n ? static_cast<size_t>(text::utf8_length(s[pos_])) : 1;
      continue;
    }
    *match = {b, e};
    pos_ = e;
    have_last_ = true;
    last_end_ = e;
    return true;
  }
  pos_ = n + 1;
  return false;
}

void TextPattern::find_all(std::string_view subject, std::vector<Span>& out) const {
  out.clear();
  Scanner scanner(*this, subject);
  Span m;
  while (scanner.next(&m)) out.push_back(m);
}

// {"String": "..."} or {"Regex": "..."}, as Replace and Split write their patterns.
TextPattern pattern_from_json(const nlohmann::json& j, const json_fields::Where& where) {
  if (j.is_object() && j.size() == 1) {
    if (auto it = j.find("String"); it != j.end() && it->is_string()) {
      return TextPattern::literal(it->get<std::string>());
    }
    if (auto it = j.find("Regex"); it != j.end() && it->is_string()) {
      return TextPattern::regex(it->get<std::string>(), where.file + ": " + where.context);
    }
  }
  json_fields::fail(where, "'pattern' must be {\"String\": ...} or {\"Regex\": ...}");
}

}  // namespace ctx::io
