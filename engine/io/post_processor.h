// tokenizer.json post-processors for a single sequence (TemplateProcessing, ByteLevel, Sequence):
// the special ids placed before and after the text's ids when special tokens are added.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/tokenizer.h"

namespace ctx::io {

struct SingleTemplate {
  std::vector<data::Token> prefix;
  std::vector<data::Token> suffix;
};

// The single-sequence template of the post-processor `j` (null: nothing added). Unknown types
// (BertProcessing, RobertaProcessing, ...) throw TokenizerError naming the type.
SingleTemplate make_post_processor(const nlohmann::json& j, const std::string& file);

}  // namespace ctx::io
