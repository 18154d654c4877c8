// HfModelConfig's checks (value ranges, agreement with the architecture) and parameter count;
// reading is in hf_config_read.cpp, writing in hf_config_write.cpp.
#include "io/hf_config.h"

#include <cmath>
#include <sstream>

#include "io/safetensors_format.h"  // quote_name

namespace ctx::io {

namespace {

struct Check {
  const std::string& what;
  [[noreturn]] void fail(const std::string& problem) const {
    throw HfConfigError(what + ": " + problem);
  }
  void positive(const char* key, int64_t v) const {
    if (v <= 0) fail(std::string(key) + " must be positive, got " + std::to_string(v));
  }
  void positive(const char* key, double v) const {
    if (!(v > 0) || !std::isfinite(v)) {
      fail(std::string(key) + " must be a positive number, got " + std::to_string(v));
    }
  }
};

// Every count below is at most the total, so a total under 2^53 counts exactly in int64_t.
constexpr double kMaxParameters = 9007199254740992.0;  // 2^53

// Embedding, every layer's attention (with biases), MLP and two norms, the final norm, the LM
// head unless tied; in T (double to bound it, int64_t once bounded).
template <class T>
T parameters_of(const HfModelConfig& c) {
  const T h = static_cast<T>(c.hidden_size), q = static_cast<T>(c.num_attention_heads) * static_cast<T>(c.head_dim),
          kv = static_cast<T>(c.num_key_value_heads) * static_cast<T>(c.head_dim),
          f = static_cast<T>(c.intermediate_size);
  T attention = h * q + 2 * h * kv + q * h;
  if (c.qkv_bias) attention += q + 2 * kv;
  if (c.o_bias) attention += h;
  T mlp = 3 * h * f;
  if (c.mlp_bias) mlp += 2 * f + h;
  const T layer = attention + mlp + 2 * h;  // + input and post-attention norms
  const T embedding = static_cast<T>(c.vocab_size) * h;
  return embedding + static_cast<T>(c.num_hidden_layers) * layer + h + (c.tie_word_embeddings ? 0 : embedding);
}

std::string yes_no(bool b) {
  return b ? "true" : "false";
}

void check_architecture(const HfModelConfig& c, const Check& check) {
  static const char* const pairs[][2] = {{"LlamaForCausalLM", "llama"},
                                         {"MistralForCausalLM", "mistral"},
                                         {"Qwen2ForCausalLM", "qwen2"}};
  for (const auto& p : pairs) {
    if (c.architecture == p[0]) {
      if (c.model_type != p[1]) {
        check.fail("model_type " + quote_name(c.model_type) + " does not match architecture " +
                   quote_name(c.architecture) + " (expected '" + p[1] + "')");
      }
      return;
    }
  }
  check.fail("architecture " + quote_name(c.architecture) +
             " is not supported (CtxLab reads LlamaForCausalLM, MistralForCausalLM and "
             "Qwen2ForCausalLM)");
}

void check_shapes(const HfModelConfig& c, const Check& check) {
  check.positive("vocab_size", c.vocab_size);
  check.positive("hidden_size", c.hidden_size);
  check.positive("intermediate_size", c.intermediate_size);
  check.positive("num_hidden_layers", c.num_hidden_layers);
  check.positive("num_attention_heads", c.num_attention_heads);
  check.positive("num_key_value_heads", c.num_key_value_heads);
  check.positive("head_dim", c.head_dim);
  check.positive("max_position_embeddings", c.max_position_embeddings);
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    check.fail("num_key_value_heads " + std::to_string(c.num_key_value_heads) +
               " does not divide num_attention_heads " + std::to_string(c.num_attention_heads));
  }
  if (c.head_dim % 2 != 0) {
    check.fail("head_dim " + std::to_string(c.head_dim) + " must be even (rotary pairs)");
  }
  // Counted in floating point first: sizes no real model has would overflow the exact count.
  const double params = parameters_of<double>(c);
  if (!(params < kMaxParameters)) {
    std::ostringstream n;
    n.precision(3);
    n << params;
    check.fail("the sizes describe " + n.str() + " parameters (at most 2^53 are counted)");
  }
}

void check_rope(const HfModelConfig& c, const Check& check) {
  check.positive("rms_norm_eps", c.rms_norm_eps);
  check.positive("rope_theta", c.rope_theta);
  if (!(c.partial_rotary_factor > 0 && c.partial_rotary_factor <= 1)) {
    check.fail("partial_rotary_factor must be in (0, 1], got " +
               std::to_string(c.partial_rotary_factor));
  }
  const auto rotary =
      static_cast<int64_t>(static_cast<double>(c.head_dim) * c.partial_rotary_factor);
  if (rotary <= 0 || rotary % 2 != 0) {
    check.fail("partial_rotary_factor " + std::to_string(c.partial_rotary_factor) + " leaves " +
               std::to_string(rotary) + " rotary dimensions of head_dim " +
               std::to_string(c.head_dim) + " (must be even and positive)");
  }
  const auto& s = c.rope_scaling;
  if (s.is_null()) return;
  if (!s.is_object() || !s.contains("rope_type") || !s["rope_type"].is_string() ||
      s["rope_type"] == "default" || s.contains("rope_theta")) {
    check.fail("rope_scaling must be null or an object with a rope_type other than 'default'");
  }
}

void check_family(const HfModelConfig& c, const Check& check) {
  if (c.hidden_act != "silu") {
    check.fail("hidden_act " + quote_name(c.hidden_act) +
               " is not supported (CtxLab's models use silu)");
  }
  if (c.sliding_window && *c.sliding_window <= 0) {
    check.fail("sliding_window must be positive, got " + std::to_string(*c.sliding_window));
  }
  const std::string biases = "q/k/v bias " + yes_no(c.qkv_bias) + ", o bias " + yes_no(c.o_bias) +
                             ", mlp bias " + yes_no(c.mlp_bias);
  if (c.model_type == "llama") {
    if (c.qkv_bias != c.o_bias)
      check.fail("llama has one attention_bias for q, k, v and o (" + biases + ")");
    if (c.sliding_window) check.fail("llama has no sliding_window");
  } else if (c.model_type == "mistral") {
    if (c.qkv_bias || c.o_bias || c.mlp_bias) check.fail("mistral has no biases (" + biases + ")");
  } else if (c.model_type == "qwen2") {
    if (!c.qkv_bias || c.o_bias || c.mlp_bias) {
      check.fail("qwen2 has q/k/v biases only (" + biases + ")");
    }
  }
  for (const auto* ids : {&c.bos_token_id, &c.eos_token_id}) {
    for (int64_t id : *ids) {
      if (id < 0) check.fail("token ids must be non-negative, got " + std::to_string(id));
    }
  }
}

}  // namespace

std::string HfModelConfig::rope_type() const {
  return rope_scaling.is_object() && rope_scaling.contains("rope_type") &&
                 rope_scaling["rope_type"].is_string()
             ? rope_scaling["rope_type"].get<std::string>()
             : "default";
}

bool HfModelConfig::operator==(const HfModelConfig& o) const {
  return architecture == o.architecture && model_type == o.model_type &&
         vocab_size == o.vocab_size && hidden_size == o.hidden_size &&
         intermediate_size == o.intermediate_size && num_hidden_layers == o.num_hidden_layers &&
         num_attention_heads == o.num_attention_heads &&
         num_key_value_heads == o.num_key_value_heads && head_dim == o.head_dim &&
         rms_norm_eps == o.rms_norm_eps && max_position_embeddings == o.max_position_embeddings &&
         rope_theta == o.rope_theta && rope_scaling == o.rope_scaling &&
         partial_rotary_factor == o.partial_rotary_factor && qkv_bias == o.qkv_bias &&
         o_bias == o.o_bias && mlp_bias == o.mlp_bias &&
         tie_word_embeddings == o.tie_word_embeddings && sliding_window == o.sliding_window &&
         hidden_act == o.hidden_act && bos_token_id == o.bos_token_id &&
         eos_token_id == o.eos_token_id && dtype == o.dtype;
}

void validate_hf_config(const HfModelConfig& cfg, const std::string& what) {
  const Check check{what};
  check_architecture(cfg, check);
  check_shapes(cfg, check);
  check_rope(cfg, check);
  check_family(cfg, check);
}

int64_t count_parameters(const HfModelConfig& c) {
  if (!(parameters_of<double>(c) < kMaxParameters))  // validate_hf_config refuses such sizes
    throw HfConfigError("config.json: the sizes describe more than 2^53 parameters");
  return parameters_of<int64_t>(c);
}

}  // namespace ctx::io
