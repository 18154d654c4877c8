// config.json of a Hugging Face Llama, Mistral or Qwen2 model: read (both rope formats), validated,
// written back in the classic format, parameters counted. Assumes transformers' key names/defaults.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/input_error.h"

namespace ctx::io {

// One line naming config.json (or the label given) and the key at fault.
struct HfConfigError : InputError {
  using InputError::InputError;
};

struct HfModelConfig {
  std::string architecture;  // "LlamaForCausalLM", "MistralForCausalLM" or "Qwen2ForCausalLM"
  std::string model_type;    // "llama", "mistral" or "qwen2"
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;  // = num_attention_heads when absent
  int64_t head_dim = 0;             // explicit, else hidden_size / num_attention_heads
  double rms_norm_eps = 1e-6;
  int64_t max_position_embeddings = 0;
  double rope_theta = 10000.0;
  // Null when the rope is unscaled (absent, null or rope_type "default"); otherwise a Hugging
  // Face-style object with a string "rope_type" ("linear", "dynamic", "yarn", "llama3", ...) and
  // that type's parameters as written (legacy "type" renamed; never rope_theta).
  nlohmann::json rope_scaling;
  double partial_rotary_factor = 1.0;
  bool qkv_bias = false;  // Llama: attention_bias; Qwen2: always true; Mistral: false
  bool o_bias = false;    // Llama: attention_bias; Qwen2 and Mistral: false
  bool mlp_bias = false;  // Llama's mlp_bias; false for the others
  bool tie_word_embeddings = false;
  std::optional<int64_t> sliding_window;  // none: full attention in every layer
  std::string hidden_act = "silu";        // only silu is accepted
  std::vector<int64_t> bos_token_id;      // null -> empty, an int -> one entry, a list as is
  std::vector<int64_t> eos_token_id;
  std::string dtype;  // "float32", "bfloat16", ... (`dtype` or `torch_dtype`); empty if absent

  std::string rope_type() const;  // "default" when rope_scaling is null
  bool operator==(const HfModelConfig& other) const;
  bool operator!=(const HfModelConfig& other) const { return !(*this == other); }
};

// Reads `dir`/config.json. Throws HfConfigError (a missing file names the folder).
HfModelConfig read_hf_config(const std::string& dir);

// Parses config.json's text or JSON; `what` names it in errors (e.g. its path).
HfModelConfig parse_hf_config(const std::string& text, const std::string& what);
HfModelConfig hf_config_from_json(const nlohmann::json& j, const std::string& what);

// Throws HfConfigError naming `what` and the key when a value is out of range or the fields
// disagree with the architecture (sizes positive, kv heads divide heads, head_dim even, ...).
void validate_hf_config(const HfModelConfig& cfg, const std::string& what = "config.json");

// config.json for export in the classic format (rope_theta + rope_scaling, torch_dtype), with the
// architecture's own fields (Qwen2: use_sliding_window, max_window_layers). `extra` (an object or
// null) is merged at the top level; a key that collides with a written field is an error.
// Validates `cfg` first.
nlohmann::json write_hf_config(const HfModelConfig& cfg, const nlohmann::json& extra = nullptr);

// Parameters of the model the config describes: embedding, every layer's attention (with
// biases), MLP and two norms, the final norm, and the LM head unless tied.
int64_t count_parameters(const HfModelConfig& cfg);

}  // namespace ctx::io
