// The run configuration (DESIGN.md "Config"): the bottom of the engine. Parsed strictly from JSON
// (unknown keys, wrong types and duplicate keys are errors naming the key), every key defaulted,
// and written back fully resolved. Method parameters and the model of a Hugging Face folder are
// resolved in methods/resolve_config.cpp; nothing here depends on LibTorch.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/input_error.h"

namespace ctx {

// A config problem as one line: "train.steps: must be >= 1 (got -5)".
struct ConfigError : InputError {
  using InputError::InputError;
};

// A number as config errors quote it: the shortest stream form ("0.5", "1e-05", "8").
std::string config_number(double v);

struct InitConfig {
  std::string kind = "scratch";  // scratch | run | run_named | checkpoint | hf
  int64_t run = 0;
  std::string run_name;  // run_named: the latest finished run with this name (presets use it)
  std::string checkpoint;
  std::string hf;  // hf: a Hugging Face model folder (config.json, safetensors, tokenizer)
};

// The model families (model/ builds them through its registry; the names live here so that
// configs are checked without LibTorch).
const std::vector<std::string>& model_families();  // {"gpt", "llama"}

struct ModelConfig {
  // gpt: LayerNorm, fused qkv, GELU MLP (ffn_mult x d_model), tied head (CtxLab's own models).
  // llama: RMSNorm, separate q/k/v/o with grouped-query attention, SwiGLU MLP (ffn_hidden),
  // tied or untied head (Llama 2/3, Mistral, Qwen2, TinyLlama, SmolLM).
  std::string arch = "gpt";
  int64_t layers = 4;
  int64_t d_model = 256;
  int64_t heads = 4;
  int64_t kv_heads = 0;      // key/value heads (grouped-query attention); 0 = heads
  int64_t head_dim_set = 0;  // explicit head width ("head_dim"); 0 = d_model / heads
  int64_t ffn_mult = 4;      // gpt: MLP width = ffn_mult x d_model
  int64_t ffn_hidden =
      0;  // llama: SwiGLU width (intermediate_size); 0 = 8/3 d_model rounded up to 32
  double norm_eps = 1e-5;       // llama: RMSNorm epsilon
  bool qkv_bias = false;        // llama: biases on q/k/v (Qwen2)
  bool o_bias = false;          // llama: bias on the output projection
  bool mlp_bias = false;        // llama: biases in the MLP
  bool tie_embeddings = true;   // head shares the token embedding (gpt: always)
  int64_t vocab_size = 0;       // 0 = the tokenizer's
  int64_t sliding_window = 0;   // Mistral's attention window in tokens; 0 = none (full attention)
  // The dtype the weights were published in ("bfloat16", "float16", "float32"; "" = float32):
  // set from a Hugging Face folder, and what export-hf writes unless told otherwise.
  std::string weights_dtype;
  int64_t max_positions = 256;  // table size of learned absolute positions; L0 for scalings
  std::string position = "rope";
  nlohmann::json position_params = nlohmann::json::object();  // resolved by the registry
  int64_t head_dim() const { return head_dim_set > 0 ? head_dim_set : d_model / heads; }
  int64_t kv_head_count() const { return kv_heads > 0 ? kv_heads : heads; }
  int64_t ffn_width() const;  // the MLP's hidden width for this family
};

struct DataConfig {
  std::string corpus = "builtin:longrange";
  // "byte" (CtxLab's byte-level vocabulary), or a tokenizer: a Hugging Face folder, tokenizer.json
  // or tokenizer.model. Empty = the init.hf folder's tokenizer when init is hf, else "byte".
  std::string tokenizer;
  std::string split = "file";  // how text files become documents
  double val_fraction = 0.1;
  int64_t builtin_docs = 96;
  int64_t builtin_doc_tokens = 4096;
  double builtin_jitter = 0;  // builtin:longrange distance jitter (LongRangeOptions::jitter)
  // builtin:longrange recall distances in tokens; the default spreads 32..2048 for extension
  // studies, short ones concentrate the retrieval signal a short training window can see.
  std::vector<int64_t> builtin_distances = {32, 64, 128, 256, 512, 1024, 2048};
  double builtin_fact_rate = 0.22, builtin_copy_rate = 0.3;  // LongRangeOptions' rates
  int64_t min_doc_tokens = 1;
};

// LoRA adapters (Hu et al.; LongLoRA's trainable embeddings and norms as options): the base weights
// are frozen, each target projection W gains (alpha / rank) B A with A [rank, in], B [out, rank].
struct LoraConfig {
  bool enabled = false;
  int64_t rank = 8;
  double alpha = 16;
  std::vector<std::string> targets = {"q_proj", "k_proj", "v_proj", "o_proj"};
  bool train_embeddings = false;  // LongLoRA: the embedding (and an untied head) train in full
  bool train_norms = false;       // LongLoRA: the RMSNorm weights train in full
};

struct TrainConfig {
  int64_t seq_len = 128;
  int64_t batch_size = 16;
  int64_t steps = 300;
  double lr = 3e-4;
  // > 0: the position method's own weights (pos.*: learned tables, relative and iRPE biases,
  // CLEX's ODE) train at this peak rate on the same schedule; 0 = lr.
  double position_lr = 0;
  int64_t warmup = 30;
  double min_lr_ratio = 0.1;  // cosine decays to lr * min_lr_ratio
  double weight_decay = 0.1;
  double beta1 = 0.9;
  double beta2 = 0.95;
  double grad_clip = 1.0;  // 0 = off
  int64_t grad_accum = 1;
  int64_t checkpoint_every = 100;  // 0 = only at the end
  int64_t log_every = 1;
  std::string device = "cpu";  // cpu | cuda | cuda:N
  int64_t threads = 0;         // 0 = all cores
  std::string positions = "contiguous";
  nlohmann::json positions_params = nlohmann::json::object();
  // Staged training (Shortformer): (seq_len, steps) pairs run in order under one LR schedule.
  // When given, steps is their sum and seq_len the first stage's.
  std::vector<std::pair<int64_t, int64_t>> stages;
  // "fp32"; "bf16": bf16 matrix products and attention (autocast), softmax, loss and norm
  // statistics in fp32, fp32 master weights and optimizer state; "bf16-weights": the same fp32
  // statistics, master weights and optimizer state, with bf16 copies of the weights for the passes
  // (train/bf16_weights.h; bf16 residual stream and weight gradients; one process). CUDA only.
  std::string precision = "fp32";
  bool checkpointing = false;  // recompute each block's activations in the backward pass
  // The passes of each step replayed from a CUDA graph captured at the first step (one micro-batch,
  // one process; train/graphed_passes.h). CUDA only.
  bool cuda_graph = false;
  LoraConfig lora;             // train.lora; absent = full fine-tuning
  // Several processes (torchrun): ranks per sequence (ring attention; 1 = data parallel only), and
  // how long a collective may wait for a peer before the run fails (seconds).
  int64_t context_parallel = 1;
  int64_t dist_timeout = 600;
  int64_t seq_len_at(int64_t step) const;     // step counts from 1
  int64_t tokens_before(int64_t step) const;  // per batch row, before `step`
};

// A retrieval sweep run when training ends: eval.passkey, eval.needle or eval.kvretrieval, each
// absent/null (off) or an object {"lengths": [...], "trials": N, ...} (see eval/retrieval.h).
struct RetrievalRequest {
  bool enabled = false;
  std::vector<int64_t> lengths;  // default: eval.lengths
  std::vector<double>
      depths;  // passkey: fractions 0..1 (empty = random); needle: percent (empty = 0,20..100)
  int64_t trials = 10;
  int64_t bins = 5;   // kvretrieval: position bins
  int64_t pairs = 0;  // kvretrieval: facts per record, 0 = as many as fit
};

// The RULER-style suite run when training ends: eval.ruler, absent/null (off) or {"lengths": [...],
// "tasks": [...], "samples": N, "depths": [...], "threshold": X} (see eval/ruler.h).
struct RulerRequest {
  bool enabled = false;
  std::vector<int64_t> lengths;    // default: eval.lengths
  std::vector<std::string> tasks;  // default: RULER's eleven
  int64_t samples = 20;
  std::vector<double> depths;  // fractions 0..1 for the needle tasks; empty = random depths
  double threshold = -1;       // effective length; < 0 = 0.9 x the average at train.seq_len
};

struct EvalConfig {
  bool enabled = true;  // evaluate when training ends
  std::string precision = "fp32";  // fp32 | bf16 (CUDA), as train.precision
  std::vector<int64_t> lengths = {128, 256, 512, 1024};
  std::vector<std::string> modes = {"nonoverlap"};  // nonoverlap | sliding
  int64_t stride = 0;                               // sliding-window stride; 0 = half the length
  int64_t max_tokens = 32768;                       // scored tokens per (length, mode), at most
  int64_t batch_size = 4;
  RetrievalRequest passkey, needle, kvretrieval;
  RulerRequest ruler;
  // Attention capture during training on a fixed probe (the first validation document long
  // enough): every `attention_every` steps and at the last step; 0 = off.
  int64_t attention_every = 0;
  // Empty (the default) = the training length; left empty in the resolved config so that a form
  // or a preset that changes train.seq_len does not carry a stale length along.
  std::vector<int64_t> attention_lengths;
  std::vector<int64_t> attention_layers;  // 0-based; empty = every layer
  int64_t attention_grid = 64;  // tiles per side (small: one capture per K steps is stored)
};

struct RunConfig {
  std::string name = "run";
  uint64_t seed = 1;
  InitConfig init;
  ModelConfig model;
  nlohmann::json rope_scaling = nullptr;  // Hugging Face rope_scaling dict, resolved; null = none
  DataConfig data;
  TrainConfig train;
  EvalConfig eval;
  // A config that starts from a stored run (init.run / run_named) and leaves out "model" takes the
  // base run's model, tokenizer and (unless given) rope_scaling; the trainer's preflight fills them
  // in from the store. Not a config key; false once resolved.
  bool inherit_model = false, inherit_rope_scaling = false;
};

// Reads every section strictly (keys, types, ranges, checks within the config); methods are not
// resolved yet. Throws ConfigError.
RunConfig read_run_config_fields(const nlohmann::json& j);
// read_run_config_fields, then the model of an init.hf folder and every method's parameters
// through the registry (implemented in methods/resolve_config.cpp). Throws ConfigError.
RunConfig parse_run_config(const nlohmann::json& j);
nlohmann::json read_config_file(const std::string& path);  // strict JSON; errors name the file
RunConfig load_run_config(const std::string& path);        // read + parse; errors name the file
nlohmann::json to_json(const RunConfig& c);                // every key, resolved
// The tokenizer a config uses: data.tokenizer, else the init.hf folder, else "byte".
std::string tokenizer_source(const RunConfig& c);

// A short label for run lists: "rope+yarn x8 / contiguous" (methods/resolve_config.cpp).
std::string method_label(const RunConfig& c);

}  // namespace ctx
