// What the frequencies tab plots, computed from `ctxlab-cli rope --json` output and the run config
// as pure functions: wavelengths, the ratio to the unscaled frequencies, YaRN's ramp, CLEX's lengths.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace ctx::gui {

struct RopeCurves {
  int64_t length = 0;
  std::string rope_type = "default";
  double factor = 1;  // s: the scaling factor the rope verb resolved (1 when it has none)
  double attention_factor = 1;
  std::vector<double> pair;            // 0 .. d/2-1
  std::vector<double> inv_freq;        // θ'_j
  std::vector<double> base_inv_freq;   // θ_j
  std::vector<double> wavelength;      // 2π/θ'_j, in tokens
  std::vector<double> base_wavelength; // 2π/θ_j
  std::vector<double> ratio;           // r_j = θ'_j/θ_j
  std::vector<double> ramp;            // YaRN only: γ_j = (s·r_j − 1)/(s − 1); empty otherwise
};

// Throws std::runtime_error naming what is missing when `rope` is not the rope verb's JSON.
RopeCurves ropeCurves(const nlohmann::json& rope);

// γ_j = (s·r_j − 1)/(s − 1): 1 where a pair keeps its frequency (extrapolates), 0 where it is
// divided by s (interpolates). Empty when s <= 1.
std::vector<double> yarnRamp(const std::vector<double>& ratio, double s);

// The length the model was trained at before extension: rope_scaling's
// original_max_position_embeddings when given, else train.seq_len (0 when neither is there).
int64_t originalLength(const nlohmann::json& config);

// The lengths a run is evaluated at: eval.lengths of the config plus any x of its evaluations,
// ascending and distinct.
std::vector<int64_t> evalLengths(const nlohmann::json& config, const std::vector<double>& evaluated = {});

bool isClex(const nlohmann::json& config);
// CLEX's scaling t = 1 .. max_factor with the length L0·t the rope verb is asked at for each
// (L0: original_max_position_embeddings, else model.max_positions, as the engine reads it).
std::vector<std::pair<int, int64_t>> clexLengths(const nlohmann::json& config);

}  // namespace ctx::gui
