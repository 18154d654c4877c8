// Config flattening and N-way diff; see config_diff.h.
#include "widgets/config_diff.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

namespace ctx::gui {
namespace {

std::string format_number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == 0) return "0";
  // Integral values print as integers up to where doubles stay exact.
  if (std::floor(v) == v && std::fabs(v) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  char buf[40];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  // "1e-05" -> "1e-5": the exponent without padding reads like the configs people write.
  std::string s = buf;
  const auto e = s.find('e');
  if (e != std::string::npos) {
    std::string mant = s.substr(0, e), ex = s.substr(e + 1);
    const bool neg = !ex.empty() && ex[0] == '-';
    if (!ex.empty() && (ex[0] == '-' || ex[0] == '+')) ex.erase(0, 1);
    while (ex.size() > 1 && ex[0] == '0') ex.erase(0, 1);
    s = mant + "e" + (neg ? "-" : "") + ex;
  }
  return s;
}

std::string format_json(const nlohmann::json& v) {
  if (v.is_number()) return format_number(v.get<double>());
  if (v.is_array()) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + format_json(v[i]);
    return s + "]";
  }
  if (v.is_object()) {
    std::string s = "{";
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      s += (first ? "" : ", ") + nlohmann::json(it.key()).dump() + ": " + format_json(it.value());
      first = false;
    }
    return s + "}";
  }
  return v.dump();  // strings quoted inside arrays, so ["a, b"] and ["a", "b"] stay apart
}

void flatten(const nlohmann::json& j, const std::string& prefix, std::map<std::string, std::string>& out) {
  // An empty object below the top is a value of its own ({} differs from an absent key).
  if (j.is_object() && (!j.empty() || prefix.empty())) {
    for (auto it = j.begin(); it != j.end(); ++it)
      flatten(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), out);
    return;
  }
  out[prefix.empty() ? std::string("(config)") : prefix] = formatConfigValue(j);  // a config that is no object
}

}  // namespace

std::string formatConfigValue(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  return format_json(v);
}

std::map<std::string, std::string> flattenConfig(const nlohmann::json& config) {
  std::map<std::string, std::string> out;
  flatten(config, "", out);
  return out;
}

std::vector<ConfigDiffRow> diffConfigs(const std::vector<nlohmann::json>& configs) {
  std::vector<ConfigDiffRow> rows;
  if (configs.size() < 2) return rows;
  std::vector<std::map<std::string, std::string>> flat;
  std::set<std::string> keys;
  for (const auto& c : configs) {
    flat.push_back(flattenConfig(c));
    for (const auto& kv : flat.back()) keys.insert(kv.first);
  }
  for (const auto& key : keys) {
    ConfigDiffRow row{key, {}};
    // A missing key compares unequal to every value, "—" included as literal text.
    std::vector<std::pair<bool, std::string>> seen;
    for (const auto& f : flat) {
      auto it = f.find(key);
      seen.emplace_back(it != f.end(), it != f.end() ? it->second : std::string());
      row.values.push_back(it != f.end() ? it->second : kAbsent);
    }
    bool differ = false;
    for (size_t i = 1; i < seen.size() && !differ; ++i) differ = seen[i] != seen[0];
    if (differ) rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace ctx::gui
