// The "model" section; see model_section.h.
#include "config/model_section.h"

#include "config/section_reader.h"

namespace ctx {

const std::vector<std::string>& model_families() {
  static const std::vector<std::string> names = {"gpt", "llama"};
  return names;
}

int64_t ModelConfig::ffn_width() const {
  if (arch != "llama") return ffn_mult * d_model;
  if (ffn_hidden > 0) return ffn_hidden;
  const int64_t w = (8 * d_model + 2) / 3;
  return (w + 31) / 32 * 32;
}

namespace sections {

void parse_model(const nlohmann::json& j, ModelConfig& m) {
  Section s(j, "model");
  s.string("arch", m.arch, model_families());
  s.integer("layers", m.layers, 1, 256);
  s.integer("d_model", m.d_model, 8, 65536);
  s.integer("heads", m.heads, 1, 1024);
  s.integer("kv_heads", m.kv_heads, 0, 1024);
  s.integer("head_dim", m.head_dim_set, 0, 4096);
  s.integer("ffn_mult", m.ffn_mult, 1, 64);
  s.integer("ffn_hidden", m.ffn_hidden, 0, 1e6);
  s.number("norm_eps", m.norm_eps, 0.0, 1.0);
  s.boolean("qkv_bias", m.qkv_bias);
  s.boolean("o_bias", m.o_bias);
  s.boolean("mlp_bias", m.mlp_bias);
  s.boolean("tie_embeddings", m.tie_embeddings);
  s.integer("vocab_size", m.vocab_size, 0, 1e8);
  s.integer("sliding_window", m.sliding_window, 0, 1e9);
  s.string("weights_dtype", m.weights_dtype, {"", "float32", "bfloat16", "float16"});
  s.integer("max_positions", m.max_positions, 1, 1e9);
  method_ref(s, "position", m.position, m.position_params);
  s.finish();
  if (m.head_dim_set == 0 && m.d_model % m.heads != 0)
    throw ConfigError("model.heads: " + std::to_string(m.heads) + " does not divide d_model " +
                      std::to_string(m.d_model));
  if (m.kv_head_count() > m.heads || m.heads % m.kv_head_count() != 0)
    throw ConfigError("model.kv_heads: " + std::to_string(m.kv_heads) + " does not divide heads " +
                      std::to_string(m.heads));
  if (m.arch == "gpt") {
    // CtxLab's own family has one shape: say which key needs the llama family.
    auto only_llama = [](const std::string& key, bool set) {
      if (set)
        throw ConfigError("model." + key +
                          ": the gpt family does not have this (use model.arch llama)");
    };
    only_llama("kv_heads", m.kv_heads != 0 && m.kv_heads != m.heads);
    only_llama("head_dim", m.head_dim_set != 0 && m.head_dim_set * m.heads != m.d_model);
    only_llama("ffn_hidden", m.ffn_hidden != 0);
    only_llama("qkv_bias", m.qkv_bias);
    only_llama("o_bias", m.o_bias);
    only_llama("mlp_bias", m.mlp_bias);
    only_llama("tie_embeddings", !m.tie_embeddings);
    only_llama("sliding_window", m.sliding_window != 0);
  }
}

nlohmann::json model_json(const ModelConfig& m) {
  nlohmann::json position = m.position_params;
  position["type"] = m.position;
  return {{"arch", m.arch},
          {"layers", m.layers},
          {"d_model", m.d_model},
          {"heads", m.heads},
          {"kv_heads", m.kv_heads},
          {"head_dim", m.head_dim_set},
          {"ffn_mult", m.ffn_mult},
          {"ffn_hidden", m.ffn_hidden},
          {"norm_eps", m.norm_eps},
          {"qkv_bias", m.qkv_bias},
          {"o_bias", m.o_bias},
          {"mlp_bias", m.mlp_bias},
          {"tie_embeddings", m.tie_embeddings},
          {"vocab_size", m.vocab_size},
          {"sliding_window", m.sliding_window},
          {"weights_dtype", m.weights_dtype},
          {"max_positions", m.max_positions},
          {"position", position}};
}

}  // namespace sections
}  // namespace ctx
