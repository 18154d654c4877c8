// Resolution of typed method parameters against their specs (defaults, types, ranges, unknown keys).
#include "methods/param_spec.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "config/json_strict.h"  // printable
#include "config/run_config.h"

namespace ctx {

std::string to_string(ParamType t) {
  switch (t) {
    case ParamType::Int: return "int";
    case ParamType::Float: return "float";
    case ParamType::Bool: return "bool";
    case ParamType::String: return "string";
    case ParamType::Choice: return "choice";
    case ParamType::FloatList: return "float_list";
  }
  return "?";
}

namespace {

void check_range(const ParamSpec& p, double v, const std::string& key) {
  if (!std::isfinite(v)) throw ConfigError(key + ": must be a finite number");
  if (v < p.min || v > p.max) {
    std::string range = std::isinf(p.max) ? ">= " + config_number(p.min)
                        : std::isinf(p.min) ? "<= " + config_number(p.max)
                                            : "in [" + config_number(p.min) + ", " + config_number(p.max) + "]";
    throw ConfigError(key + ": must be " + range + " (got " + config_number(v) + ")");
  }
}

nlohmann::json check_value(const ParamSpec& p, const nlohmann::json& v, const std::string& key) {
  switch (p.type) {
    case ParamType::Int:
      if (!v.is_number_integer() && !(v.is_number_float() && std::floor(v.get<double>()) == v.get<double>()))
        throw ConfigError(key + ": must be an integer (got " + v.dump() + ")");
      check_range(p, v.get<double>(), key);
      return v.get<int64_t>();
    case ParamType::Float:
      if (!v.is_number()) throw ConfigError(key + ": must be a number (got " + v.dump() + ")");
      check_range(p, v.get<double>(), key);
      return v.get<double>();
    case ParamType::Bool:
      if (!v.is_boolean()) throw ConfigError(key + ": must be true or false (got " + v.dump() + ")");
      return v;
    case ParamType::String:
      if (!v.is_string()) throw ConfigError(key + ": must be a string (got " + v.dump() + ")");
      return v;
    case ParamType::Choice: {
      if (!v.is_string()) throw ConfigError(key + ": must be a string (got " + v.dump() + ")");
      auto s = v.get<std::string>();
      if (std::find(p.choices.begin(), p.choices.end(), s) == p.choices.end()) {
        std::string all;
        for (auto& c : p.choices) all += (all.empty() ? "" : ", ") + c;
        throw ConfigError(key + ": unknown value '" + s + "' (one of: " + all + ")");
      }
      return v;
    }
    case ParamType::FloatList: {
      if (!v.is_array()) throw ConfigError(key + ": must be a list of numbers (got " + v.dump() + ")");
      for (size_t i = 0; i < v.size(); ++i) {
        if (!v[i].is_number())
          throw ConfigError(key + "[" + std::to_string(i) + "]: must be a number (got " + v[i].dump() + ")");
        check_range(p, v[i].get<double>(), key + "[" + std::to_string(i) + "]");
      }
      return v;
    }
  }
  return v;
}

}  // namespace

nlohmann::json resolve_params(const std::vector<ParamSpec>& specs, const nlohmann::json& given,
                              const std::string& where, const std::vector<std::string>& ignored) {
  if (!given.is_null() && !given.is_object())
    throw ConfigError(where + ": must be an object (got " + given.dump() + ")");
  nlohmann::json out = nlohmann::json::object();
  if (given.is_object()) {
    for (auto& [k, v] : given.items()) {
      const std::string& key = k;  // a lambda may not capture a structured binding before C++20
      bool known = std::any_of(specs.begin(), specs.end(), [&](auto& p) { return p.key == key; }) ||
                   std::find(ignored.begin(), ignored.end(), k) != ignored.end();
      if (!known) {
        std::string all;
        for (auto& p : specs) all += (all.empty() ? "" : ", ") + p.key;
        throw ConfigError(where + "." + printable(k) + ": unknown key" + (all.empty() ? "" : " (known: " + all + ")"));
      }
    }
  }
  for (auto& p : specs) {
    std::string key = where + "." + p.key;
    if (given.is_object() && given.contains(p.key) && !given[p.key].is_null()) {
      out[p.key] = check_value(p, given[p.key], key);
    } else if (!p.default_value.is_null()) {
      out[p.key] = p.default_value;
    } else if (p.type == ParamType::FloatList) {
      out[p.key] = nullptr;  // optional list left unset
    } else {
      throw ConfigError(key + ": required");
    }
  }
  return out;
}

nlohmann::json to_json(const ParamSpec& p) {
  nlohmann::json j{{"key", p.key}, {"type", to_string(p.type)}, {"default", p.default_value}, {"doc", p.doc}};
  if (std::isfinite(p.min)) j["min"] = p.min;
  if (std::isfinite(p.max)) j["max"] = p.max;
  if (!p.choices.empty()) j["choices"] = p.choices;
  return j;
}

}  // namespace ctx
