// How a model injects position: the interface every scheme implements (RoPE, learned and
// sinusoidal absolute, NoPE; ALiBi, relative, iRPE, PIA as files of their own). Position ids are
// an explicit float tensor [B, T]; nothing assumes 0..T-1.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/nn/module.h>
#include <torch/types.h>

#include "config/run_config.h"

namespace ctx {

// A position id the scheme cannot represent (learned table too short, ...): one line naming it.
struct PositionRangeError : InputError {
  using InputError::InputError;
};

class PositionScheme : public torch::nn::Module {
 public:
  // Called once per forward pass, before the layers, with ids [B, T] (float32).
  virtual void prepare(const torch::Tensor& /*positions*/) {}
  // Added to the token embeddings (absolute schemes). Default: unchanged.
  virtual torch::Tensor embed(const torch::Tensor& h) { return h; }
  // Inputs of the query and key projections (position-infused attention adds to these, never to
  // the values). `h` [B, T, d] is the current window, `hk` [B, M+T, d] the window behind the
  // M cached states of the previous window. Default: unchanged.
  virtual std::pair<torch::Tensor, torch::Tensor> qk_inputs(const torch::Tensor& h, const torch::Tensor& hk,
                                                            int64_t /*layer*/) {
    return {h, hk};
  }
  // Whether q/k inputs differ from the value input (the blocks then project them separately).
  virtual bool infuses_qk() const { return false; }
  // Whether the model attends over the previous window's cached states (Shortformer's cache): the
  // trainer and evaluation then feed consecutive windows with a LayerMemory.
  virtual bool caches_previous_window() const { return false; }
  // Applied to q, k [B, H, T, Dh] in every layer (rotary schemes).
  virtual void rotate(torch::Tensor& /*q*/, torch::Tensor& /*k*/, int64_t /*layer*/) {}
  // The fused form of cutting the stacked q/k/v product qkv [B, T, (Hq + 2·Hkv)·Dh] into q
  // [B, Hq, T, Dh], k, v [B, Hkv, T, Dh] and then rotate(): {q, k, v} as rotate() would leave
  // them, or empty where the scheme has no such path (the block then cuts and calls rotate()).
  virtual std::vector<torch::Tensor> split_rotated(const torch::Tensor& /*qkv*/, int64_t /*heads*/,
                                                   int64_t /*kv_heads*/, int64_t /*layer*/) {
    return {};
  }
  // Whether logit_bias returns a bias (the blocks then hand it keys with one head per query head).
  virtual bool biases_logits() const { return false; }
  // Additive attention-logit bias [B|1, H|1, Tq, Tk] or an undefined tensor.
  virtual torch::Tensor logit_bias(const torch::Tensor& /*q*/, const torch::Tensor& /*k*/, int64_t /*layer*/) {
    return {};
  }
  // The largest position id (exclusive) the scheme accepts; <= 0 means unbounded.
  virtual int64_t max_position() const { return 0; }
  // A checkpoint tensor of this scheme whose shape differs from the parameter `name` (relative to
  // the scheme): return it adapted (e.g. a learned table interpolated to more rows) or an undefined
  // tensor to refuse. Default: refuse.
  virtual torch::Tensor adapt_loaded(const std::string& /*name*/, const torch::Tensor& /*loaded*/) { return {}; }
  // What the scheme resolved (frequencies, factors), stored with each run.
  virtual nlohmann::json describe() const { return nlohmann::json::object(); }
};

// Builds model.position's scheme through the registry in position_registry.cpp.
std::shared_ptr<PositionScheme> make_position_scheme(const ModelConfig& model, const nlohmann::json& rope_scaling);

// A scheme implementation by name (the registry's entries; names match the method registry's
// position entries, which hold their parameters and checks).
struct PositionSchemeEntry {
  std::string name;
  std::shared_ptr<PositionScheme> (*make)(const ModelConfig& model, const nlohmann::json& rope_scaling);
};
const std::vector<PositionSchemeEntry>& position_scheme_registry();

}  // namespace ctx
