// The section reader's free helpers; see section_reader.h.
#include "config/section_reader.h"

namespace ctx::sections {

void method_ref(Section& s, const std::string& k, std::string& name, nlohmann::json& params) {
  if (!s.has(k)) return;
  const auto& v = s.raw(k);
  if (v.is_string()) {
    name = v.get<std::string>();
    params = nlohmann::json::object();
  } else if (v.is_object()) {
    if (!v.contains("type") || !v["type"].is_string())
      throw ConfigError(s.key(k) + ".type: required (a string naming the method)");
    name = v["type"].get<std::string>();
    params = v;
    params.erase("type");
  } else {
    throw ConfigError(s.key(k) + ": must be a name or an object with \"type\" (got " + v.dump() +
                      ")");
  }
}

std::vector<int64_t> without_repeats(const std::vector<int64_t>& values) {
  std::vector<int64_t> out;
  for (auto v : values)
    if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  return out;
}

std::vector<int64_t> int_list(const nlohmann::json& v, const std::string& key, int64_t lo,
                              bool allow_empty) {
  if (!v.is_array() || (v.empty() && !allow_empty))
    throw ConfigError(key + ": must be a " + (allow_empty ? "" : "non-empty ") +
                      "list of integers");
  std::vector<int64_t> out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_number_integer() || v[i].get<int64_t>() < lo)
      throw ConfigError(key + "[" + std::to_string(i) + "]: must be an integer >= " +
                        std::to_string(lo) + " (got " + v[i].dump() + ")");
    out.push_back(v[i].get<int64_t>());
  }
  return out;
}

}  // namespace ctx::sections
