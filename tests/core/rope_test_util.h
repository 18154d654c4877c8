// Helpers for the RoPE scaling tests: resolve a rope_scaling block through parse_run_config (the
// path a user's config takes) and capture the ConfigError text of a bad one.
#pragma once

#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/run_config.h"

namespace rope_test {

// The resolved rope_scaling of a rope model with the given head_dim (all of it rotated).
inline nlohmann::json resolve(const nlohmann::json& rope_scaling, int64_t head_dim,
                              int64_t max_positions) {
  auto cfg = ctx::parse_run_config(
      {{"model", {{"d_model", head_dim * 4}, {"heads", 4}, {"max_positions", max_positions}}},
       {"rope_scaling", rope_scaling}});
  return cfg.rope_scaling;
}

// The ConfigError message for a block, or "" when it resolves.
inline std::string error_of(const nlohmann::json& rope_scaling, int64_t head_dim = 8,
                            int64_t max_positions = 4096) {
  try {
    resolve(rope_scaling, head_dim, max_positions);
  } catch (const ctx::ConfigError& e) {
    return e.what();
  }
  return "";
}

// theta^(-2j/d) by a plain loop (independent of the code under test).
inline std::vector<double> plain_freqs(int64_t d, double theta) {
  std::vector<double> f;
  for (int64_t j = 0; j < d / 2; ++j)
    f.push_back(1.0 / std::pow(theta, 2.0 * static_cast<double>(j) / static_cast<double>(d)));
  return f;
}

}  // namespace rope_test
