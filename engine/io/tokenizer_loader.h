// One entry point for Hugging Face tokenizers: a model folder (tokenizer.json preferred, else
// tokenizer.model) or a tokenizer file, with tokenizer_config.json beside it when present.
#pragma once

#include <memory>
#include <string>

#include "data/tokenizer.h"
#include "io/tokenizer_error.h"  // TokenizerError, thrown for every problem with the files

namespace ctx::io {

// The tokenizer at `path`: a folder, a tokenizer.json-style file or a SentencePiece model.
// Throws TokenizerError (one line, naming the file or folder) when there is none or it is bad.
std::shared_ptr<const data::Tokenizer> load_tokenizer(const std::string& path);

}  // namespace ctx::io
