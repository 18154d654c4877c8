// Internal to hf_config: the rope settings of a config.json from either format (classic
// rope_theta + rope_scaling, transformers 5's rope_parameters, plain or keyed by layer type).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace ctx::io::hf_detail {

struct RopeSettings {
  double theta = 10000.0;
  nlohmann::json scaling;  // null, or an object with "rope_type" != "default" and no rope_theta
  double partial_rotary_factor = 1.0;
};

// Reads rope_theta, rope_scaling, rope_parameters and partial_rotary_factor from the top level of
// `config`; when both formats are present they must agree. Throws HfConfigError naming `what`.
RopeSettings read_rope_settings(const nlohmann::json& config, const std::string& what);

}  // namespace ctx::io::hf_detail
