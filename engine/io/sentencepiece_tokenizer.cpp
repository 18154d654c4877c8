// SentencePiece through SentencePieceProcessor (its const encode / decode are thread-safe); control
// tokens written in the text ("<s>") stay plain text, as in sentencepiece itself.
#include "io/sentencepiece_tokenizer.h"

#include <sentencepiece_processor.h>

#include <stdexcept>
#include <vector>

#include "io/tokenizer_config.h"
#include "io/tokenizer_decoders.h"
#include "io/tokenizer_files.h"
#include "io/unicode_text.h"

namespace ctx::io {

namespace {

using data::Token;

class SentencePieceTokenizer final : public data::Tokenizer {
 public:
  SentencePieceTokenizer(const std::string& model_path, const std::string& config_path);

  std::vector<Token> encode(std::string_view text, bool add_special) const override;
  std::string decode(const std::vector<Token>& ids, bool skip_special) const override;
  std::string piece(Token id) const override;
  std::string token_text(Token id) const override;
  int64_t vocab_size() const override { return sp_.GetPieceSize(); }
  Token bos_id() const override { return sp_.bos_id(); }
  Token eos_id() const override { return sp_.eos_id(); }
  std::string kind() const override { return "sentencepiece"; }
  std::string fingerprint() const override { return fingerprint_; }

 private:
  bool valid(Token id) const { return id >= 0 && id < sp_.GetPieceSize(); }
  std::string decode_run(const std::vector<int>& run) const;

  sentencepiece::SentencePieceProcessor sp_;
  bool add_bos_ = true;
  bool add_eos_ = false;
  std::string fingerprint_;
};

SentencePieceTokenizer::SentencePieceTokenizer(const std::string& model_path,
                                               const std::string& config_path) {
  const std::string bytes = read_tokenizer_file(model_path);
  const auto status = sp_.LoadFromSerializedProto(bytes);
  if (!status.ok() || sp_.GetPieceSize() <= 0) {
    std::string reason = status.ok() ? "it has no pieces" : status.error_message();
    if (reason.find("ParseFromArray") != std::string::npos) reason = "it is not a model protobuf";
    while (!reason.empty() && reason.back() == ' ') reason.pop_back();
    throw TokenizerError(model_path + " is not a SentencePiece model (" + reason + ")");
  }
  const TokenizerConfig config = read_tokenizer_config(config_path);
  add_bos_ = config.add_bos_token;
  add_eos_ = config.add_eos_token;
  uint64_t h = fnv1a64(bytes);
  if (config.present) h = fnv1a64(config.bytes, fnv1a64(std::string_view("\0", 1), h));
  fingerprint_ = hex64(h);
}

std::vector<Token> SentencePieceTokenizer::encode(std::string_view text, bool add_special) const {
  std::vector<int> ids;
  const auto status = sp_.Encode(text, &ids);
  if (!status.ok())
    throw std::runtime_error(std::string("sentencepiece: ") + status.error_message());
  std::vector<Token> out;
  out.reserve(ids.size() + 2);
  if (add_special && add_bos_ && sp_.bos_id() >= 0) out.push_back(sp_.bos_id());
  out.insert(out.end(), ids.begin(), ids.end());
  if (add_special && add_eos_ && sp_.eos_id() >= 0) out.push_back(sp_.eos_id());
  return out;
}

std::string SentencePieceTokenizer::decode_run(const std::vector<int>& run) const {
  std::string text;
  const auto status = sp_.Decode(run, &text);
  if (!status.ok())
    throw std::runtime_error(std::string("sentencepiece: ") + status.error_message());
  return text;
}

std::string SentencePieceTokenizer::decode(const std::vector<Token>& ids, bool skip_special) const {
  for (Token id : ids) {
    if (!valid(id)) {
      throw std::invalid_argument("token id " + std::to_string(id) + " is outside the vocabulary");
    }
  }
  if (skip_special) return decode_run(std::vector<int>(ids.begin(), ids.end()));
  // Control tokens written as their pieces between the decoded runs around them; a run after
  // text keeps the space its first piece stands for (sentencepiece drops it only at the start).
  std::string out;
  std::vector<int> run;
  bool text_before = false;
  auto flush = [&] {
    if (run.empty()) return;
    std::string part = decode_run(run);
    if (text_before && sp_.IdToPiece(run.front()).rfind("\xE2\x96\x81", 0) == 0) {
      part.insert(0, " ");
    }
    text_before = text_before || !part.empty();
    out += part;
    run.clear();
  };
  for (Token id : ids) {
    if (sp_.IsControl(id)) {
      flush();
      out += sp_.IdToPiece(id);
    } else {
      run.push_back(id);
    }
  }
  flush();
  return out;
}

std::string SentencePieceTokenizer::piece(Token id) const {
  return valid(id) ? sp_.IdToPiece(id) : std::string();
}

std::string SentencePieceTokenizer::token_text(Token id) const {
  if (!valid(id)) return "<invalid " + std::to_string(id) + ">";
  const std::string& p = sp_.IdToPiece(id);
  if (sp_.IsControl(id) || sp_.IsUnknown(id)) return p;
  if (const int b = sp_.IsByte(id) ? byte_piece_value(p) : -1; b >= 0) {
    return text::escape_for_display(std::string(1, static_cast<char>(b)));
  }
  return text::escape_for_display(metaspace_to_spaces(p));
}

}  // namespace

std::shared_ptr<const data::Tokenizer> load_sentencepiece(const std::string& model_path,
                                                          const std::string& config_path) {
  return std::make_shared<const SentencePieceTokenizer>(model_path, config_path);
}

}  // namespace ctx::io
