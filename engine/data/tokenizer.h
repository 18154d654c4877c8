// Tokenizers as the engine sees them (the Tokenizer interface), and the built-in byte-level one:
// ids 0..255 are the bytes themselves, then BOS, EOS and PAD, so any byte sequence (UTF-8 or not)
// round-trips exactly. Hugging Face tokenizers (tokenizer.json, SentencePiece) live in io/.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ctx::data {

using Token = int32_t;

// Text to ids and back. Implementations are immutable after loading and safe to share between
// threads (encode/decode are const and keep no mutable state visible to callers).
class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Ids of `text`. With add_special, the tokens the tokenizer's own template adds around a single
  // sequence (Llama's BOS, for example); without, the text's tokens alone. Special tokens written
  // in the text ("<|begin_of_text|>") are recognised either way, as Hugging Face does.
  virtual std::vector<Token> encode(std::string_view text, bool add_special = false) const = 0;
  // Text of `ids`; special tokens are left out when skip_special. Ids outside the vocabulary throw
  // std::invalid_argument.
  virtual std::string decode(const std::vector<Token>& ids, bool skip_special = true) const = 0;
  // The vocabulary entry as stored ("Ġthe", "▁the", "<0x0A>", "<s>"); "" for an unknown id.
  virtual std::string piece(Token id) const = 0;
  // What the token reads as, for display (hover text, `ctxlab-cli tokenize`): " the", "\n", "<s>".
  virtual std::string token_text(Token id) const = 0;
  virtual int64_t vocab_size() const = 0;
  virtual Token bos_id() const = 0;  // -1 when the tokenizer has none
  virtual Token eos_id() const = 0;  // -1 when the tokenizer has none
  // "byte", "bpe-bytelevel", "bpe-metaspace", "bpe" or "sentencepiece".
  virtual std::string kind() const = 0;
  // Identifies vocabulary and rules (a hash of the defining files), so a tokenized corpus can be
  // cached per (corpus, tokenizer).
  virtual std::string fingerprint() const = 0;
};

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

// The byte tokenizer behind the Tokenizer interface (encode adds BOS when add_special).
std::shared_ptr<const Tokenizer> byte_tokenizer();

}  // namespace ctx::data
