// Decoders of tokenizer.json with the Rust implementation's corner cases (ByteLevel's lossy UTF-8,
// ByteFallback's U+FFFD per byte of an invalid run, Metaspace dropping the first leading space).
#include "io/tokenizer_decoders.h"

#include "io/byte_level.h"
#include "io/json_fields.h"
#include "io/text_pattern.h"
#include "io/unicode_text.h"

namespace ctx::io {

namespace {

using json_fields::Where;

class ByteLevelDecoder : public TokenDecoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string bytes;
    for (const std::string& t : tokens) {
      if (!byte_level::append_bytes(bytes, t)) bytes += t;
    }
    tokens.assign(1, text::utf8_lossy(bytes));
  }
};

class MetaspaceDecoder : public TokenDecoder {
 public:
  MetaspaceDecoder(std::string replacement, bool prepends)
      : replacement_(std::move(replacement)), prepends_(prepends) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string out;
      const std::string& t = tokens[i];
      size_t pos = 0;
      while (pos < t.size()) {
        if (t.compare(pos, replacement_.size(), replacement_) == 0) {
          if (i != 0 || !prepends_) out.push_back(' ');
          pos += replacement_.size();
        } else {
          out.push_back(t[pos++]);
        }
      }
      tokens[i].swap(out);
    }
  }

 private:
  std::string replacement_;
  bool prepends_;  // prepend_scheme is not "never"
};

class ReplaceDecoder : public TokenDecoder {
 public:
  ReplaceDecoder(TextPattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<Span> matches;
    for (std::string& t : tokens) {
      pattern_.find_all(t, matches);
      if (matches.empty()) continue;
      std::string out;
      size_t last = 0;
      for (const Span& m : matches) {
        out.append(t, last, m.begin - last);
        out += content_;
        last = m.end;
      }
      out.append(t, last, std::string::npos);
      t.swap(out);
    }
  }

 private:
  TextPattern pattern_;
  std::string content_;
};

}  // namespace

// "<0xNN>" as Rust's u8::from_str_radix(&t[3..5], 16) reads it (which also takes "+N").
int byte_piece_value(const std::string& t) {
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (t[3] == '+') return hex(t[4]);
  const int hi = hex(t[3]), lo = hex(t[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

std::string metaspace_to_spaces(const std::string& piece) {
  std::string shown;
  shown.reserve(piece.size());
  for (size_t pos = 0; pos < piece.size();) {
    if (piece.compare(pos, 3, "\xE2\x96\x81") == 0) {
      shown.push_back(' ');
      pos += 3;
    } else {
      shown.push_back(piece[pos++]);
    }
  }
  return shown;
}

namespace {

class ByteFallbackDecoder : public TokenDecoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    out.reserve(tokens.size());
    std::string pending;
    auto flush = [&] {
      if (pending.empty()) return;
      if (text::is_valid_utf8(pending)) {
        out.push_back(pending);
      } else {
        for (size_t i = 0; i < pending.size(); ++i) out.emplace_back("\xEF\xBF\xBD");
      }
      pending.clear();
    };
    for (std::string& t : tokens) {
      const int b = byte_piece_value(t);
      if (b >= 0) {
        pending.push_back(static_cast<char>(b));
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    tokens.swap(out);
  }
};

class FuseDecoder : public TokenDecoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string all;
    for (const std::string& t : tokens) all += t;
    tokens.assign(1, std::move(all));
  }
};

class StripDecoder : public TokenDecoder {
 public:
  StripDecoder(char32_t content, size_t start, size_t stop)
      : content_(content), start_(start), stop_(stop) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::string& t : tokens) {
      std::vector<std::pair<size_t, char32_t>> chars;  // byte offset, code point
      for (size_t i = 0; i < t.size();) {
        char32_t cp;
        const int len = text::decode_utf8(t.data() + i, t.data() + t.size(), &cp);
        chars.emplace_back(i, cp);
        i += len;
      }
      size_t start_cut = 0;
      for (size_t i = 0; i < start_ && i < chars.size() && chars[i].second == content_; ++i) {
        start_cut = i + 1;
      }
      size_t stop_cut = chars.size();
      for (size_t i = 0; i < stop_ && i < chars.size(); ++i) {
        const size_t index = chars.size() - i - 1;
        if (chars[index].second != content_) break;
        stop_cut = index;
      }
      if (stop_cut < start_cut) stop_cut = start_cut;
      const size_t b = start_cut < chars.size() ? chars[start_cut].first : t.size();
      const size_t e = stop_cut < chars.size() ? chars[stop_cut].first : t.size();
      t = t.substr(b, e - b);
    }
  }

 private:
  char32_t content_;
  size_t start_, stop_;
};

class BpeSuffixDecoder : public TokenDecoder {
 public:
  explicit BpeSuffixDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (suffix_.empty()) continue;
      const std::string with = i + 1 == tokens.size() ? "" : " ";
      std::string out;
      const std::string& t = tokens[i];
      size_t last = 0, pos;
      while ((pos = t.find(suffix_, last)) != std::string::npos) {
        out.append(t, last, pos - last);
        out += with;
        last = pos + suffix_.size();
      }
      out.append(t, last, std::string::npos);
      tokens[i].swap(out);
    }
  }

 private:
  std::string suffix_;
};

class SequenceDecoder : public TokenDecoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<TokenDecoder>> steps)
      : steps_(std::move(steps)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (const auto& step : steps_) step->decode_chain(tokens);
  }

 private:
  std::vector<std::unique_ptr<TokenDecoder>> steps_;
};

char32_t one_char(const std::string& s, const char* key, const Where& where) {
  char32_t cp = 0;
  if (s.empty() ||
      text::decode_utf8(s.data(), s.data() + s.size(), &cp) != static_cast<int>(s.size())) {
    json_fields::fail(where, std::string("'") + key + "' must be one character");
  }
  return cp;
}

std::unique_ptr<TokenDecoder> build(const nlohmann::json& j, const std::string& file,
                                    DecoderSpec& spec) {
  const std::string type = json_fields::type_of(j, Where{file, "decoder"});
  const Where where{file, "decoder '" + type + "'"};
  if (type == "ByteLevel") {
    spec.has_byte_level = true;
    return std::make_unique<ByteLevelDecoder>();
  }
  if (type == "Metaspace") {
    spec.has_metaspace = true;
    const std::string replacement = json_fields::string_of(j, "replacement", where);
    one_char(replacement, "replacement", where);
    const bool legacy_prefix = json_fields::optional_bool(j, "add_prefix_space", true, where);
    const std::string scheme = json_fields::optional_string(
        j, "prepend_scheme", legacy_prefix ? "always" : "never", where);
    if (scheme != "always" && scheme != "first" && scheme != "never") {
      json_fields::fail(where, "unknown prepend_scheme '" + scheme + "'");
    }
    return std::make_unique<MetaspaceDecoder>(replacement, scheme != "never");
  }
  if (type == "Replace") {
    const auto& pattern = json_fields::required(j, "pattern", where);
    const std::string content = json_fields::string_of(j, "content", where);
    const auto literal = pattern.is_object() ? pattern.find("String") : pattern.end();
    if (literal != pattern.end() && literal->is_string() &&
        literal->get<std::string>() == "\xE2\x96\x81" && content == " ") {
      spec.has_metaspace = true;
    }
    return std::make_unique<ReplaceDecoder>(pattern_from_json(pattern, where), content);
  }
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Strip") {
    const std::string content = json_fields::string_of(j, "content", where);
    return std::make_unique<StripDecoder>(
        one_char(content, "content", where),
        static_cast<size_t>(json_fields::optional_count(j, "start", 0, where)),
        static_cast<size_t>(json_fields::optional_count(j, "stop", 0, where)));
  }
  if (type == "BPEDecoder") {
    return std::make_unique<BpeSuffixDecoder>(
        json_fields::optional_string(j, "suffix", "</w>", where));
  }
  if (type == "Sequence") {
    std::vector<std::unique_ptr<TokenDecoder>> steps;
    for (const auto& child : json_fields::array_of(j, "decoders", where)) {
      steps.push_back(build(child, file, spec));
    }
    return std::make_unique<SequenceDecoder>(std::move(steps));
  }
  json_fields::fail(Where{file, ""}, "decoder '" + type +
                                         "' is not supported (supported: ByteLevel, Metaspace, "
                                         "Replace, ByteFallback, Fuse, Strip, BPEDecoder, "
                                         "Sequence)");
}

}  // namespace

DecoderSpec make_decoder(const nlohmann::json& j, const std::string& file) {
  DecoderSpec spec;
  if (!j.is_null()) spec.decoder = build(j, file, spec);
  return spec;
}

std::string decode_tokens(const DecoderSpec& spec, std::vector<std::string> tokens) {
  std::string out;
  if (!spec.decoder) {
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i) out.push_back(' ');
      out += tokens[i];
    }
    return out;
  }
  spec.decoder->decode_chain(tokens);
  for (const std::string& t : tokens) out += t;
  return out;
}

}  // namespace ctx::io
