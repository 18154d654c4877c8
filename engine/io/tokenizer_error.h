// The one exception type of the Hugging Face tokenizer loaders (tokenizer.json, tokenizer.model,
// tokenizer_config.json): its message is one line naming the file and what is wrong with it.
#pragma once

#include <stdexcept>

namespace ctx::io {

struct TokenizerError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace ctx::io
