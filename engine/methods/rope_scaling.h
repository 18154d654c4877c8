// RoPE frequencies: the base inverse frequencies of a head and what a Hugging Face-style
// `rope_scaling` dict turns them into at a given sequence length (inv_freq per pair, attention factor).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/run_config.h"

namespace ctx {

struct RopeBase {
  int64_t rot_dim = 64;           // rotated dims per head (even)
  double theta = 10000.0;         // rope_theta
  int64_t max_positions = 2048;   // the model's max_position_embeddings (HF's L0 fallback)
};

// A rope model's base: theta, head size × rotary_fraction, max_positions (model.position rope,
// its parameters resolved).
RopeBase rope_base_of(const ModelConfig& model);

struct RopeFreqs {
  std::vector<double> inv_freq;  // rot_dim / 2 values
  double attention_factor = 1.0; // multiplies cos and sin (logits scale by its square)
  nlohmann::json resolved = nlohmann::json::object();  // factor, L0, low/high, ... as used
};

// theta^(-2j/d) for j = 0..d/2-1.
std::vector<double> base_inv_freq(int64_t rot_dim, double theta);

// The scaling's name from a rope_scaling dict ("rope_type", else legacy "type"; null -> "default").
std::string rope_scaling_name(const nlohmann::json& rope_scaling);

// Frequencies the engine uses at `seq_len` tokens (`seq_len` matters for length-dependent
// scalings). `rope_scaling` must have been resolved by the registry (defaults filled).
RopeFreqs rope_frequencies(const nlohmann::json& rope_scaling, const RopeBase& base, int64_t seq_len);

// Whether the scaling's frequencies are the same at every length (plain, PI, YaRN, Llama 3, ...),
// so the model need not read the ids' span back at each pass; dynamic formulas (dynamic NTK and
// YaRN, E2-LLM's g from the length, LongRoPE's short and long factors) are not. One token against
// 2^40 tokens tells them apart; a formula that refuses such a length counts as length-dependent.
// CLEX (its scale comes from the ids, through its ODE) is decided by the caller.
bool rope_scaling_length_free(const nlohmann::json& rope_scaling, const RopeBase& base);

}  // namespace ctx
