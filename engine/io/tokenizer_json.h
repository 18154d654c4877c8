// Hugging Face tokenizer.json (BPE model) as a data::Tokenizer, id for id as `tokenizers` 0.23
// encodes; truncation and padding settings in the file are ignored.
#pragma once

#include <memory>
#include <string>

#include "data/tokenizer.h"
#include "io/tokenizer_error.h"

namespace ctx::io {

// Loads `json_path`; `config_path` (may be "" or a missing file) supplies the BOS / EOS names.
// Everything wrong with the files throws one-line TokenizerError naming the file.
std::shared_ptr<const data::Tokenizer> load_tokenizer_json(const std::string& json_path,
                                                           const std::string& config_path);

}  // namespace ctx::io
