// The tokenizer.json pipeline: repair UTF-8, cut out added tokens, normalise, pre-tokenize, BPE,
// wrap in the template. Per-thread scratch makes encode cheap and safe from many threads at once.
#include "io/tokenizer_json.h"

#include <algorithm>
#include <stdexcept>

#include "config/json_strict.h"
#include "io/added_tokens.h"
#include "io/bpe_model.h"
#include "io/byte_level.h"
#include "io/json_fields.h"
#include "io/normalizers.h"
#include "io/post_processor.h"
#include "io/pretokenizers.h"
#include "io/tokenizer_config.h"
#include "io/tokenizer_decoders.h"
#include "io/tokenizer_files.h"
#include "io/unicode_text.h"
#include "io/word_cache.h"

namespace ctx::io {

namespace {

using data::Token;
using json_fields::Where;

struct Scratch {
  std::string repaired;
  std::string normalized;
  std::vector<TextSegment> segments;
  std::vector<TextSegment> normalized_segments;
  // Buffers grown by one huge text are given back rather than kept for the thread's lifetime.
  void trim() {
    constexpr size_t kKeep = size_t{64} << 20;
    if (repaired.capacity() > kKeep) std::string().swap(repaired);
    if (normalized.capacity() > kKeep) std::string().swap(normalized);
  }
};

// Words from the pre-tokenizer straight into the model.
class ModelSink : public WordSink {
 public:
  ModelSink(const BpeModel& model, std::vector<Token>& ids)
      : model_(model), cache_(model.thread_cache()), ids_(ids) {}
  void word(std::string_view w, bool) override { model_.tokenize(w, cache_, ids_); }

 private:
  const BpeModel& model_;
  WordCache& cache_;
  std::vector<Token>& ids_;
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

class JsonTokenizer final : public data::Tokenizer {
 public:
  JsonTokenizer(const std::string& json_path, const std::string& config_path);

  std::vector<Token> encode(std::string_view text, bool add_special) const override;
  std::string decode(const std::vector<Token>& ids, bool skip_special) const override;
  std::string piece(Token id) const override;
  std::string token_text(Token id) const override;
  int64_t vocab_size() const override { return vocab_size_; }
  Token bos_id() const override { return bos_; }
  Token eos_id() const override { return eos_; }
  std::string kind() const override { return kind_; }
  std::string fingerprint() const override { return fingerprint_; }

 private:
  void read_added_tokens(const nlohmann::json& list, const std::string& file);
  void set_special_ids(const TokenizerConfig& config);
  Token id_of_name(const std::optional<std::string>& name) const;
  // Ids of one plain segment of the input (at_origin: it starts the input).
  void encode_segment(std::string_view segment, bool at_origin, std::vector<Token>& ids,
                      Scratch& s) const;
  // Ids of normalised text without added tokens.
  void encode_words(std::string_view text, bool at_origin, std::vector<Token>& ids) const;
  // The vocabulary string of an id, or nullptr.
  const std::string* token_string(Token id, bool for_decoding) const;

  std::unique_ptr<Normalizer> normalizer_;
  PreTokenizerSpec pre_;
  std::unique_ptr<BpeModel> model_;
  AddedVocabulary added_;
  SingleTemplate template_;
  DecoderSpec decoder_;
  int64_t vocab_size_ = 0;
  Token bos_ = -1;
  Token eos_ = -1;
  std::string kind_;
  std::string fingerprint_;
};

nlohmann::json parse_tokenizer_json(const std::string& bytes, const std::string& path) {
  nlohmann::json j;
  try {
    j = parse_json_strict(bytes, path);
  } catch (const JsonError& e) {
    throw TokenizerError(e.what());
  }
  const Where top{path, ""};
  if (!j.is_object()) json_fields::fail(top, "expected a JSON object");
  const std::string version = json_fields::optional_string(j, "version", "1.0", top);
  if (version != "1.0") json_fields::fail(top, "unknown tokenizer.json version '" + version + "'");
  if (!j.contains("model")) json_fields::fail(top, "missing 'model'");
  return j;
}

// "bpe-bytelevel", "bpe-metaspace" or "bpe", from the front end and the decoder.
std::string kind_of(const PreTokenizerSpec& pre, const DecoderSpec& decoder) {
  if (pre.has_byte_level || decoder.has_byte_level) return "bpe-bytelevel";
  if (pre.has_metaspace || decoder.has_metaspace) return "bpe-metaspace";
  return "bpe";
}

JsonTokenizer::JsonTokenizer(const std::string& json_path, const std::string& config_path) {
  const std::string bytes = read_tokenizer_file(json_path);
  const nlohmann::json j = parse_tokenizer_json(bytes, json_path);
  const nlohmann::json none;
  auto member = [&](const char* key) -> const nlohmann::json& {
    auto it = j.find(key);
    return it == j.end() ? none : *it;
  };
  normalizer_ = make_normalizer(member("normalizer"), json_path);
  pre_ = make_pre_tokenizer(member("pre_tokenizer"), json_path);
  model_ = std::make_unique<BpeModel>(member("model"), json_path, pre_.byte_level_words);
  template_ = make_post_processor(member("post_processor"), json_path);
  decoder_ = make_decoder(member("decoder"), json_path);
  if (!member("added_tokens").is_null()) read_added_tokens(member("added_tokens"), json_path);
  kind_ = kind_of(pre_, decoder_);

  vocab_size_ = model_->id_limit();
  for (const AddedToken& t : added_.tokens()) {
    vocab_size_ = std::max<int64_t>(vocab_size_, t.id + 1);
  }
  const TokenizerConfig config = read_tokenizer_config(config_path);
  set_special_ids(config);
  uint64_t h = fnv1a64(bytes);
  if (config.present) h = fnv1a64(config.bytes, fnv1a64(std::string_view("\0", 1), h));
  fingerprint_ = hex64(h);
}

void JsonTokenizer::set_special_ids(const TokenizerConfig& config) {
  if (config.present) {
    bos_ = id_of_name(config.bos_token);
    eos_ = id_of_name(config.eos_token);
  } else if (!template_.prefix.empty()) {
    bos_ = template_.prefix.front();  // no config: the template's leading special token
  }
}

void JsonTokenizer::read_added_tokens(const nlohmann::json& list, const std::string& file) {
  const Where where{file, "added_tokens"};
  if (!list.is_array()) json_fields::fail(where, "must be an array");
  for (const auto& item : list) {
    AddedToken t;
    t.content = json_fields::string_of(item, "content", where);
    const auto& id = json_fields::required(item, "id", where);
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= (1 << 26)) {
      json_fields::fail(where, "the id of '" + t.content + "' is not an integer in [0, 2^26)");
    }
    t.special = json_fields::optional_bool(item, "special", false, where);
    t.single_word = json_fields::optional_bool(item, "single_word", false, where);
    t.lstrip = json_fields::optional_bool(item, "lstrip", false, where);
    t.rstrip = json_fields::optional_bool(item, "rstrip", false, where);
    t.normalized = json_fields::optional_bool(item, "normalized", !t.special, where);
    // As `tokenizers` assigns ids: a token the model knows keeps the model's id.
    const Token model_id = model_->id_of(t.content);
    t.id = model_id >= 0 ? model_id : static_cast<Token>(id.get<int64_t>());
    t.match_text = t.content;
    if (t.normalized && normalizer_) normalizer_->normalize(t.match_text);
    added_.add(std::move(t));
  }
  added_.finish();
}

Token JsonTokenizer::id_of_name(const std::optional<std::string>& name) const {
  if (!name) return -1;
  if (const AddedToken* t = added_.by_content(*name)) return t->id;
  return model_->id_of(*name);
}

std::vector<Token> JsonTokenizer::encode(std::string_view text, bool add_special) const {
  if (text.size() >= (size_t{1} << 32) / 2) {  // word offsets are 32-bit; repair may grow the text
    throw std::length_error("tokenizer: one text of " + std::to_string(text.size()) +
                            " bytes is too long to encode at once (split it)");
  }
  Scratch& s = scratch();
  if (!text::is_valid_utf8(text)) {
    s.repaired = text::utf8_lossy(text);
    text = s.repaired;
  }
  std::vector<Token> ids;
  ids.reserve(text.size() / 3 + 4);
  if (add_special) ids = template_.prefix;
  std::vector<TextSegment> segments;
  segments.swap(s.segments);
  added_.split(text, /*normalized=*/false, segments);
  for (const TextSegment& seg : segments) {
    if (seg.token >= 0) {
      ids.push_back(seg.token);
    } else {
      encode_segment(text.substr(seg.begin, seg.end - seg.begin), seg.begin == 0, ids, s);
    }
  }
  segments.swap(s.segments);
  if (add_special) ids.insert(ids.end(), template_.suffix.begin(), template_.suffix.end());
  s.trim();
  return ids;
}

void JsonTokenizer::encode_segment(std::string_view segment, bool at_origin,
                                   std::vector<Token>& ids, Scratch& s) const {
  if (!normalizer_ && !added_.has_normalized()) {
    encode_words(segment, at_origin, ids);
    return;
  }
  s.normalized.assign(segment.data(), segment.size());
  if (normalizer_) normalizer_->normalize(s.normalized);
  const std::string_view normalized = s.normalized;
  if (!added_.has_normalized()) {
    encode_words(normalized, at_origin, ids);
    return;
  }
  added_.split(normalized, /*normalized=*/true, s.normalized_segments);
  for (const TextSegment& part : s.normalized_segments) {
    if (part.token >= 0) {
      ids.push_back(part.token);
    } else {
      encode_words(normalized.substr(part.begin, part.end - part.begin),
                   at_origin && part.begin == 0, ids);
    }
  }
}

void JsonTokenizer::encode_words(std::string_view text, bool at_origin,
                                 std::vector<Token>& ids) const {
  if (text.empty()) return;
  ModelSink sink(*model_, ids);
  if (pre_.pre_tokenizer) {
    pre_.pre_tokenizer->split(text, at_origin, sink);
  } else {
    sink.word(text, at_origin);
  }
}

const std::string* JsonTokenizer::token_string(Token id, bool for_decoding) const {
  if (const AddedToken* t = added_.by_id(id)) {
    // Decoding sees a normalized token as the normaliser wrote it, as in the reference.
    return for_decoding && t->normalized ? &t->match_text : &t->content;
  }
  return model_->token_of(id);
}

std::string JsonTokenizer::decode(const std::vector<Token>& ids, bool skip_special) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (Token id : ids) {
    const std::string* t = token_string(id, /*for_decoding=*/true);
    if (!t) {
      throw std::invalid_argument("token id " + std::to_string(id) + " is outside the vocabulary");
    }
    if (skip_special && added_.is_special_content(*t)) continue;
    tokens.push_back(*t);
  }
  return decode_tokens(decoder_, std::move(tokens));
}

std::string JsonTokenizer::piece(Token id) const {
  const std::string* t = token_string(id, /*for_decoding=*/false);
  return t ? *t : std::string();
}

std::string JsonTokenizer::token_text(Token id) const {
  if (const AddedToken* t = added_.by_id(id)) return t->content;
  const std::string* t = model_->token_of(id);
  if (!t) return "<invalid " + std::to_string(id) + ">";
  if (const int b = model_->byte_fallback() ? byte_piece_value(*t) : -1; b >= 0) {
    return text::escape_for_display(std::string(1, static_cast<char>(b)));
  }
  std::string shown;
  if (kind_ == "bpe-bytelevel" && byte_level::append_bytes(shown, *t)) {
    return text::escape_for_display(shown);
  }
  if (kind_ == "bpe-metaspace") return text::escape_for_display(metaspace_to_spaces(*t));
  return text::escape_for_display(*t);
}

}  // namespace

std::shared_ptr<const data::Tokenizer> load_tokenizer_json(const std::string& json_path,
                                                           const std::string& config_path) {
  return std::make_shared<const JsonTokenizer>(json_path, config_path);
}

}  // namespace ctx::io
