// Strict JSON parsing of run configs: each section is read through a reader that knows its keys,
// so unknown keys, wrong types and out-of-range values fail with the full key path.
#include "config/run_config.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "config/json_strict.h"

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

std::string config_number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}
namespace {

// Reads one JSON object; finish() rejects keys nobody asked for.
class Section {
 public:
  Section(const nlohmann::json& j, std::string path) : j_(j), path_(std::move(path)) {
    if (!j_.is_null() && !j_.is_object())
      throw ConfigError((path_.empty() ? "config" : path_) + ": must be an object (got " +
                        j_.dump() + ")");
  }
  std::string key(const std::string& k) const {
    return path_.empty() ? printable(k) : path_ + "." + printable(k);
  }
  bool has(const std::string& k) {
    seen_.insert(k);
    return j_.is_object() && j_.contains(k) && !j_[k].is_null();
  }
  const nlohmann::json& raw(const std::string& k) {
    seen_.insert(k);
    return j_.at(k);
  }
  void integer(const std::string& k, int64_t& out, double lo, double hi = INFINITY) {
    if (!has(k)) return;
    const auto& v = j_[k];
    if (!v.is_number() || std::floor(v.get<double>()) != v.get<double>())
      throw ConfigError(key(k) + ": must be an integer (got " + v.dump() + ")");
    range(k, v.get<double>(), lo, hi);
    out = v.get<int64_t>();
  }
  void number(const std::string& k, double& out, double lo, double hi = INFINITY) {
    if (!has(k)) return;
    const auto& v = j_[k];
    if (!v.is_number()) throw ConfigError(key(k) + ": must be a number (got " + v.dump() + ")");
    range(k, v.get<double>(), lo, hi);
    out = v.get<double>();
  }
  void boolean(const std::string& k, bool& out) {
    if (!has(k)) return;
    if (!j_[k].is_boolean())
      throw ConfigError(key(k) + ": must be true or false (got " + j_[k].dump() + ")");
    out = j_[k].get<bool>();
  }
  void string(const std::string& k, std::string& out,
              const std::vector<std::string>& choices = {}) {
    if (!has(k)) return;
    if (!j_[k].is_string())
      throw ConfigError(key(k) + ": must be a string (got " + j_[k].dump() + ")");
    out = j_[k].get<std::string>();
    if (!choices.empty() && std::find(choices.begin(), choices.end(), out) == choices.end()) {
      std::string all;
      for (auto& c : choices) all += (all.empty() ? "" : ", ") + c;
      throw ConfigError(key(k) + ": unknown value '" + out + "' (one of: " + all + ")");
    }
  }
  void finish() const {
    if (!j_.is_object()) return;
    for (auto& [k, v] : j_.items()) {
      if (!seen_.count(k)) {
        std::string all;
        for (auto& s : seen_) all += (all.empty() ? "" : ", ") + s;
        throw ConfigError(key(k) + ": unknown key (known: " + all + ")");
      }
    }
  }

 private:
  void range(const std::string& k, double v, double lo, double hi) const {
    if (v < lo)
      throw ConfigError(key(k) + ": must be >= " + config_number(lo) + " (got " + config_number(v) +
                        ")");
    if (v > hi)
      throw ConfigError(key(k) + ": must be <= " + config_number(hi) + " (got " + config_number(v) +
                        ")");
  }
  const nlohmann::json& j_;
  std::string path_;
  std::set<std::string> seen_;
};

// A method given either as a name or as {"type": name, ...params}.
void method_ref(Section& s, const std::string& k, std::string& name, nlohmann::json& params) {
  if (!s.has(k)) return;
  const auto& v = s.raw(k);
  if (v.is_string()) {
    name = v.get<std::string>();
    params = nlohmann::json::object();
  } else if (v.is_object()) {
    if (!v.contains("type") || !v["type"].is_string())
      throw ConfigError(s.key(k) + ".type: required (a string naming the method)");
    name = v["type"].get<std::string>();
    params = v;
    params.erase("type");
  } else {
    throw ConfigError(s.key(k) + ": must be a name or an object with \"type\" (got " + v.dump() +
                      ")");
  }
}

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

// Lengths asked for twice are evaluated once: repeats go, each value keeps its first place.
std::vector<int64_t> without_repeats(const std::vector<int64_t>& values) {
  std::vector<int64_t> out;
  for (auto v : values)
    if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  return out;
}

// A list of integers >= lo under `key` (non-empty unless allowed).
std::vector<int64_t> int_list(const nlohmann::json& v, const std::string& key, int64_t lo,
                              bool allow_empty = false) {
  if (!v.is_array() || (v.empty() && !allow_empty))
    throw ConfigError(key + ": must be a " + (allow_empty ? "" : "non-empty ") +
                      "list of integers");
  std::vector<int64_t> out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_number_integer() || v[i].get<int64_t>() < lo)
      throw ConfigError(key + "[" + std::to_string(i) + "]: must be an integer >= " +
                        std::to_string(lo) + " (got " + v[i].dump() + ")");
    out.push_back(v[i].get<int64_t>());
  }
  return out;
}

void parse_data(const nlohmann::json& j, DataConfig& d) {
  Section s(j, "data");
  s.string("corpus", d.corpus);
  if (d.corpus.empty()) throw ConfigError("data.corpus: must not be empty");
  s.string("tokenizer", d.tokenizer);
  s.string("split", d.split, {"file", "blank_lines", "lines"});
  s.number("val_fraction", d.val_fraction, 0.0, 0.9);
  s.integer("builtin_docs", d.builtin_docs, 2, 1e6);
  s.integer("builtin_doc_tokens", d.builtin_doc_tokens, 64, 1e8);
  s.number("builtin_jitter", d.builtin_jitter, 0.0, 0.95);
  s.number("builtin_fact_rate", d.builtin_fact_rate, 0.0, 1.0);
  s.number("builtin_copy_rate", d.builtin_copy_rate, 0.0, 1.0);
  if (s.has("builtin_distances"))
    d.builtin_distances = int_list(s.raw("builtin_distances"), s.key("builtin_distances"), 1);
  s.integer("min_doc_tokens", d.min_doc_tokens, 1, 1e9);
  s.finish();
  // The built-in corpus is generated in memory: at most 2^28 tokens (256 MiB of text, ~8x the
  // largest preset), so a mistyped size fails here rather than after minutes of generating.
  constexpr double kMaxBuiltinTokens = 268435456.0;
  if (d.corpus.rfind("builtin:", 0) == 0 &&
      static_cast<double>(d.builtin_docs) * static_cast<double>(d.builtin_doc_tokens) >
          kMaxBuiltinTokens)
    throw ConfigError("data.builtin_docs: " + std::to_string(d.builtin_docs) + " documents of " +
                      std::to_string(d.builtin_doc_tokens) +
                      " tokens (data.builtin_doc_tokens) is more than the built-in corpus makes "
                      "(268435456 tokens at most)");
}

void parse_lora(const nlohmann::json& j, LoraConfig& l) {
  Section s(j, "train.lora");
  l.enabled = true;
  s.integer("rank", l.rank, 1, 4096);
  s.number("alpha", l.alpha, 0.0, 1e6);
  if (s.has("targets")) {
    const auto& v = s.raw("targets");
    if (!v.is_array() || v.empty()) throw ConfigError("train.lora.targets: must be a non-empty list of module names");
    l.targets.clear();
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_string())
        throw ConfigError("train.lora.targets[" + std::to_string(i) + "]: must be a module name (got " + v[i].dump() + ")");
      l.targets.push_back(v[i].get<std::string>());
    }
  }
  s.boolean("train_embeddings", l.train_embeddings);
  s.boolean("train_norms", l.train_norms);
  s.finish();
}

void parse_train(const nlohmann::json& j, TrainConfig& t) {
  Section s(j, "train");
  s.integer("seq_len", t.seq_len, 2, 1e8);
  s.integer("batch_size", t.batch_size, 1, 1e6);
  s.integer("steps", t.steps, 0, 1e9);
  s.number("lr", t.lr, 0.0, 10.0);
  s.integer("warmup", t.warmup, 0, 1e9);
  s.number("min_lr_ratio", t.min_lr_ratio, 0.0, 1.0);
  s.number("weight_decay", t.weight_decay, 0.0, 10.0);
  s.number("beta1", t.beta1, 0.0, 0.999999);
  s.number("beta2", t.beta2, 0.0, 0.999999);
  s.number("grad_clip", t.grad_clip, 0.0);
  s.integer("grad_accum", t.grad_accum, 1, 1e6);
  s.integer("checkpoint_every", t.checkpoint_every, 0, 1e9);
  s.integer("log_every", t.log_every, 1, 1e9);
  s.string("device", t.device);
  if (!(t.device == "cpu" || t.device == "cuda" || t.device.rfind("cuda:", 0) == 0))
    throw ConfigError("train.device: unknown device '" + t.device + "' (cpu, cuda or cuda:N)");
  s.integer("threads", t.threads, 0, 4096);
  method_ref(s, "positions", t.positions, t.positions_params);
  s.string("precision", t.precision, {"fp32", "bf16", "bf16-weights"});
  s.boolean("checkpointing", t.checkpointing);
  s.integer("context_parallel", t.context_parallel, 1, 4096);
  s.integer("dist_timeout", t.dist_timeout, 1, 86400);
  if (s.has("lora")) parse_lora(s.raw("lora"), t.lora);
  if (s.has("stages")) {
    const auto& v = s.raw("stages");
    if (!v.is_array())
      throw ConfigError("train.stages: must be a list of {\"seq_len\", \"steps\"}");
    int64_t total = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      Section st(v[i], "train.stages[" + std::to_string(i) + "]");
      int64_t len = 0, steps = 0;
      st.integer("seq_len", len, 2, 1e8);
      st.integer("steps", steps, 1, 1e9);
      st.finish();
      if (len == 0 || steps == 0)
        throw ConfigError(st.key("seq_len") + ": each stage needs seq_len and steps");
      t.stages.emplace_back(len, steps);
      total += steps;
    }
    if (!t.stages.empty() && s.has("steps") && t.steps != total)
      throw ConfigError("train.steps: " + std::to_string(t.steps) +
                        " differs from the stages' total " + std::to_string(total));
    if (!t.stages.empty()) {
      t.steps = total;
      t.seq_len = t.stages.front().first;
    }
  }
  s.finish();
}

void parse_retrieval(Section& parent, const std::string& task, RetrievalRequest& r) {
  if (!parent.has(task)) return;
  Section s(parent.raw(task), "eval." + task);
  r.enabled = true;
  // Prompt lengths are checked against the prompt's own length in methods/resolve_config.cpp.
  if (s.has("lengths"))
    r.lengths = without_repeats(int_list(s.raw("lengths"), s.key("lengths"), 2));
  s.integer("trials", r.trials, 1, 1e6);
  if (task == "kvretrieval") {
    s.integer("bins", r.bins, 1, 1000);
    s.integer("pairs", r.pairs, 0, 1e6);
    if (r.pairs == 1)
      throw ConfigError(s.key("pairs") + ": must be 0 (as many as fit) or >= 2 (got 1)");
  } else if (s.has("depths")) {
    const auto& v = s.raw("depths");
    const double hi = task == "needle" ? 100.0 : 1.0;
    if (!v.is_array() || v.empty())
      throw ConfigError(s.key("depths") + ": must be a non-empty list of numbers");
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_number() || v[i].get<double>() < 0 || v[i].get<double>() > hi)
        throw ConfigError(s.key("depths") + "[" + std::to_string(i) +
                          "]: must be a number in [0, " + config_number(hi) + "]" +
                          (task == "needle" ? " (percent)" : " (a fraction)") + " (got " +
                          v[i].dump() + ")");
      r.depths.push_back(v[i].get<double>());
    }
  }
  s.finish();
}

nlohmann::json retrieval_json(const std::string& task, const RetrievalRequest& r) {
  if (!r.enabled) return nullptr;
  nlohmann::json j{{"lengths", r.lengths}, {"trials", r.trials}};
  if (task == "kvretrieval") {
    j["bins"] = r.bins;
    j["pairs"] = r.pairs;
  } else if (!r.depths.empty()) {
    j["depths"] = r.depths;
  }
  return j;
}

// Task names are checked against the registry in methods/resolve_config.cpp.
void parse_ruler(Section& parent, RulerRequest& r) {
  if (!parent.has("ruler")) return;
  Section s(parent.raw("ruler"), "eval.ruler");
  r.enabled = true;
  if (s.has("lengths")) r.lengths = int_list(s.raw("lengths"), s.key("lengths"), 2);
  if (s.has("tasks")) {
    const auto& v = s.raw("tasks");
    if (!v.is_array() || v.empty())
      throw ConfigError(s.key("tasks") + ": must be a non-empty list of task names");
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_string())
        throw ConfigError(s.key("tasks") + "[" + std::to_string(i) + "]: must be a string (got " +
                          v[i].dump() + ")");
      r.tasks.push_back(v[i].get<std::string>());
    }
  }
  s.integer("samples", r.samples, 1, 1e6);
  if (s.has("depths")) {
    const auto& v = s.raw("depths");
    if (!v.is_array() || v.empty())
      throw ConfigError(s.key("depths") + ": must be a non-empty list of numbers");
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_number() || v[i].get<double>() < 0 || v[i].get<double>() > 1)
        throw ConfigError(s.key("depths") + "[" + std::to_string(i) +
                          "]: must be a number in [0, 1] (got " + v[i].dump() + ")");
      r.depths.push_back(v[i].get<double>());
    }
  }
  s.number("threshold", r.threshold, 0.0, 1.0);
  s.finish();
}

nlohmann::json ruler_json(const RulerRequest& r) {
  if (!r.enabled) return nullptr;
  nlohmann::json j{{"lengths", r.lengths}, {"samples", r.samples}};
  if (!r.tasks.empty()) j["tasks"] = r.tasks;
  if (!r.depths.empty()) j["depths"] = r.depths;
  if (r.threshold >= 0) j["threshold"] = r.threshold;
  return j;
}

void parse_eval(const nlohmann::json& j, EvalConfig& e) {
  Section s(j, "eval");
  s.boolean("enabled", e.enabled);
  s.string("precision", e.precision, {"fp32", "bf16"});
  if (s.has("lengths")) {
    const auto& v = s.raw("lengths");
    if (!v.is_array() || v.empty())
      throw ConfigError("eval.lengths: must be a non-empty list of integers");
    e.lengths.clear();
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_number_integer() || v[i].get<int64_t>() < 2)
        throw ConfigError("eval.lengths[" + std::to_string(i) + "]: must be an integer >= 2 (got " +
                          v[i].dump() + ")");
      e.lengths.push_back(v[i].get<int64_t>());
    }
    e.lengths = without_repeats(e.lengths);
  }
  if (s.has("mode")) {
    const auto& v = s.raw("mode");
    e.modes.clear();
    auto add = [&](const nlohmann::json& m, const std::string& key) {
      if (!m.is_string() || (m != "nonoverlap" && m != "sliding"))
        throw ConfigError(key + ": unknown mode " + m.dump() + " (nonoverlap or sliding)");
      if (std::find(e.modes.begin(), e.modes.end(), m) == e.modes.end())
        e.modes.push_back(m.get<std::string>());
    };
    if (v.is_array()) {
      for (size_t i = 0; i < v.size(); ++i) add(v[i], "eval.mode[" + std::to_string(i) + "]");
    } else {
      add(v, "eval.mode");
    }
    if (e.modes.empty()) throw ConfigError("eval.mode: must name at least one mode");
  }
  s.integer("stride", e.stride, 0, 1e9);
  s.integer("max_tokens", e.max_tokens, 1, 1e12);
  s.integer("batch_size", e.batch_size, 1, 1e6);
  parse_retrieval(s, "passkey", e.passkey);
  parse_retrieval(s, "needle", e.needle);
  parse_retrieval(s, "kvretrieval", e.kvretrieval);
  parse_ruler(s, e.ruler);
  s.integer("attention_every", e.attention_every, 0, 1e9);
  if (s.has("attention_lengths"))
    e.attention_lengths =
        without_repeats(int_list(s.raw("attention_lengths"), "eval.attention_lengths", 2, true));
  if (s.has("attention_layers"))
    e.attention_layers = int_list(s.raw("attention_layers"), "eval.attention_layers", 0, true);
  s.integer("attention_grid", e.attention_grid, 1, 4096);
  s.finish();
  for (auto* r : {&e.passkey, &e.needle, &e.kvretrieval})
    if (r->enabled && r->lengths.empty()) r->lengths = e.lengths;
  if (e.ruler.enabled && e.ruler.lengths.empty()) e.ruler.lengths = e.lengths;
}

void parse_init(Section& top, InitConfig& init) {
  if (!top.has("init")) return;
  const auto& v = top.raw("init");
  if (v.is_string()) {
    if (v != "scratch")
      throw ConfigError("init: unknown value " + v.dump() +
                        " (\"scratch\", {\"run\": N}, {\"checkpoint\": PATH} or {\"hf\": FOLDER})");
    init.kind = "scratch";
    return;
  }
  Section s(v, "init");
  if (s.has("run")) {
    int64_t r = 0;
    s.integer("run", r, 1);
    init.kind = "run";
    init.run = r;
  }
  if (s.has("run_named")) {
    if (init.kind != "scratch")
      throw ConfigError("init: give one of \"run\", \"run_named\" or \"checkpoint\"");
    s.string("run_named", init.run_name);
    init.kind = "run_named";
  }
  const char* one_of = "init: give one of \"run\", \"run_named\", \"checkpoint\" or \"hf\"";
  if (s.has("checkpoint")) {
    if (init.kind != "scratch") throw ConfigError(one_of);
    s.string("checkpoint", init.checkpoint);
    init.kind = "checkpoint";
  }
  if (s.has("hf")) {
    if (init.kind != "scratch") throw ConfigError(one_of);
    s.string("hf", init.hf);
    if (init.hf.empty()) throw ConfigError("init.hf: must name a Hugging Face model folder");
    init.kind = "hf";
  }
  s.finish();
  if (init.kind == "scratch")
    throw ConfigError("init: an object needs \"run\", \"run_named\", \"checkpoint\" or \"hf\"");
}

nlohmann::json lora_json(const LoraConfig& l) {
  if (!l.enabled) return nullptr;
  return {{"rank", l.rank},
          {"alpha", l.alpha},
          {"targets", l.targets},
          {"train_embeddings", l.train_embeddings},
          {"train_norms", l.train_norms}};
}

nlohmann::json stages_json(const TrainConfig& t) {
  nlohmann::json a = nlohmann::json::array();
  for (auto [len, steps] : t.stages) a.push_back({{"seq_len", len}, {"steps", steps}});
  return a;
}

}  // namespace

int64_t TrainConfig::seq_len_at(int64_t step) const {
  int64_t end = 0;
  for (auto [len, n] : stages) {
    end += n;
    if (step <= end) return len;
  }
  return stages.empty() ? seq_len : stages.back().first;
}

int64_t TrainConfig::tokens_before(int64_t step) const {
  if (stages.empty()) return (step - 1) * seq_len;
  int64_t tokens = 0, s = 1;
  for (auto [len, n] : stages) {
    const int64_t take = std::min(n, step - s);
    if (take <= 0) break;
    tokens += take * len;
    s += take;
  }
  return tokens;
}

RunConfig read_run_config_fields(const nlohmann::json& j) {
  if (!j.is_object()) throw ConfigError("config: must be a JSON object");
  RunConfig c;
  Section s(j, "");
  s.string("name", c.name);
  if (s.has("seed")) {
    const auto& v = s.raw("seed");
    if (!v.is_number_integer() || v.get<int64_t>() < 0)
      throw ConfigError("seed: must be a non-negative integer (got " + v.dump() + ")");
    c.seed = v.get<uint64_t>();
  }
  parse_init(s, c.init);
  if (s.has("model")) parse_model(s.raw("model"), c.model);
  if (s.has("rope_scaling")) c.rope_scaling = s.raw("rope_scaling");
  if (s.has("data")) parse_data(s.raw("data"), c.data);
  if (s.has("train")) parse_train(s.raw("train"), c.train);
  if (s.has("eval")) parse_eval(s.raw("eval"), c.eval);
  s.finish();
  c.inherit_model = !j.contains("model") && (c.init.kind == "run" || c.init.kind == "run_named");
  c.inherit_rope_scaling = c.inherit_model && !j.contains("rope_scaling");
  // An inherited model's layer count is known only once the base run is read (preflight).
  for (size_t i = 0; !c.inherit_model && i < c.eval.attention_layers.size(); ++i)
    if (c.eval.attention_layers[i] >= c.model.layers)
      throw ConfigError("eval.attention_layers[" + std::to_string(i) + "]: layer " +
                        std::to_string(c.eval.attention_layers[i]) +
                        " does not exist (model.layers " + std::to_string(c.model.layers) +
                        ", counted from 0)");
  return c;
}

std::string tokenizer_source(const RunConfig& c) {
  if (!c.data.tokenizer.empty()) return c.data.tokenizer;
  if (c.init.kind == "hf") return c.init.hf;
  return "byte";
}

nlohmann::json read_config_file(const std::string& path) {
  // Regular files only, of a sane size: a directory, FIFO or device must not block or be read
  // without end.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw ConfigError(path + ": cannot open config file (no such file)");
  if (S_ISDIR(st.st_mode)) throw ConfigError(path + ": is a directory, not a config file");
  if (!S_ISREG(st.st_mode))
    throw ConfigError(path + ": is not a regular file (a FIFO or device cannot be a config)");
  constexpr off_t kMaxBytes = 16 << 20;
  if (st.st_size > kMaxBytes)
    throw ConfigError(path + ": " + std::to_string(st.st_size) +
                      " bytes is too large for a config (16 MiB at most)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot open config file");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    return parse_json_strict(text, path);
  } catch (const JsonError& e) {
    throw ConfigError(e.what());
  }
}

nlohmann::json to_json(const RunConfig& c) {
  nlohmann::json init =
      c.init.kind == "run"          ? nlohmann::json{{"run", c.init.run}}
      : c.init.kind == "run_named"  ? nlohmann::json{{"run_named", c.init.run_name}}
      : c.init.kind == "checkpoint" ? nlohmann::json{{"checkpoint", c.init.checkpoint}}
      : c.init.kind == "hf"         ? nlohmann::json{{"hf", c.init.hf}}
                                    : nlohmann::json("scratch");
  nlohmann::json position = c.model.position_params;
  position["type"] = c.model.position;
  nlohmann::json positions = c.train.positions_params;
  positions["type"] = c.train.positions;
  return {
      {"name", c.name},
      {"seed", c.seed},
      {"init", init},
      {"model",
       {{"arch", c.model.arch},
        {"layers", c.model.layers},
        {"d_model", c.model.d_model},
        {"heads", c.model.heads},
        {"kv_heads", c.model.kv_heads},
        {"head_dim", c.model.head_dim_set},
        {"ffn_mult", c.model.ffn_mult},
        {"ffn_hidden", c.model.ffn_hidden},
        {"norm_eps", c.model.norm_eps},
        {"qkv_bias", c.model.qkv_bias},
        {"o_bias", c.model.o_bias},
        {"mlp_bias", c.model.mlp_bias},
        {"tie_embeddings", c.model.tie_embeddings},
        {"vocab_size", c.model.vocab_size},
        {"sliding_window", c.model.sliding_window},
        {"weights_dtype", c.model.weights_dtype},
        {"max_positions", c.model.max_positions},
        {"position", position}}},
      {"rope_scaling", c.rope_scaling},
      {"data",
       {{"corpus", c.data.corpus},
        {"tokenizer", c.data.tokenizer},
        {"split", c.data.split},
        {"val_fraction", c.data.val_fraction},
        {"builtin_docs", c.data.builtin_docs},
        {"builtin_doc_tokens", c.data.builtin_doc_tokens},
        {"builtin_jitter", c.data.builtin_jitter},
        {"builtin_distances", c.data.builtin_distances},
        {"builtin_fact_rate", c.data.builtin_fact_rate},
        {"builtin_copy_rate", c.data.builtin_copy_rate},
        {"min_doc_tokens", c.data.min_doc_tokens}}},
      {"train",
       {{"seq_len", c.train.seq_len},
        {"stages", stages_json(c.train)},
        {"batch_size", c.train.batch_size},
        {"steps", c.train.steps},
        {"lr", c.train.lr},
        {"warmup", c.train.warmup},
        {"min_lr_ratio", c.train.min_lr_ratio},
        {"weight_decay", c.train.weight_decay},
        {"beta1", c.train.beta1},
        {"beta2", c.train.beta2},
        {"grad_clip", c.train.grad_clip},
        {"grad_accum", c.train.grad_accum},
        {"checkpoint_every", c.train.checkpoint_every},
        {"log_every", c.train.log_every},
        {"device", c.train.device},
        {"threads", c.train.threads},
        {"precision", c.train.precision},
        {"checkpointing", c.train.checkpointing},
        {"lora", lora_json(c.train.lora)},
        {"context_parallel", c.train.context_parallel},
        {"dist_timeout", c.train.dist_timeout},
        {"positions", positions}}},
      {"eval",
       {{"enabled", c.eval.enabled},
        {"precision", c.eval.precision},
        {"lengths", c.eval.lengths},
        {"mode", c.eval.modes},
        {"stride", c.eval.stride},
        {"max_tokens", c.eval.max_tokens},
        {"batch_size", c.eval.batch_size},
        {"passkey", retrieval_json("passkey", c.eval.passkey)},
        {"needle", retrieval_json("needle", c.eval.needle)},
        {"kvretrieval", retrieval_json("kvretrieval", c.eval.kvretrieval)},
        {"ruler", ruler_json(c.eval.ruler)},
        {"attention_every", c.eval.attention_every},
        {"attention_lengths", c.eval.attention_lengths},
        {"attention_layers", c.eval.attention_layers},
        {"attention_grid", c.eval.attention_grid}}},
  };
}

}  // namespace ctx
