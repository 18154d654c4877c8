// tokenizer.json normalizers (NFC, NFD, NFKC, NFKD, Lowercase, Strip, Replace, Prepend, Sequence)
// applied to each text segment between added tokens, as Hugging Face `tokenizers` applies them.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace ctx::io {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // Rewrites `s` (valid UTF-8) in place.
  virtual void normalize(std::string& s) const = 0;
};

// The normalizer described by `j` (null: none, returns nullptr). Unknown types throw
// TokenizerError naming the type; `file` names the source in errors.
std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& j, const std::string& file);

}  // namespace ctx::io
