// Byte-level tokenizer: the identity on bytes plus three special ids, so any file round-trips and
// the vocabulary never depends on the corpus.
#include "data/tokenizer.h"

#include <stdexcept>

namespace ctx::data {

std::vector<Token> ByteTokenizer::encode(std::string_view text, bool add_bos, bool add_eos) {
  std::vector<Token> ids;
  ids.reserve(text.size() + (add_bos ? 1 : 0) + (add_eos ? 1 : 0));
  if (add_bos) ids.push_back(kBos);
  // Through unsigned char: a plain char is signed on x86 and 0xFF would become -1.
  for (char c : text) ids.push_back(static_cast<Token>(static_cast<unsigned char>(c)));
  if (add_eos) ids.push_back(kEos);
  return ids;
}

std::string ByteTokenizer::decode(const std::vector<Token>& ids) {
  std::string out;
  out.reserve(ids.size());
  for (Token t : ids) {
    if (t >= 0 && t < 256) {
      out.push_back(static_cast<char>(static_cast<unsigned char>(t)));
    } else if (t < 0 || t >= kVocabSize) {
      // An id outside the vocabulary is a bug upstream (wrong head size, garbage tensor); dropping
      // it silently would hide that.
      throw std::invalid_argument("token id " + std::to_string(t) + " is outside the vocabulary");
    }
  }
  return out;
}

std::string ByteTokenizer::token_text(Token t) {
  switch (t) {
    case kBos:
      return "<bos>";
    case kEos:
      return "<eos>";
    case kPad:
      return "<pad>";
    case '\n':
      return "\\n";
    case '\t':
      return "\\t";
    case '\r':
      return "\\r";
    case '\\':
      return "\\\\";  // escaped so that "\x41" and a literal backslash never look alike
    default:
      break;
  }
  if (t < 0 || t >= kVocabSize) return "<invalid " + std::to_string(t) + ">";
  if (t >= 0x20 && t < 0x7F) return std::string(1, static_cast<char>(t));
  static const char* kHex = "0123456789abcdef";
  return std::string{'\\', 'x', kHex[(t >> 4) & 0xF], kHex[t & 0xF]};
}

namespace {

class ByteTokenizerAdapter : public Tokenizer {
 public:
  std::vector<Token> encode(std::string_view text, bool add_special) const override {
    return ByteTokenizer::encode(text, add_special, false);
  }
  std::string decode(const std::vector<Token>& ids, bool /*skip_special: specials never decode*/) const override {
    return ByteTokenizer::decode(ids);
  }
  std::string piece(Token id) const override {
    if (id < 0 || id >= ByteTokenizer::kVocabSize) return "";
    if (id < 256) return std::string(1, static_cast<char>(static_cast<unsigned char>(id)));
    return ByteTokenizer::token_text(id);
  }
  std::string token_text(Token id) const override { return ByteTokenizer::token_text(id); }
  int64_t vocab_size() const override { return ByteTokenizer::kVocabSize; }
  Token bos_id() const override { return ByteTokenizer::kBos; }
  Token eos_id() const override { return ByteTokenizer::kEos; }
  std::string kind() const override { return "byte"; }
  std::string fingerprint() const override { return "byte-259"; }
};

}  // namespace

std::shared_ptr<const Tokenizer> byte_tokenizer() {
  static const auto tok = std::make_shared<const ByteTokenizerAdapter>();
  return tok;
}

}  // namespace ctx::data
