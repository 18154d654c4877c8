// Byte-level tokenizer: ids 0..255 are the bytes themselves, then BOS, EOS and PAD.
// Any byte sequence (UTF-8 or not) round-trips exactly.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ctx::data {

using Token = int32_t;

struct ByteTokenizer {
  static constexpr Token kBos = 256;
  static constexpr Token kEos = 257;
  static constexpr Token kPad = 258;
  static constexpr int kVocabSize = 259;

  static std::vector<Token> encode(std::string_view text, bool add_bos = false, bool add_eos = false);
  // Special tokens are dropped; bytes are written back unchanged.
  static std::string decode(const std::vector<Token>& ids);
  static std::string token_text(Token t);  // "<bos>", "<eos>", "<pad>", or the byte (escaped when not printable)
};

}  // namespace ctx::data
