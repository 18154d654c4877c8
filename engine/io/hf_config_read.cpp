// Reading config.json into HfModelConfig: architecture resolution, typed key access with one-line
// errors, per-architecture defaults (transformers' own), biases and the sliding window.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/json_strict.h"
#include "io/hf_config.h"
#include "io/hf_config_rope.h"
#include "io/safetensors_format.h"  // quote_name

namespace ctx::io {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// transformers' defaults where a key is absent.
struct ArchInfo {
  const char* architecture;
  const char* model_type;
  int64_t default_max_positions;
};

constexpr ArchInfo kArchs[] = {
    {"LlamaForCausalLM", "llama", 2048},
    {"MistralForCausalLM", "mistral", 4096 * 32},
    {"Qwen2ForCausalLM", "qwen2", 32768},
};
constexpr int64_t kDefaultSlidingWindow = 4096;  // Mistral's and Qwen2's default
constexpr int64_t kQwen2DefaultMaxWindowLayers = 28;

std::string brief(const json& v) {
  std::string s = v.dump(-1, ' ', true, json::error_handler_t::replace);
  return s.size() > 80 ? s.substr(0, 77) + "..." : s;
}

// Typed access to the keys of one config object; every failure names `what` and the key.
class Keys {
 public:
  Keys(const json& j, const std::string& what) : j_(j), what_(what) {}

  [[noreturn]] void fail(const std::string& problem) const {
    throw HfConfigError(what_ + ": " + problem);
  }
  bool contains(const char* key) const { return j_.contains(key); }
  bool has(const char* key) const { return j_.contains(key) && !j_[key].is_null(); }
  const json& operator[](const char* key) const { return j_.at(key); }  // after has()

  int64_t integer(const char* key) const {
    if (!has(key)) fail(std::string("missing key '") + key + "'");
    return as_integer(j_[key], key);
  }
  int64_t integer_or(const char* key, int64_t fallback) const {
    return has(key) ? as_integer(j_[key], key) : fallback;
  }
  double number_or(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    if (!j_[key].is_number()) fail(std::string(key) + " must be a number, got " + brief(j_[key]));
    return j_[key].get<double>();
  }
  bool boolean_or(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    if (!j_[key].is_boolean())
      fail(std::string(key) + " must be true or false, got " + brief(j_[key]));
    return j_[key].get<bool>();
  }
  std::string string_or(const char* key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    if (!j_[key].is_string()) fail(std::string(key) + " must be a string, got " + brief(j_[key]));
    return j_[key].get<std::string>();
  }
  // null -> {}, an integer -> {it}, a list of integers as is.
  std::vector<int64_t> token_ids(const char* key) const {
    if (!has(key)) return {};
    const json& v = j_[key];
    std::vector<int64_t> out;
    if (v.is_array()) {
      for (const auto& e : v) out.push_back(as_integer(e, key));
    } else {
      out.push_back(as_integer(v, key));
    }
    return out;
  }

 private:
  int64_t as_integer(const json& v, const char* key) const {
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      fail(std::string(key) + " " + brief(v) + " is too large");
    }
    if (v.is_number_integer()) return v.get<int64_t>();
    if (v.is_number_float()) {
      const double d = v.get<double>();
      if (d > -9e18 && d < 9e18 && d == std::floor(d)) return static_cast<int64_t>(d);
    }
    fail(std::string(key) + " must be an integer, got " + brief(v));
  }

  const json& j_;
  const std::string& what_;
};

const ArchInfo& resolve_architecture(const Keys& k) {
  std::string arch;
  if (k.has("architectures")) {
    const json& a = k["architectures"];
    if (!a.is_array() || a.empty() || !a[0].is_string()) {
      k.fail("architectures must be a list of class names, got " + brief(a));
    }
    arch = a[0].get<std::string>();
  }
  const std::string model_type = k.string_or("model_type", "");
  if (arch.empty() && model_type.empty()) {
    k.fail("neither 'architectures' nor 'model_type' says which model this is");
  }
  for (const auto& info : kArchs) {
    if (arch.empty() ? model_type == info.model_type : arch == info.architecture) {
      if (!model_type.empty() && model_type != info.model_type) {
        k.fail("model_type " + quote_name(model_type) + " does not match architecture '" +
               info.architecture + "' (expected '" + info.model_type + "')");
      }
      return info;
    }
  }
  if (arch.empty()) {
    k.fail("model_type " + quote_name(model_type) +
           " is not supported (CtxLab reads llama, mistral and qwen2)");
  }
  k.fail("architecture " + quote_name(arch) +
         " is not supported (CtxLab reads LlamaForCausalLM, MistralForCausalLM and "
         "Qwen2ForCausalLM)");
}

std::optional<int64_t> window_value(const Keys& k, int64_t absent_default) {
  if (!k.contains("sliding_window")) return absent_default;
  if (!k.has("sliding_window")) return std::nullopt;  // null: no window
  return k.integer("sliding_window");
}

// Qwen2: a window only when use_sliding_window, and then only in the layers that layer_types
// marks "sliding_attention" (or, without layer_types, the layers from max_window_layers on).
// CtxLab models one attention kind for all layers, so a mix is an error.
std::optional<int64_t> qwen2_sliding_window(const Keys& k, int64_t layers) {
  if (!k.boolean_or("use_sliding_window", false)) return std::nullopt;
  const auto window = window_value(k, kDefaultSlidingWindow);
  if (!window) return std::nullopt;
  int64_t sliding = 0;
  if (k.has("layer_types")) {
    const json& types = k["layer_types"];
    if (!types.is_array() || static_cast<int64_t>(types.size()) != layers) {
      k.fail("layer_types must list one attention kind per layer (" + std::to_string(layers) +
             "), got " + brief(types));
    }
    for (const auto& t : types) {
      if (t == "sliding_attention") {
        ++sliding;
      } else if (t != "full_attention") {
        k.fail("layer_types holds " + brief(t) +
               " (CtxLab knows full_attention and sliding_attention)");
      }
    }
  } else {
    const int64_t first = k.integer_or("max_window_layers", kQwen2DefaultMaxWindowLayers);
    sliding = first <= 0 ? layers : std::max<int64_t>(0, layers - first);
  }
  if (sliding == 0) return std::nullopt;
  if (sliding != layers) {
    k.fail("the sliding window applies to " + std::to_string(sliding) + " of " +
           std::to_string(layers) + " layers; CtxLab uses one attention kind in every layer");
  }
  return window;
}

std::optional<int64_t> sliding_window(const Keys& k, const std::string& model_type,
                                      int64_t layers) {
  if (model_type == "mistral") return window_value(k, kDefaultSlidingWindow);
  if (model_type == "qwen2") return qwen2_sliding_window(k, layers);
  return std::nullopt;  // Llama has none (a stray key is ignored, as transformers does)
}

// Biases by family: Llama's attention_bias covers q, k, v and o; Qwen2 always biases q, k and v
// only; Mistral has none (keys that transformers ignores are ignored here too).
void read_biases(const Keys& k, HfModelConfig& cfg) {
  if (cfg.model_type == "llama") {
    cfg.qkv_bias = cfg.o_bias = k.boolean_or("attention_bias", false);
    cfg.mlp_bias = k.boolean_or("mlp_bias", false);
  } else if (cfg.model_type == "qwen2") {
    cfg.qkv_bias = true;
  }
}

std::string read_dtype(const Keys& k) {
  const std::string a = k.string_or("dtype", ""), b = k.string_or("torch_dtype", "");
  if (!a.empty() && !b.empty() && a != b) {
    k.fail("dtype " + quote_name(a) + " and torch_dtype " + quote_name(b) + " disagree");
  }
  return a.empty() ? b : a;
}

void read_sizes(const Keys& k, HfModelConfig& cfg, const ArchInfo& arch) {
  cfg.vocab_size = k.integer("vocab_size");
  cfg.hidden_size = k.integer("hidden_size");
  cfg.intermediate_size = k.integer("intermediate_size");
  cfg.num_hidden_layers = k.integer("num_hidden_layers");
  cfg.num_attention_heads = k.integer("num_attention_heads");
  cfg.num_key_value_heads = k.integer_or("num_key_value_heads", cfg.num_attention_heads);
  cfg.max_position_embeddings = k.integer_or("max_position_embeddings", arch.default_max_positions);
  if (k.has("head_dim")) {
    cfg.head_dim = k.integer("head_dim");
  } else if (cfg.num_attention_heads > 0 && cfg.hidden_size % cfg.num_attention_heads == 0) {
    cfg.head_dim = cfg.hidden_size / cfg.num_attention_heads;
  } else if (cfg.num_attention_heads > 0) {
    k.fail("hidden_size " + std::to_string(cfg.hidden_size) + " is not divisible by " +
           "num_attention_heads " + std::to_string(cfg.num_attention_heads) +
           " (and no head_dim is given)");
  }
}

}  // namespace

HfModelConfig hf_config_from_json(const json& j, const std::string& what) {
  if (!j.is_object()) throw HfConfigError(what + ": not a JSON object");
  const Keys k(j, what);
  const ArchInfo& arch = resolve_architecture(k);
  HfModelConfig cfg;
  cfg.architecture = arch.architecture;
  cfg.model_type = arch.model_type;
  read_sizes(k, cfg, arch);
  cfg.rms_norm_eps = k.number_or("rms_norm_eps", 1e-6);
  const auto rope = hf_detail::read_rope_settings(j, what);
  cfg.rope_theta = rope.theta;
  cfg.rope_scaling = rope.scaling;
  cfg.partial_rotary_factor = rope.partial_rotary_factor;
  read_biases(k, cfg);
  cfg.tie_word_embeddings = k.boolean_or("tie_word_embeddings", false);
  cfg.sliding_window = sliding_window(k, cfg.model_type, cfg.num_hidden_layers);
  cfg.hidden_act = k.string_or("hidden_act", "silu");
  cfg.bos_token_id = k.token_ids("bos_token_id");
  cfg.eos_token_id = k.token_ids("eos_token_id");
  cfg.dtype = read_dtype(k);
  validate_hf_config(cfg, what);
  return cfg;
}

HfModelConfig parse_hf_config(const std::string& text, const std::string& what) {
  json j;
  try {
    j = parse_json_strict(text, what);
  } catch (const JsonError& e) {
    throw HfConfigError(e.what());
  }
  return hf_config_from_json(j, what);
}

HfModelConfig read_hf_config(const std::string& dir) {
  const fs::path path = fs::path(dir) / "config.json";
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw HfConfigError(dir + ": no config.json in this folder");
  if (fs::file_size(path, ec) > (64u << 20))
    throw HfConfigError(path.string() + ": larger than 64 MiB");
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) throw HfConfigError(path.string() + ": cannot read");
  return parse_hf_config(text.str(), path.string());
}

}  // namespace ctx::io
