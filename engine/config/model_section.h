// The "model" section of a run config: parsing (shape checks, keys only the llama family has) and
// its JSON in the resolved config. Internal to engine/config; run_config.cpp puts the sections
// together.
#pragma once

#include <nlohmann/json.hpp>

#include "config/run_config.h"

namespace ctx::sections {

void parse_model(const nlohmann::json& j, ModelConfig& m);
nlohmann::json model_json(const ModelConfig& m);

}  // namespace ctx::sections
