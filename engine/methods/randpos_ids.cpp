// The randomized-position id range and the evaluation mode's requirement; see randpos_ids.h.
#include "methods/randpos_ids.h"

#include <algorithm>

#include "config/run_config.h"

namespace ctx {

int64_t randpos_id_range(const nlohmann::json& p, int64_t seq) {
  const int64_t given = p["max_len"].get<int64_t>();
  return given > 0 ? given : p["factor"].get<int64_t>() * seq;
}

void check_randpos_eval(const RunConfig& c, const std::vector<std::string>& modes,
                        const std::string& key) {
  if (std::find(modes.begin(), modes.end(), "randpos") == modes.end()) return;
  if (c.train.positions != "randpos")
    throw ConfigError(key + ": randpos scores windows at random ids from the range of " +
                      "train.positions randpos, and this run trains with '" + c.train.positions +
                      "' (use nonoverlap or sliding)");
}

}  // namespace ctx
