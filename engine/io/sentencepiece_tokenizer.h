// tokenizer.model as a data::Tokenizer through the system's libsentencepiece; BOS / EOS from the
// model, added as tokenizer_config.json's add_bos_token / add_eos_token say.
#pragma once

#include <memory>
#include <string>

#include "data/tokenizer.h"
#include "io/tokenizer_error.h"

namespace ctx::io {

// Loads `model_path`; `config_path` (may be "" or a missing file) supplies add_bos_token (default
// true) and add_eos_token (default false). A file that is not a SentencePiece model throws
// TokenizerError "PATH is not a SentencePiece model (...)".
std::shared_ptr<const data::Tokenizer> load_sentencepiece(const std::string& model_path,
                                                          const std::string& config_path);

}  // namespace ctx::io
