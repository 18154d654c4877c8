// parse_run_config: the strict field reading of config/ followed by what needs the layers above it
// (the method registry, the retrieval prompts' lengths, the model of an init.hf folder).
#include <algorithm>

#include "config/run_config.h"
#include "data/retrieval_tasks.h"
#include "data/ruler_tasks.h"
#include "methods/hf_model.h"
#include "methods/randpos_ids.h"
#include "methods/registry.h"
#include "methods/rope_scaling.h"

namespace ctx {
namespace {

// Resolves method parameters through the registry and runs their checks.
void resolve_methods(RunConfig& c) {
  MethodContext ctx;
  ctx.position = c.model.position;
  ctx.head_dim = c.model.head_dim();
  ctx.heads = c.model.heads;
  ctx.max_positions = c.model.max_positions;
  ctx.seq_len = c.train.seq_len;
  for (auto L : c.eval.lengths) ctx.max_eval_length = std::max(ctx.max_eval_length, L);

  const auto* pos = get_method(MethodKind::Position, c.model.position, "model.position.type");
  c.model.position = pos->name;
  c.model.position_params = resolve_params(pos->params, c.model.position_params, "model.position");
  if (pos->validate) {
    auto err = pos->validate(c.model.position_params, ctx);
    if (!err.empty()) throw ConfigError("model.position." + err);
  }
  if (c.model.position == "rope")
    ctx.rot_dim = static_cast<int64_t>(static_cast<double>(ctx.head_dim) *
                                       c.model.position_params["rotary_fraction"].get<double>());

  if (!c.rope_scaling.is_null()) {
    if (!c.rope_scaling.is_object())
      throw ConfigError("rope_scaling: must be an object (got " + c.rope_scaling.dump() + ")");
    const std::string name = rope_scaling_name(c.rope_scaling);
    const auto* rs = get_method(MethodKind::RopeScaling, name, "rope_scaling.rope_type");
    if (c.model.position != "rope")
      throw ConfigError("rope_scaling: '" + name + "' needs model.position rope (the model uses " +
                        c.model.position + ")");
    auto params = resolve_params(rs->params, c.rope_scaling, "rope_scaling", {"rope_type", "type"});
    if (rs->validate) {
      auto err = rs->validate(params, ctx);
      if (!err.empty()) throw ConfigError("rope_scaling." + err);
    }
    params["rope_type"] = rs->name;
    c.rope_scaling = params;
  }

  const auto* smp = get_method(MethodKind::Sampler, c.train.positions, "train.positions.type");
  c.train.positions = smp->name;
  c.train.positions_params =
      resolve_params(smp->params, c.train.positions_params, "train.positions");
  if (smp->validate) {
    auto err = smp->validate(c.train.positions_params, ctx);
    if (!err.empty()) throw ConfigError("train.positions." + err);
  }
}

// Retrieval lengths must hold at least the prompt's fixed text.
void check_retrieval_lengths(const RunConfig& c) {
  for (auto [task, r] :
       {std::pair<const char*, const RetrievalRequest*>{"passkey", &c.eval.passkey},
        {"needle", &c.eval.needle},
        {"kvretrieval", &c.eval.kvretrieval}}) {
    const int64_t min_len = data::min_prompt_length(task);
    for (size_t i = 0; r->enabled && i < r->lengths.size(); ++i)
      if (r->lengths[i] < min_len)
        throw ConfigError(std::string("eval.") + task + ".lengths[" + std::to_string(i) +
                          "]: " + std::to_string(r->lengths[i]) + " is too short for a " + task +
                          " prompt (at least " + std::to_string(min_len) + ")");
  }
}

// RULER task names must be known (lengths are checked against the tokenizer's prompts at run time).
void check_ruler_tasks(const RunConfig& c) {
  for (size_t i = 0; i < c.eval.ruler.tasks.size(); ++i) {
    try {
      data::ruler_task(c.eval.ruler.tasks[i]);
    } catch (const data::DataError& e) {
      throw ConfigError("eval.ruler.tasks[" + std::to_string(i) + "]: " + e.what());
    }
  }
}

// CtxLab attends over the whole window; a model trained with a sliding window (Mistral) gives the
// same results only while every length used fits inside that window.
void check_sliding_window(const RunConfig& c) {
  const int64_t w = c.model.sliding_window;
  if (w <= 0) return;
  auto check = [&](int64_t length, const std::string& key) {
    if (length > w)
      throw ConfigError(key + ": " + std::to_string(length) +
                        " tokens exceed the model's sliding window of " + std::to_string(w) +
                        " (model.sliding_window); CtxLab runs full attention, which equals the " +
                        "window's only up to its size");
  };
  check(c.train.seq_len, "train.seq_len");
  for (size_t i = 0; i < c.train.stages.size(); ++i)
    check(c.train.stages[i].first, "train.stages[" + std::to_string(i) + "].seq_len");
  for (size_t i = 0; i < c.eval.lengths.size(); ++i)
    check(c.eval.lengths[i], "eval.lengths[" + std::to_string(i) + "]");
  for (auto [task, r] :
       {std::pair<const char*, const RetrievalRequest*>{"passkey", &c.eval.passkey},
        {"needle", &c.eval.needle},
        {"kvretrieval", &c.eval.kvretrieval}})
    for (size_t i = 0; r->enabled && i < r->lengths.size(); ++i)
      check(r->lengths[i], std::string("eval.") + task + ".lengths[" + std::to_string(i) + "]");
  for (size_t i = 0; i < c.eval.attention_lengths.size(); ++i)
    check(c.eval.attention_lengths[i], "eval.attention_lengths[" + std::to_string(i) + "]");
}

// train.position_lr sets the position method's own weights apart: the method must have some.
void check_position_lr(const RunConfig& c) {
  if (c.train.position_lr <= 0) return;
  if (get_method(MethodKind::Position, c.model.position, "model.position.type")->trainable) return;
  std::string scaling;
  if (c.model.position == "rope" && !c.rope_scaling.is_null()) {
    scaling = rope_scaling_name(c.rope_scaling);
    if (get_method(MethodKind::RopeScaling, scaling, "rope_scaling.rope_type")->trainable) return;
  }
  throw ConfigError("train.position_lr: model.position " + c.model.position +
                    (scaling.empty() ? "" : " with rope_scaling " + scaling) +
                    " has no weights of its own to train at another rate (learned, relative, irpe "
                    "and rope_scaling clex have)");
}

// LoRA targets must exist in the family; checkpointing needs blocks that can run twice.
void check_memory_options(const RunConfig& c) {
  const auto& lora = c.train.lora;
  if (lora.enabled) {
    if (c.model.arch != "llama")
      throw ConfigError("train.lora: adapters attach to the llama family's projections (model.arch is " +
                        c.model.arch + ")");
    static const std::vector<std::string> modules = {"q_proj", "k_proj",  "v_proj",   "o_proj",
                                                     "gate_proj", "up_proj", "down_proj"};
    for (size_t i = 0; i < lora.targets.size(); ++i)
      if (std::find(modules.begin(), modules.end(), lora.targets[i]) == modules.end())
        throw ConfigError("train.lora.targets[" + std::to_string(i) + "]: '" + lora.targets[i] +
                          "' is not a module of the llama family (q_proj, k_proj, v_proj, o_proj, gate_proj, "
                          "up_proj, down_proj)");
  }
  if (c.train.cuda_graph) {
    const auto& t = c.train;
    if (t.grad_accum > 1)
      throw ConfigError(
          "train.cuda_graph: the graph holds one micro-batch's passes (train.grad_accum is " +
          std::to_string(t.grad_accum) + "; raise train.batch_size instead)");
    if (t.context_parallel > 1)
      throw ConfigError("train.cuda_graph: one process only (train.context_parallel is " +
                        std::to_string(t.context_parallel) + ")");
    if (c.model.position == "pia" && c.model.position_params.value("cache", false))
      throw ConfigError(
          "train.cuda_graph: model.position pia with its cache carries states from window to "
          "window on the host, which a replayed graph cannot (set the cache off or cuda_graph "
          "off)");
    if (get_method(MethodKind::Position, c.model.position, "model.position.type")->host_reads_ids)
      throw ConfigError("train.cuda_graph: model.position " + c.model.position +
                        " reads the ids back on the host at every pass, which a replayed graph "
                        "cannot (rope, alibi, sinusoidal, nope or pia without its cache, or "
                        "cuda_graph off)");
    // A length-dependent RoPE reads the ids' span back on the host at every pass (model/rope.h).
    if (c.model.position == "rope" && !c.rope_scaling.is_null()) {
      const auto name = rope_scaling_name(c.rope_scaling);
      if (name == "clex" || !rope_scaling_length_free(c.rope_scaling, rope_base_of(c.model)))
        throw ConfigError("train.cuda_graph: rope_scaling '" + name +
                          "' depends on the length, which the model reads from the ids on the "
                          "host at every pass; a replayed graph cannot (a length-free scaling "
                          "such as linear, yarn or llama3, or cuda_graph off)");
    }
  }
  if (c.train.checkpointing) {
    if (c.model.position == "pia" && c.model.position_params.value("cache", false))
      throw ConfigError("train.checkpointing: model.position pia with its cache carries states from window to "
                        "window, which a recomputed block would overwrite (set the cache off or checkpointing off)");
    if (rope_scaling_name(c.rope_scaling) == "clex")
      throw ConfigError("train.checkpointing: CLEX's frequencies come from its ODE outside the blocks and are "
                        "trained through every block, which a recomputed block cannot carry (checkpointing off)");
  }
}

}  // namespace

RunConfig parse_run_config(const nlohmann::json& j) {
  RunConfig c = read_run_config_fields(j);
  if (c.init.kind == "hf") apply_hf_model(c, j.contains("model"), j.contains("rope_scaling"));
  check_retrieval_lengths(c);
  check_ruler_tasks(c);
  check_sliding_window(c);
  resolve_methods(c);
  check_randpos_eval(c, c.eval.modes, "eval.mode");
  check_position_lr(c);
  check_memory_options(c);
  return c;
}

RunConfig load_run_config(const std::string& path) {
  const auto j = read_config_file(path);
  try {
    return parse_run_config(j);
  } catch (const ConfigError& e) {
    throw ConfigError(path + ": " + e.what());
  }
}

std::string method_label(const RunConfig& c) {
  std::string s = c.model.position;
  if (!c.rope_scaling.is_null()) {
    s += "+" + rope_scaling_name(c.rope_scaling);
    if (c.rope_scaling.contains("factor") && c.rope_scaling["factor"].is_number())
      s += " x" + config_number(c.rope_scaling["factor"].get<double>());
  }
  return s + " / " + c.train.positions;
}

}  // namespace ctx
