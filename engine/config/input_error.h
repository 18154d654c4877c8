// The one base type of bad-input errors (a config key, a corpus, a store file, a checkpoint, a
// tokenizer, a command-line value): one line naming the file, key or value. ctxlab-cli exits 2 on
// any of them; everything else that escapes is an internal error (exit 1).
#pragma once

#include <stdexcept>

namespace ctx {

struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace ctx
