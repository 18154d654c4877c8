// tokenizer_config.json as the tokenizer loaders need it: the BOS / EOS token names (a string or
// {"content": ...}, or null) and add_bos_token / add_eos_token. Other keys are ignored.
#pragma once

#include <optional>
#include <string>

namespace ctx::io {

struct TokenizerConfig {
  bool present = false;  // the file exists
  std::string bytes;     // its contents (part of the fingerprint)
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
  bool add_bos_token = true;
  bool add_eos_token = false;
};

// Reads `path`; a missing file gives the defaults with present = false. Malformed JSON or
// mistyped keys throw TokenizerError naming the file.
TokenizerConfig read_tokenizer_config(const std::string& path);

}  // namespace ctx::io
