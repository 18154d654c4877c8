// The id range of randomized positions (train.positions randpos, METHODS.md §8.9): what its
// sampler draws training ids from, and what evaluation mode "randpos" draws each window's ids from,
// as the method's authors test it. Torch-free.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ctx {

struct RunConfig;

// Lmax: params.max_len when > 0, else params.factor * seq_len (resolved sampler parameters).
int64_t randpos_id_range(const nlohmann::json& params, int64_t seq_len);

// Evaluation mode randpos needs a run trained with randomized ids (their range is its range).
// Throws ConfigError naming `key` when a resolved config asks for it without them.
void check_randpos_eval(const RunConfig& c, const std::vector<std::string>& modes,
                        const std::string& key);

}  // namespace ctx
