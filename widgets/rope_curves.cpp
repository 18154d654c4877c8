// RoPE frequency curves from the rope verb's JSON; see rope_curves.h.
#include "widgets/rope_curves.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>

namespace ctx::gui {
namespace {

std::vector<double> doubles(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_array()) throw std::runtime_error(std::string("rope JSON has no '") + key + "' array");
  std::vector<double> v;
  for (const auto& x : j[key]) {
    if (!x.is_number()) throw std::runtime_error(std::string("rope JSON: '") + key + "' holds a non-number");
    v.push_back(x.get<double>());
  }
  return v;
}

double number_or(const nlohmann::json& j, const char* key, double fallback) {
  return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<double>() : fallback;
}

const nlohmann::json& scaling_of(const nlohmann::json& config) {
  static const nlohmann::json none;
  return config.is_object() && config.contains("rope_scaling") && config["rope_scaling"].is_object()
             ? config["rope_scaling"] : none;
}

}  // namespace

RopeCurves ropeCurves(const nlohmann::json& rope) {
  if (!rope.is_object()) throw std::runtime_error("rope JSON is not an object");
  RopeCurves c;
  c.inv_freq = doubles(rope, "inv_freq");
  c.base_inv_freq = doubles(rope, "base_inv_freq");
  if (c.inv_freq.size() != c.base_inv_freq.size())
    throw std::runtime_error("rope JSON: inv_freq has " + std::to_string(c.inv_freq.size()) + " pairs, base_inv_freq " +
                             std::to_string(c.base_inv_freq.size()));
  c.length = static_cast<int64_t>(number_or(rope, "length", 0));
  c.attention_factor = number_or(rope, "attention_factor", 1);
  const auto& res = rope.contains("resolved") ? rope["resolved"] : nlohmann::json();
  if (res.is_object() && res.contains("rope_type") && res["rope_type"].is_string()) c.rope_type = res["rope_type"];
  c.factor = number_or(res, "factor", 1);
  for (size_t j = 0; j < c.inv_freq.size(); ++j) {
    c.pair.push_back(static_cast<double>(j));
    c.wavelength.push_back(2 * M_PI / c.inv_freq[j]);
    c.base_wavelength.push_back(2 * M_PI / c.base_inv_freq[j]);
    c.ratio.push_back(c.inv_freq[j] / c.base_inv_freq[j]);
  }
  if (c.rope_type == "yarn" || c.rope_type == "dynamic_yarn") c.ramp = yarnRamp(c.ratio, c.factor);
  return c;
}

std::vector<double> yarnRamp(const std::vector<double>& ratio, double s) {
  std::vector<double> g;
  if (!(s > 1)) return g;
  for (double r : ratio) g.push_back((s * r - 1) / (s - 1));
  return g;
}

int64_t originalLength(const nlohmann::json& config) {
  const auto& rs = scaling_of(config);
  const double orig = number_or(rs, "original_max_position_embeddings", 0);
  if (orig > 0) return static_cast<int64_t>(orig);
  if (config.is_object() && config.contains("train")) return static_cast<int64_t>(number_or(config["train"], "seq_len", 0));
  return 0;
}

std::vector<int64_t> evalLengths(const nlohmann::json& config, const std::vector<double>& evaluated) {
  std::set<int64_t> s;
  if (config.is_object() && config.contains("eval") && config["eval"].is_object() && config["eval"].contains("lengths") &&
      config["eval"]["lengths"].is_array())
    for (const auto& x : config["eval"]["lengths"])
      if (x.is_number() && x.get<double>() > 0) s.insert(static_cast<int64_t>(x.get<double>()));
  for (double x : evaluated)
    if (x > 0) s.insert(static_cast<int64_t>(x));
  return {s.begin(), s.end()};
}

bool isClex(const nlohmann::json& config) {
  const auto& rs = scaling_of(config);
  if (!rs.is_object()) return false;
  const auto t = rs.value("rope_type", rs.value("type", std::string()));
  return t == "clex";
}

std::vector<std::pair<int, int64_t>> clexLengths(const nlohmann::json& config) {
  std::vector<std::pair<int, int64_t>> out;
  if (!isClex(config)) return out;
  const auto& rs = scaling_of(config);
  // The engine's L0: original_max_position_embeddings, 0 meaning model.max_positions.
  int64_t L0 = static_cast<int64_t>(number_or(rs, "original_max_position_embeddings", 0));
  if (L0 <= 0 && config.contains("model")) L0 = static_cast<int64_t>(number_or(config["model"], "max_positions", 0));
  const int max_t = static_cast<int>(number_or(rs, "max_factor", 16));
  for (int t = 1; t <= max_t && L0 > 0; ++t) out.emplace_back(t, L0 * t);
  return out;
}

}  // namespace ctx::gui
