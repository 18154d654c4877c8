// The method registry: every position scheme, RoPE scaling and training position sampler with its
// typed parameters, documentation and validation. The CLI validates configs with it and the window
// builds its forms from `ctxlab-cli methods --json`. Adding a method = one file + one line in registry.cpp.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "methods/param_spec.h"
#include "methods/rope_scaling.h"
#include "methods/sampler.h"
#include "config/run_config.h"

namespace ctx {

enum class MethodKind { Position, RopeScaling, Sampler };
std::string to_string(MethodKind k);

// What a method's validation may check against.
struct MethodContext {
  std::string position;  // the model's position scheme
  int64_t head_dim = 64;
  int64_t rot_dim = 64;
  int64_t heads = 4;
  int64_t max_positions = 256;
  int64_t seq_len = 128;
  int64_t max_eval_length = 0;
};

struct MethodInfo {
  MethodKind kind = MethodKind::Position;
  std::string name;
  std::string doc;  // one line for the registry listing
  std::vector<ParamSpec> params;
  std::vector<std::string> aliases;
  // Extra checks on resolved parameters: returns "" or "key: reason".
  std::function<std::string(const nlohmann::json& params, const MethodContext& ctx)> validate;
  // RoPE scalings: inv_freq and attention factor at a length.
  std::function<RopeFreqs(const nlohmann::json& params, const RopeBase& base, int64_t seq_len)> rope;
  // Position schemes: whether preparing a forward pass reads the ids back on the host (a table's
  // range check, the span of distances present), which a replayed CUDA graph cannot do
  // (train.cuda_graph is refused with them).
  bool host_reads_ids = false;
  // Position schemes and RoPE scalings: whether the method holds weights the optimizer trains
  // (the model's pos.* parameters), which train.position_lr can set apart.
  bool trainable = false;
  // Samplers: a sampler over the training documents.
  std::function<std::unique_ptr<PositionSampler>(const nlohmann::json& params, const SamplerContext& ctx)> sampler;
};

// Sets `validate` and `sampler` for a sampler class S whose parameters `check(params, seq_len,
// max_positions, position_scheme)` vets ("key: reason" or ""): validation runs it against the
// model before any data loads, and construction runs it again (the scheme is not known there).
using SamplerCheck = std::string (*)(const nlohmann::json&, int64_t, int64_t, const std::string&);
template <class S>
void bind_checked_sampler(MethodInfo& m, SamplerCheck check) {
  m.validate = [check](const nlohmann::json& p, const MethodContext& c) {
    return check(p, c.seq_len, c.max_positions, c.position);
  };
  m.sampler = [check](const nlohmann::json& p, const SamplerContext& ctx) -> std::unique_ptr<PositionSampler> {
    auto err = check(p, ctx.seq_len, ctx.max_positions, "");
    if (!err.empty()) throw ConfigError("train.positions." + err);
    return std::make_unique<S>(p, ctx);
  };
}

const std::vector<MethodInfo>& all_methods();
const MethodInfo* find_method(MethodKind kind, const std::string& name);  // names and aliases
// Never null: throws ConfigError naming `where` for an unknown name.
const MethodInfo* get_method(MethodKind kind, const std::string& name, const std::string& where);
nlohmann::json registry_json();

// One accessor per method file; registry.cpp lists them.
MethodInfo position_rope_info();
MethodInfo position_learned_info();
MethodInfo position_sinusoidal_info();
MethodInfo position_nope_info();
MethodInfo position_pia_info();
MethodInfo position_alibi_info();
MethodInfo position_relative_info();
MethodInfo position_irpe_info();
MethodInfo rope_default_info();
MethodInfo rope_linear_info();
MethodInfo rope_clex_info();
MethodInfo rope_e2llm_info();
MethodInfo rope_ntk_info();
MethodInfo rope_dynamic_info();
MethodInfo rope_yarn_info();
MethodInfo rope_dynamic_yarn_info();
MethodInfo rope_llama3_info();
MethodInfo rope_longrope_info();
MethodInfo sampler_contiguous_info();
MethodInfo sampler_consecutive_info();
MethodInfo sampler_chunk_info();
MethodInfo sampler_prefix_info();
MethodInfo sampler_randpos_info();
MethodInfo sampler_pose_info();
MethodInfo sampler_cream_info();
MethodInfo sampler_e2llm_info();
MethodInfo sampler_clex_positions_info();

}  // namespace ctx
