// Config differences for the compare tab, as pure functions: a run config flattened to dotted key
// paths with canonical value text, and the rows where N configs disagree.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ctx::gui {

// How an absent key is shown in a diff row.
inline const std::string kAbsent = "\xE2\x80\x94";  // "—"

// The canonical text of a leaf value: numbers in their shortest round-trip form (so 1e-3, 0.001
// and 1.0e-3 read "0.001", and 4 and 4.0 read "4"), strings unquoted, arrays as compact JSON with
// the same number form, null as "null".
std::string formatConfigValue(const nlohmann::json& v);

// Nested objects become dotted paths ("rope_scaling.factor", "train.positions.type"); arrays,
// scalars, null and empty objects are leaves.
std::map<std::string, std::string> flattenConfig(const nlohmann::json& config);

struct ConfigDiffRow {
  std::string key;
  std::vector<std::string> values;  // one per config, kAbsent where the key is missing
};

// The keys whose values are not the same in every config (absent counts as a value of its own),
// in key order. Identical configs, or fewer than two, give no rows.
std::vector<ConfigDiffRow> diffConfigs(const std::vector<nlohmann::json>& configs);

}  // namespace ctx::gui
