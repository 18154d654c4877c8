// config.json for export in the classic format (rope_theta + rope_scaling, torch_dtype), which
// transformers 4 and 5, vLLM and llama.cpp's converter all read; keys sorted like transformers.
#include "io/hf_config.h"
#include "io/safetensors_format.h"  // quote_name

namespace ctx::io {

namespace {

using nlohmann::json;

json token_ids(const std::vector<int64_t>& ids) {
  if (ids.empty()) return nullptr;
  if (ids.size() == 1) return ids[0];
  return ids;
}

void add_family_fields(const HfModelConfig& c, json& j) {
  if (c.model_type == "llama") {
    j["attention_bias"] = c.qkv_bias;
    j["mlp_bias"] = c.mlp_bias;
    j["pretraining_tp"] = 1;
  } else if (c.model_type == "mistral") {
    j["sliding_window"] = c.sliding_window ? json(*c.sliding_window) : json(nullptr);
  } else if (c.model_type == "qwen2") {
    j["use_sliding_window"] = c.sliding_window.has_value();
    j["sliding_window"] = c.sliding_window ? json(*c.sliding_window) : json(nullptr);
    // Layers from max_window_layers on use the window: 0 = all of them, L = none.
    j["max_window_layers"] = c.sliding_window ? 0 : c.num_hidden_layers;
  }
}

}  // namespace

json write_hf_config(const HfModelConfig& c, const json& extra) {
  validate_hf_config(c, "write_hf_config");
  if (!extra.is_null() && !extra.is_object()) {
    throw HfConfigError("write_hf_config: extra must be a JSON object or null");
  }
  json j;
  j["architectures"] = json::array({c.architecture});
  j["model_type"] = c.model_type;
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_key_value_heads"] = c.num_key_value_heads;
  j["head_dim"] = c.head_dim;
  j["hidden_act"] = c.hidden_act;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["rope_theta"] = c.rope_theta;
  j["rope_scaling"] = c.rope_scaling;
  if (c.partial_rotary_factor != 1.0) j["partial_rotary_factor"] = c.partial_rotary_factor;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["bos_token_id"] = token_ids(c.bos_token_id);
  j["eos_token_id"] = token_ids(c.eos_token_id);
  if (!c.dtype.empty()) j["torch_dtype"] = c.dtype;
  j["attention_dropout"] = 0.0;
  j["initializer_range"] = 0.02;
  j["use_cache"] = true;
  add_family_fields(c, j);
  if (extra.is_object()) {
    for (const auto& [key, value] : extra.items()) {
      if (j.contains(key)) {
        throw HfConfigError("write_hf_config: extra key " + quote_name(key) +
                            " collides with a config field");
      }
      j[key] = value;
    }
  }
  return j;
}

}  // namespace ctx::io
