// The "train" section of a run config: optimisation, device, positions sampler, precision, LoRA
// (train.lora), staged lengths (train.stages) and the distributed keys; its JSON in the resolved
// config. Internal to engine/config; TrainConfig's stage arithmetic lives here too.
#pragma once

#include <nlohmann/json.hpp>

#include "config/run_config.h"

namespace ctx::sections {

void parse_train(const nlohmann::json& j, TrainConfig& t);
nlohmann::json train_json(const TrainConfig& t);

}  // namespace ctx::sections
