// The "eval" section; see eval_section.h.
#include "config/eval_section.h"

#include "config/eval_modes.h"
#include "config/section_reader.h"

namespace ctx::sections {
namespace {

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

}  // namespace

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
      if (!m.is_string() || !is_eval_mode(m.get<std::string>()))
        throw ConfigError(key + ": unknown mode " + m.dump() + " (" + kEvalModesText + ")");
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

nlohmann::json eval_json(const EvalConfig& e) {
  return {{"enabled", e.enabled},
          {"precision", e.precision},
          {"lengths", e.lengths},
          {"mode", e.modes},
          {"stride", e.stride},
          {"max_tokens", e.max_tokens},
          {"batch_size", e.batch_size},
          {"passkey", retrieval_json("passkey", e.passkey)},
          {"needle", retrieval_json("needle", e.needle)},
          {"kvretrieval", retrieval_json("kvretrieval", e.kvretrieval)},
          {"ruler", ruler_json(e.ruler)},
          {"attention_every", e.attention_every},
          {"attention_lengths", e.attention_lengths},
          {"attention_layers", e.attention_layers},
          {"attention_grid", e.attention_grid}};
}

}  // namespace ctx::sections
