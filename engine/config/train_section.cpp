// The "train" section; see train_section.h.
#include "config/train_section.h"

#include "config/section_reader.h"

namespace ctx {

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

namespace sections {
namespace {

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

void parse_train(const nlohmann::json& j, TrainConfig& t) {
  Section s(j, "train");
  s.integer("seq_len", t.seq_len, 2, 1e8);
  s.integer("batch_size", t.batch_size, 1, 1e6);
  s.integer("steps", t.steps, 0, 1e9);
  s.number("lr", t.lr, 0.0, 10.0);
  s.number("position_lr", t.position_lr, 0.0, 10.0);
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
  s.boolean("cuda_graph", t.cuda_graph);
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

nlohmann::json train_json(const TrainConfig& t) {
  nlohmann::json positions = t.positions_params;
  positions["type"] = t.positions;
  return {{"seq_len", t.seq_len},
          {"stages", stages_json(t)},
          {"batch_size", t.batch_size},
          {"steps", t.steps},
          {"lr", t.lr},
          {"position_lr", t.position_lr},
          {"warmup", t.warmup},
          {"min_lr_ratio", t.min_lr_ratio},
          {"weight_decay", t.weight_decay},
          {"beta1", t.beta1},
          {"beta2", t.beta2},
          {"grad_clip", t.grad_clip},
          {"grad_accum", t.grad_accum},
          {"checkpoint_every", t.checkpoint_every},
          {"log_every", t.log_every},
          {"device", t.device},
          {"threads", t.threads},
          {"precision", t.precision},
          {"checkpointing", t.checkpointing},
          {"cuda_graph", t.cuda_graph},
          {"lora", lora_json(t.lora)},
          {"context_parallel", t.context_parallel},
          {"dist_timeout", t.dist_timeout},
          {"positions", positions}};
}

}  // namespace sections
}  // namespace ctx
