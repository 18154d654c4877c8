// The one exception type of the Hugging Face tokenizer loaders (tokenizer.json, tokenizer.model,
// tokenizer_config.json): its message is one line naming the file and what is wrong with it.
#pragma once

#include <stdexcept>

#include "config/input_error.h"

namespace ctx::io {

struct TokenizerError : InputError {
  using InputError::InputError;
};

}  // namespace ctx::io
