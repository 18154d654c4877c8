// The tokenizer a run config names (data.tokenizer, else its init.hf folder, else "byte"), loaded
// once per process and shared: runs, verbs and evaluations all go through here.
#pragma once

#include <memory>
#include <string>

#include "config/run_config.h"
#include "data/tokenizer.h"

namespace ctx::io {

// "byte" gives the byte tokenizer; anything else is a folder or file for load_tokenizer. Throws
// ConfigError naming data.tokenizer (or init.hf) and the problem.
std::shared_ptr<const data::Tokenizer> tokenizer_for(const RunConfig& c);
std::shared_ptr<const data::Tokenizer> tokenizer_at(const std::string& source,
                                                    const std::string& key);

// The model's output width: model.vocab_size, else the tokenizer's vocabulary.
int64_t model_vocab(const RunConfig& c, const data::Tokenizer& tok);

// The token that separates documents in a packed stream and opens every evaluation window: the
// tokenizer's BOS, else its EOS (Qwen2 has no BOS), else the byte tokenizer's BOS.
data::Token separator_token(const data::Tokenizer& tok);

}  // namespace ctx::io
