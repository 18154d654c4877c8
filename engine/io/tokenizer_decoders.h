// tokenizer.json decoders (ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, BPEDecoder,
// Sequence): token strings back to text, chained as `tokenizers`' decode_chain chains them.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ctx::io {

class TokenDecoder {
 public:
  virtual ~TokenDecoder() = default;
  // Rewrites the list of token strings (a decoder may fuse them into fewer).
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
};

struct DecoderSpec {
  std::unique_ptr<TokenDecoder> decoder;  // nullptr: tokens are joined with spaces
  bool has_byte_level = false;
  bool has_metaspace = false;  // a Metaspace decoder, or a Replace of "▁" by " "
};

// The decoder described by `j` (null: none). Unknown types throw TokenizerError naming the type.
DecoderSpec make_decoder(const nlohmann::json& j, const std::string& file);

// The decoded text of token strings under `spec` (the reference's Decoder::decode).
std::string decode_tokens(const DecoderSpec& spec, std::vector<std::string> tokens);

// The byte of a byte-fallback piece "<0xNN>" (as ByteFallback reads it), or -1.
int byte_piece_value(const std::string& piece);
// A SentencePiece-style piece for display: each "▁" as a space.
std::string metaspace_to_spaces(const std::string& piece);

}  // namespace ctx::io
