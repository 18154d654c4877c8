// The strict reader every config section is parsed through: one JSON object whose keys are read by
// name and type, with the full key path in each message; finish() rejects keys nobody asked for.
// Internal to engine/config (the section parsers); assumes ConfigError and config_number of
// run_config.h, and json_strict.h's printable() for key names.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/json_strict.h"
#include "config/run_config.h"

namespace ctx::sections {

// Reads one JSON object; finish() rejects keys nobody asked for.
class Section {
 public:
  Section(const nlohmann::json& j, std::string path) : j_(j), path_(std::move(path)) {
    if (!j_.is_null() && !j_.is_object())
      throw ConfigError((path_.empty() ? "config" : path_) + ": must be an object (got " +
                        j_.dump() + ")");
  }
  std::string key(const std::string& k) const {
    return path_.empty() ? printable(k) : path_ + "." + printable(k);
  }
  bool has(const std::string& k) {
    seen_.insert(k);
    return j_.is_object() && j_.contains(k) && !j_[k].is_null();
  }
  const nlohmann::json& raw(const std::string& k) {
    seen_.insert(k);
    return j_.at(k);
  }
  void integer(const std::string& k, int64_t& out, double lo, double hi = INFINITY) {
    if (!has(k)) return;
    const auto& v = j_[k];
    if (!v.is_number() || std::floor(v.get<double>()) != v.get<double>())
      throw ConfigError(key(k) + ": must be an integer (got " + v.dump() + ")");
    range(k, v.get<double>(), lo, hi);
    out = v.get<int64_t>();
  }
  void number(const std::string& k, double& out, double lo, double hi = INFINITY) {
    if (!has(k)) return;
    const auto& v = j_[k];
    if (!v.is_number()) throw ConfigError(key(k) + ": must be a number (got " + v.dump() + ")");
    range(k, v.get<double>(), lo, hi);
    out = v.get<double>();
  }
  void boolean(const std::string& k, bool& out) {
    if (!has(k)) return;
    if (!j_[k].is_boolean())
      throw ConfigError(key(k) + ": must be true or false (got " + j_[k].dump() + ")");
    out = j_[k].get<bool>();
  }
  void string(const std::string& k, std::string& out,
              const std::vector<std::string>& choices = {}) {
    if (!has(k)) return;
    if (!j_[k].is_string())
      throw ConfigError(key(k) + ": must be a string (got " + j_[k].dump() + ")");
    out = j_[k].get<std::string>();
    if (!choices.empty() && std::find(choices.begin(), choices.end(), out) == choices.end()) {
      std::string all;
      for (auto& c : choices) all += (all.empty() ? "" : ", ") + c;
      throw ConfigError(key(k) + ": unknown value '" + out + "' (one of: " + all + ")");
    }
  }
  void finish() const {
    if (!j_.is_object()) return;
    for (auto& [k, v] : j_.items()) {
      if (!seen_.count(k)) {
        std::string all;
        for (auto& s : seen_) all += (all.empty() ? "" : ", ") + s;
        throw ConfigError(key(k) + ": unknown key (known: " + all + ")");
      }
    }
  }

 private:
  void range(const std::string& k, double v, double lo, double hi) const {
    if (v < lo)
      throw ConfigError(key(k) + ": must be >= " + config_number(lo) + " (got " + config_number(v) +
                        ")");
    if (v > hi)
      throw ConfigError(key(k) + ": must be <= " + config_number(hi) + " (got " + config_number(v) +
                        ")");
  }
  const nlohmann::json& j_;
  std::string path_;
  std::set<std::string> seen_;
};

// A method given either as a name or as {"type": name, ...params}.
void method_ref(Section& s, const std::string& k, std::string& name, nlohmann::json& params);

// Lengths asked for twice are evaluated once: repeats go, each value keeps its first place.
std::vector<int64_t> without_repeats(const std::vector<int64_t>& values);

// A list of integers >= lo under `key` (non-empty unless allowed).
std::vector<int64_t> int_list(const nlohmann::json& v, const std::string& key, int64_t lo,
                              bool allow_empty = false);

}  // namespace ctx::sections
