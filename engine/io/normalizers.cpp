// Normalizers of tokenizer.json. Each follows the Rust implementation's observable behaviour:
// Prepend skips empty strings, Strip uses Unicode White_Space, Lowercase maps code points alone.
#include "io/normalizers.h"

#include <vector>

#include "io/json_fields.h"
#include "io/text_pattern.h"
#include "io/unicode_text.h"

namespace ctx::io {

namespace {

using json_fields::Where;

class UnicodeForm : public Normalizer {
 public:
  explicit UnicodeForm(text::NormalForm form) : form_(form) {}
  void normalize(std::string& s) const override { text::normalize(form_, s); }

 private:
  text::NormalForm form_;
};

class Lowercase : public Normalizer {
 public:
  void normalize(std::string& s) const override { text::lowercase(s); }
};

class Strip : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  void normalize(std::string& s) const override {
    const char* begin = s.data();
    const char* end = begin + s.size();
    const char* p = begin;
    if (left_) {
      while (p < end) {
        char32_t cp;
        const int n = text::decode_utf8(p, end, &cp);
        if (!text::is_whitespace(cp)) break;
        p += n;
      }
    }
    const char* q = end;
    if (right_) {
      while (q > p) {
        const char* start = q - 1;
        while (start > p && (static_cast<unsigned char>(*start) & 0xC0) == 0x80) --start;
        char32_t cp;
        text::decode_utf8(start, q, &cp);
        if (!text::is_whitespace(cp)) break;
        q = start;
      }
    }
    s = std::string(p, q);
  }

 private:
  bool left_, right_;
};

class Replace : public Normalizer {
 public:
  Replace(TextPattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void normalize(std::string& s) const override {
    std::vector<Span> matches;
    pattern_.find_all(s, matches);
    if (matches.empty()) return;
    std::string out;
    out.reserve(s.size() + matches.size() * content_.size());
    size_t last = 0;
    for (const Span& m : matches) {
      out.append(s, last, m.begin - last);
      out += content_;
      last = m.end;
    }
    out.append(s, last, std::string::npos);
    s.swap(out);
  }

 private:
  TextPattern pattern_;
  std::string content_;
};

class Prepend : public Normalizer {
 public:
  explicit Prepend(std::string prefix) : prefix_(std::move(prefix)) {}
  void normalize(std::string& s) const override {
    if (!s.empty()) s.insert(0, prefix_);
  }

 private:
  std::string prefix_;
};

class Sequence : public Normalizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Normalizer>> steps) : steps_(std::move(steps)) {}
  void normalize(std::string& s) const override {
    for (const auto& step : steps_) step->normalize(s);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& j, const std::string& file) {
  if (j.is_null()) return nullptr;
  const std::string type = json_fields::type_of(j, Where{file, "normalizer"});
  const Where where{file, "normalizer '" + type + "'"};
  if (type == "NFC") return std::make_unique<UnicodeForm>(text::NormalForm::kNFC);
  if (type == "NFD") return std::make_unique<UnicodeForm>(text::NormalForm::kNFD);
  if (type == "NFKC") return std::make_unique<UnicodeForm>(text::NormalForm::kNFKC);
  if (type == "NFKD") return std::make_unique<UnicodeForm>(text::NormalForm::kNFKD);
  if (type == "Lowercase") return std::make_unique<Lowercase>();
  if (type == "Strip") {
    return std::make_unique<Strip>(json_fields::optional_bool(j, "strip_left", true, where),
                                   json_fields::optional_bool(j, "strip_right", true, where));
  }
  if (type == "Replace") {
    return std::make_unique<Replace>(
        pattern_from_json(json_fields::required(j, "pattern", where), where),
        json_fields::string_of(j, "content", where));
  }
  if (type == "Prepend") {
    return std::make_unique<Prepend>(json_fields::string_of(j, "prepend", where));
  }
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Normalizer>> steps;
    for (const auto& child : json_fields::array_of(j, "normalizers", where)) {
      if (auto step = make_normalizer(child, file)) steps.push_back(std::move(step));
    }
    return std::make_unique<Sequence>(std::move(steps));
  }
  json_fields::fail(Where{file, ""},
                    "normalizer '" + type +
                        "' is not supported (supported: NFC, NFD, NFKC, NFKD, Lowercase, Strip, "
                        "Replace, Prepend, Sequence)");
}

}  // namespace ctx::io
