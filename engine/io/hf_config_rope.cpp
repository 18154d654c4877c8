// Rope settings from config.json in both formats, normalised to one form: theta, a scaling object
// (Hugging Face keys, "rope_type" always, "type" folded in) or null, and partial_rotary_factor.
#include "io/hf_config_rope.h"

#include <optional>

#include "io/hf_config.h"
#include "io/safetensors_format.h"  // quote_name

namespace ctx::io::hf_detail {

namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& what, const std::string& problem) {
  throw HfConfigError(what + ": " + problem);
}

std::string brief(const json& v) {
  std::string s = v.dump(-1, ' ', true, json::error_handler_t::replace);
  return s.size() > 80 ? s.substr(0, 77) + "..." : s;
}

bool present(const json& obj, const char* key) {
  return obj.contains(key) && !obj[key].is_null();
}

std::optional<double> positive_number(const json& obj, const char* key, const std::string& label,
                                      const std::string& what) {
  if (!present(obj, key)) return std::nullopt;
  const json& v = obj[key];
  if (!v.is_number() || !(v.get<double>() > 0)) {
    fail(what, label + " must be a positive number, got " + brief(v));
  }
  return v.get<double>();
}

// A rope_scaling-style object -> normalised scaling (null for "default"). `label` names it.
json normalise_scaling(const json& v, const std::string& label, const std::string& what) {
  if (v.is_null()) return nullptr;
  if (!v.is_object()) fail(what, label + " must be an object or null, got " + brief(v));
  const bool has_new = v.contains("rope_type"), has_old = v.contains("type");
  if (has_new && has_old && v["rope_type"] != v["type"]) {
    fail(what, label + " has rope_type " + brief(v["rope_type"]) + " and type " + brief(v["type"]) +
                   ", which disagree");
  }
  if (!has_new && !has_old) fail(what, label + " has no rope_type");
  const json& type = has_new ? v["rope_type"] : v["type"];
  if (!type.is_string()) fail(what, label + " rope_type must be a string, got " + brief(type));
  if (type == "default") return nullptr;
  json out = v;
  out.erase("type");
  out.erase("rope_theta");
  out.erase("partial_rotary_factor");
  out["rope_type"] = type;
  positive_number(out, "factor", label + " factor", what);
  return out;
}

// rope_parameters in its plain form, or the one entry all layer types share.
json plain_rope_parameters(const json& p, const std::string& what) {
  if (!p.is_object()) fail(what, "rope_parameters must be an object, got " + brief(p));
  if (p.contains("rope_type") || p.contains("type") || p.contains("rope_theta")) return p;
  if (p.empty()) fail(what, "rope_parameters is empty");
  const auto first = p.begin();
  for (auto it = p.begin(); it != p.end(); ++it) {
    if (!it.value().is_object()) fail(what, "rope_parameters has no rope_type");
    if (it.value() != first.value()) {
      fail(what, "rope_parameters differ between layer types " + quote_name(first.key()) + " and " +
                     quote_name(it.key()) + "; CtxLab uses one rope for all layers");
    }
  }
  return first.value();
}

}  // namespace

RopeSettings read_rope_settings(const json& config, const std::string& what) {
  const auto classic_theta = positive_number(config, "rope_theta", "rope_theta", what);
  const bool has_classic_scaling = present(config, "rope_scaling");
  const json classic_scaling = has_classic_scaling
                                   ? normalise_scaling(config["rope_scaling"], "rope_scaling", what)
                                   : json();
  auto factor = positive_number(config, "partial_rotary_factor", "partial_rotary_factor", what);

  RopeSettings out;
  if (!present(config, "rope_parameters")) {
    out.theta = classic_theta.value_or(10000.0);
    out.scaling = classic_scaling;
    out.partial_rotary_factor = factor.value_or(1.0);
    return out;
  }
  const json p = plain_rope_parameters(config["rope_parameters"], what);
  const auto theta = positive_number(p, "rope_theta", "rope_parameters rope_theta", what);
  if (theta && classic_theta && *theta != *classic_theta) {
    fail(what, "rope_theta " + brief(config["rope_theta"]) + " and rope_parameters rope_theta " +
                   brief(p["rope_theta"]) + " disagree");
  }
  const auto inner_factor =
      positive_number(p, "partial_rotary_factor", "rope_parameters partial_rotary_factor", what);
  if (inner_factor && factor && *inner_factor != *factor) {
    fail(what, "partial_rotary_factor and rope_parameters partial_rotary_factor disagree");
  }
  out.theta = theta ? *theta : classic_theta.value_or(10000.0);
  out.scaling = normalise_scaling(p, "rope_parameters", what);
  if (has_classic_scaling && classic_scaling != out.scaling) {
    fail(what, "rope_scaling " + brief(config["rope_scaling"]) + " and rope_parameters " +
                   brief(config["rope_parameters"]) + " disagree");
  }
  out.partial_rotary_factor = inner_factor ? *inner_factor : factor.value_or(1.0);
  return out;
}

}  // namespace ctx::io::hf_detail
