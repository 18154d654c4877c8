// The "data" section of a run config: the corpus, tokenizer and split keys, and the built-in
// corpus's size limit; its JSON in the resolved config. Internal to engine/config.
#pragma once

#include <nlohmann/json.hpp>

#include "config/run_config.h"

namespace ctx::sections {

void parse_data(const nlohmann::json& j, DataConfig& d);
nlohmann::json data_json(const DataConfig& d);

}  // namespace ctx::sections
