// Typed method parameters: what the CLI validates, `methods --json` prints and the window turns
// into form fields. Resolution fills defaults and rejects unknown keys, wrong types, out-of-range values.
#pragma once

#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ctx {

enum class ParamType { Int, Float, Bool, String, Choice, FloatList };

struct ParamSpec {
  std::string key;
  ParamType type = ParamType::Float;
  nlohmann::json default_value;  // null = required (no default)
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  std::vector<std::string> choices;  // for Choice
  std::string doc;
};

std::string to_string(ParamType t);

// Returns `given` completed with defaults. `where` prefixes error messages ("rope_scaling",
// "model.position"). `ignored` keys are accepted without a spec (e.g. "type", "rope_type").
nlohmann::json resolve_params(const std::vector<ParamSpec>& specs, const nlohmann::json& given,
                              const std::string& where, const std::vector<std::string>& ignored = {});

nlohmann::json to_json(const ParamSpec& p);

}  // namespace ctx
