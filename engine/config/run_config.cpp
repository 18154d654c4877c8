// Strict JSON parsing of run configs: each section is read through a reader that knows its keys
// (config/section_reader.h), so unknown keys, wrong types and out-of-range values fail with the
// full key path. This file puts the sections together (model_section, data_section, train_section,
// eval_section; init and the top-level keys here), reads config files, and writes the resolved JSON.
#include "config/run_config.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "config/data_section.h"
#include "config/eval_section.h"
#include "config/json_strict.h"
#include "config/model_section.h"
#include "config/section_reader.h"
#include "config/train_section.h"

namespace ctx {

std::string config_number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

namespace {

using sections::Section;

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

}  // namespace

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
  if (s.has("model")) sections::parse_model(s.raw("model"), c.model);
  if (s.has("rope_scaling")) c.rope_scaling = s.raw("rope_scaling");
  if (s.has("data")) sections::parse_data(s.raw("data"), c.data);
  if (s.has("train")) sections::parse_train(s.raw("train"), c.train);
  if (s.has("eval")) sections::parse_eval(s.raw("eval"), c.eval);
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
  return {
      {"name", c.name},
      {"seed", c.seed},
      {"init", init},
      {"model", sections::model_json(c.model)},
      {"rope_scaling", c.rope_scaling},
      {"data", sections::data_json(c.data)},
      {"train", sections::train_json(c.train)},
      {"eval", sections::eval_json(c.eval)},
  };
}

}  // namespace ctx
