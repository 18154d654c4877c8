// The model section of an init.hf config, read from the folder's config.json: the llama family
// with the folder's sizes, RoPE (rotate-half pairing, rope_theta, partial rotary factor) and its
// rope scaling unless the config brings its own.
#include "methods/hf_model.h"

#include <filesystem>

#include "io/hf_config.h"

namespace fs = std::filesystem;

namespace ctx {
namespace {

ModelConfig model_of(const io::HfModelConfig& h) {
  ModelConfig m;
  m.arch = "llama";
  m.layers = h.num_hidden_layers;
  m.d_model = h.hidden_size;
  m.heads = h.num_attention_heads;
  m.kv_heads = h.num_key_value_heads;
  m.head_dim_set = h.head_dim;
  m.ffn_hidden = h.intermediate_size;
  m.norm_eps = h.rms_norm_eps;
  m.qkv_bias = h.qkv_bias;
  m.o_bias = h.o_bias;
  m.mlp_bias = h.mlp_bias;
  m.tie_embeddings = h.tie_word_embeddings;
  m.vocab_size = h.vocab_size;
  m.sliding_window = h.sliding_window.value_or(0);
  m.weights_dtype = h.dtype == "bfloat16" || h.dtype == "float16" ? h.dtype : "float32";
  m.max_positions = h.max_position_embeddings;
  m.position = "rope";
  m.position_params = {
      {"theta", h.rope_theta}, {"pairing", "half"}, {"rotary_fraction", h.partial_rotary_factor}};
  return m;
}

// The keys of a model section that a folder fixes, as (name, value) for comparison.
std::vector<std::pair<std::string, nlohmann::json>> fixed_keys(const ModelConfig& m) {
  return {{"arch", m.arch},
          {"layers", m.layers},
          {"d_model", m.d_model},
          {"heads", m.heads},
          {"kv_heads", m.kv_head_count()},
          {"head_dim", m.head_dim()},
          {"ffn_hidden", m.ffn_width()},
          {"norm_eps", m.norm_eps},
          {"qkv_bias", m.qkv_bias},
          {"o_bias", m.o_bias},
          {"mlp_bias", m.mlp_bias},
          {"tie_embeddings", m.tie_embeddings},
          {"vocab_size", m.vocab_size},
          {"position.type", m.position},
          {"position.theta", m.position_params.value("theta", nlohmann::json())}};
}

}  // namespace

HfModelSection read_hf_model_section(const std::string& folder) {
  io::HfModelConfig h;
  try {
    h = io::read_hf_config(folder);
  } catch (const io::HfConfigError& e) {
    throw ConfigError(e.what());
  }
  HfModelSection s;
  s.model = model_of(h);
  s.rope_scaling = h.rope_scaling;
  s.architecture = h.architecture;
  s.dtype = h.dtype;
  s.parameters = io::count_parameters(h);
  return s;
}

void apply_hf_model(RunConfig& c, bool model_given, bool rope_given) {
  std::error_code ec;
  const bool readable = fs::exists(fs::path(c.init.hf) / "config.json", ec);
  if (!model_given || readable) {
    const auto folder = read_hf_model_section(c.init.hf);
    if (model_given) {
      // A stored, resolved config repeats the folder's model: it must still be the same model.
      const auto want = fixed_keys(folder.model), got = fixed_keys(c.model);
      for (size_t i = 0; i < want.size(); ++i)
        if (want[i].second != got[i].second)
          throw ConfigError("model." + want[i].first + ": " + got[i].second.dump() +
                            " differs from " + want[i].second.dump() + " in " + c.init.hf +
                            "/config.json (init.hf sets the model: leave model out)");
    } else {
      c.model = folder.model;
    }
    if (!rope_given) c.rope_scaling = folder.rope_scaling;
  }
}

}  // namespace ctx
