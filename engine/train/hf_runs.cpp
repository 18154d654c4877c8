// Import and export of Hugging Face folders. Nothing here runs code from a folder: config.json and
// tokenizer files are parsed as data, weights are safetensors only.
#include "train/hf_runs.h"

#include <filesystem>
#include <set>

#include "io/atomic_file.h"
#include "io/hf_config.h"
#include "io/run_tokenizer.h"
#include "methods/hf_model.h"
#include "methods/rope_scaling.h"
#include "model/hf_weights.h"
#include "model/llama.h"
#include "model/lora.h"
#include "store/file_tree.h"
#include "train/checkpoint.h"
#include "train/run_setup.h"

namespace fs = std::filesystem;

namespace ctx {
namespace {

// The files an import takes and an export writes beside the weights; never code.
const std::vector<std::string>& tokenizer_files() {
  static const std::vector<std::string> names = {"tokenizer.json", "tokenizer.model",
                                                 "tokenizer_config.json", "special_tokens_map.json",
                                                 "added_tokens.json"};
  return names;
}

bool is_weight_file(const std::string& name) {
  const std::string ext = ".safetensors";
  return name == "model.safetensors.index.json" || name == "ctxlab_position.safetensors" ||
         (name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0);
}

std::vector<std::string> files_to_import(const std::string& folder) {
  std::vector<std::string> out;
  std::set<std::string> extra(tokenizer_files().begin(), tokenizer_files().end());
  extra.insert({"config.json", "generation_config.json"});
  for (const auto& e : fs::directory_iterator(folder)) {
    const auto name = e.path().filename().string();
    if (e.is_regular_file() && (is_weight_file(name) || extra.count(name))) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Hard link when possible (same filesystem: no extra space, and the run keeps its data if the
// original moves or goes), else a copy. Returns false if anything had to be copied.
bool link_or_copy(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::create_hard_link(from, to, ec);
  if (!ec) return true;
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
  return false;
}

std::string folder_name(const std::string& folder) {
  auto p = fs::weakly_canonical(fs::absolute(folder));
  if (p.filename().empty()) p = p.parent_path();
  return p.filename().string();
}

nlohmann::json eval_lengths_for(int64_t L0) {
  nlohmann::json out = nlohmann::json::array();
  for (int64_t L : {L0 / 2, L0, 2 * L0, 4 * L0})
    if (L >= 2) out.push_back(L);
  return out;
}

io::HfModelConfig hf_config_of(const RunConfig& cfg, const data::Tokenizer& tok,
                               const std::string& dtype) {
  const auto& m = cfg.model;
  io::HfModelConfig h;
  if (m.qkv_bias && !m.o_bias) {
    if (m.mlp_bias)
      throw ConfigError(
          "export-hf: q/k/v biases without an output bias but with MLP biases match no Hugging "
          "Face architecture");
    h.architecture = "Qwen2ForCausalLM";
    h.model_type = "qwen2";
  } else if (m.sliding_window > 0) {
    h.architecture = "MistralForCausalLM";
    h.model_type = "mistral";
  } else {
    h.architecture = "LlamaForCausalLM";
    h.model_type = "llama";
  }
  if (m.qkv_bias != m.o_bias && h.model_type == "llama")
    throw ConfigError(
        "export-hf: an output bias without q/k/v biases matches no Hugging Face architecture");
  h.vocab_size = io::model_vocab(cfg, tok);
  h.hidden_size = m.d_model;
  h.intermediate_size = m.ffn_width();
  h.num_hidden_layers = m.layers;
  h.num_attention_heads = m.heads;
  h.num_key_value_heads = m.kv_head_count();
  h.head_dim = m.head_dim();
  h.rms_norm_eps = m.norm_eps;
  h.max_position_embeddings = m.max_positions;
  h.rope_theta = m.position_params.at("theta").get<double>();
  h.rope_scaling = hf_rope_scaling(cfg.rope_scaling);
  h.partial_rotary_factor = m.position_params.value("rotary_fraction", 1.0);
  h.qkv_bias = m.qkv_bias;
  h.o_bias = m.o_bias;
  h.mlp_bias = m.mlp_bias;
  h.tie_word_embeddings = m.tie_embeddings;
  if (m.sliding_window > 0) h.sliding_window = m.sliding_window;
  if (tok.bos_id() >= 0) h.bos_token_id = {tok.bos_id()};
  if (tok.eos_id() >= 0) h.eos_token_id = {tok.eos_id()};
  h.dtype = dtype;
  return h;
}

nlohmann::json ctxlab_section(const store::RunRecord& rec, const RunConfig& cfg,
                              const nlohmann::json& hf_rope) {
  nlohmann::json positions = cfg.train.positions_params;
  positions["type"] = cfg.train.positions;
  nlohmann::json j{{"run_id", rec.id},
                   {"run_name", rec.name},
                   {"method", method_label(cfg)},
                   {"rope_scaling", cfg.rope_scaling},
                   {"train_positions", positions},
                   {"engine_version", rec.engine_version}};
  if (!cfg.rope_scaling.is_null() && hf_rope.is_null())
    j["note"] = "rope_scaling '" + rope_scaling_name(cfg.rope_scaling) +
                "' has no transformers equivalent: config.json loads as plain RoPE (exact up to "
                "the original "
                "context); CtxLab reads this section and ctxlab_position.safetensors to run the "
                "method itself";
  return j;
}

}  // namespace

nlohmann::json hf_rope_scaling(const nlohmann::json& resolved) {
  if (resolved.is_null()) return nullptr;
  const std::string type = rope_scaling_name(resolved);
  static const std::set<std::string> known = {"linear", "dynamic", "yarn", "llama3", "longrope"};
  if (!known.count(type)) return nullptr;
  // Keys whose 0 means "absent" in CtxLab's resolved dict.
  static const std::set<std::string> zero_is_absent = {
      "attention_factor", "mscale", "mscale_all_dim", "original_max_position_embeddings"};
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [k, v] : resolved.items()) {
    if (k == "type") continue;
    if (zero_is_absent.count(k) && v.is_number() && v.get<double>() == 0) continue;
    out[k] = v;
  }
  out["rope_type"] = type;
  return out;
}

nlohmann::json inspect_hf_folder(const std::string& folder) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) throw ConfigError("'" + folder + "' is not a folder");
  const auto section = read_hf_model_section(folder);
  const auto tok = io::tokenizer_at(folder, "tokenizer");
  const auto& m = section.model;
  const int64_t vocab = m.vocab_size > 0 ? m.vocab_size : tok->vocab_size();
  if (tok->vocab_size() > vocab)
    throw ConfigError(folder + ": the tokenizer has " + std::to_string(tok->vocab_size()) +
                      " ids but config.json's vocab_size is " + std::to_string(vocab));
  verify_hf_weights(folder, llama_parameter_shapes(m, vocab), m.tie_embeddings);
  nlohmann::json files = nlohmann::json::array();
  uint64_t bytes = 0;
  for (const auto& name : files_to_import(folder))
    if (is_weight_file(name) && name.find(".json") == std::string::npos) {
      files.push_back(name);
      bytes += fs::file_size(fs::path(folder) / name);
    }
  RunConfig probe;
  probe.model = m;
  return {{"folder", folder},
          {"name", folder_name(folder)},
          {"architecture", section.architecture},
          {"parameters", section.parameters},
          {"hidden_size", m.d_model},
          {"layers", m.layers},
          {"heads", m.heads},
          {"kv_heads", m.kv_head_count()},
          {"head_dim", m.head_dim()},
          {"vocab_size", vocab},
          {"max_position_embeddings", m.max_positions},
          {"rope_theta", m.position_params.at("theta")},
          {"rope_scaling", section.rope_scaling},
          {"tied_embeddings", m.tie_embeddings},
          {"sliding_window", m.sliding_window},
          {"model", to_json(probe)["model"]},
          {"weights", {{"files", files}, {"bytes", bytes}, {"dtype", m.weights_dtype}}},
          {"tokenizer",
           {{"kind", tok->kind()},
            {"vocab_size", tok->vocab_size()},
            {"bos_id", tok->bos_id()},
            {"eos_id", tok->eos_id()}}}};
}

ImportedRun import_hf_folder(store::RunStore& db, const std::string& folder,
                             const nlohmann::json& info, const std::string& name,
                             const std::string& corpus) {
  ImportedRun out;
  out.name = name.empty() ? info["name"].get<std::string>() : name;
  const int64_t L0 = info["max_position_embeddings"].get<int64_t>();
  nlohmann::json given{{"name", out.name},
                       {"init", {{"hf", fs::absolute(folder).lexically_normal().string()}}},
                       {"data", {{"corpus", corpus.empty() ? "builtin:longrange" : corpus}}},
                       {"train", {{"seq_len", std::max<int64_t>(2, L0)}, {"steps", 0}}},
                       {"eval", {{"lengths", eval_lengths_for(L0)}}}};
  RunConfig cfg = parse_run_config(given);
  store::NewRun nr;
  nr.name = out.name;
  nr.config_json = to_json(cfg).dump();
  nr.method = "pretrained";
  nr.engine_version = CTXLAB_VERSION;
  nr.device = "cpu";
  out.run_id = db.create_run(nr);
  try {
    out.dir = run_dir_for(db.path(), out.run_id);
    const fs::path hf = hf_checkpoint_dir(out.dir);
    fs::create_directories(hf);
    db.set_run_dir(out.run_id, out.dir);
    bool linked = true;
    for (const auto& f : files_to_import(folder))
      linked = link_or_copy(fs::path(folder) / f, hf / f) && linked;
    out.how = linked ? "hard-linked" : "copied";
    cfg.init.hf = hf.string();
    auto stored = to_json(cfg);
    stored["_given"] = given;
    stored["_resolved"] = {{"base_model", out.name},
                           {"imported_from", given["init"]["hf"]},
                           {"weights", out.how},
                           {"architecture", info["architecture"]},
                           {"parameters", info["parameters"]}};
    db.set_config(out.run_id, stored.dump());
    db.set_status(out.run_id, store::RunStatus::Finished);
  } catch (...) {
    std::error_code ec;
    db.delete_run(out.run_id);
    if (!out.dir.empty()) ctx::remove_tree(out.dir, ec);
    throw;
  }
  return out;
}

std::vector<std::string> export_run_to_hf(const store::RunRecord& rec, const RunConfig& cfg,
                                          const std::string& out_dir, const std::string& dtype) {
  if (cfg.model.arch != "llama")
    throw ConfigError(
        "export-hf: run " + std::to_string(rec.id) + " is a " + cfg.model.arch +
        "-family model, which transformers has no architecture for (llama-family runs export)");
  if (cfg.model.position != "rope")
    throw ConfigError("export-hf: run " + std::to_string(rec.id) + " uses model.position " +
                      cfg.model.position + "; Hugging Face Llama, Mistral and Qwen2 use RoPE");
  std::error_code ec;
  if (fs::exists(out_dir, ec) && !fs::is_empty(out_dir, ec))
    throw ConfigError("export-hf: '" + out_dir + "' exists and is not empty (give a new folder)");
  const auto ck = latest_checkpoint(rec.run_dir);
  if (!ck)
    throw CheckpointError("run " + std::to_string(rec.id) + " has no checkpoint in '" +
                          rec.run_dir + "'");
  const auto d = parse_export_dtype(
      dtype.empty() ? (cfg.model.weights_dtype.empty() ? "fp32" : cfg.model.weights_dtype) : dtype);
  const auto tok = io::tokenizer_for(cfg);
  auto model = build_model(cfg, WeightInit::Skip);
  load_checkpoint(*ck, model);
  merge_lora(*model);  // transformers reads plain weights: W += alpha/rank B A
  fs::create_directories(out_dir);
  auto files = export_hf_weights(model, out_dir, d);
  const auto h = hf_config_of(cfg, *tok, hf_dtype_name(d));
  io::write_text_atomic(
      (fs::path(out_dir) / "config.json").string(),
      io::write_hf_config(h, {{"ctxlab", ctxlab_section(rec, cfg, h.rope_scaling)}}).dump(2) +
          "\n");
  files.push_back("config.json");
  const std::string src = tokenizer_source(cfg);
  if (src != "byte") {
    if (fs::is_directory(src, ec)) {
      for (const auto& name : tokenizer_files())
        if (fs::is_regular_file(fs::path(src) / name, ec)) {
          fs::copy_file(fs::path(src) / name, fs::path(out_dir) / name,
                        fs::copy_options::overwrite_existing);
          files.push_back(name);
        }
    } else {
      const auto name = fs::path(src).filename();
      fs::copy_file(src, fs::path(out_dir) / name, fs::copy_options::overwrite_existing);
      files.push_back(name.string());
    }
  }
  return files;
}

}  // namespace ctx
