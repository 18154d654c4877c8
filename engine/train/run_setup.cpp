// Run set-up: corpus split, model, optimizer, init checkpoint, run record and folder, preflight.
#include "train/run_setup.h"

#include <unistd.h>

#include <filesystem>

#include "config/eval_supply.h"
#include "config/json_strict.h"
#include "config/model_memory.h"
#include "data/corpus.h"
#include "data/retrieval_prompts_nl.h"
#include "io/run_tokenizer.h"
#include "methods/registry.h"
#include "model/hf_weights.h"
#include "model/lora.h"
#include "model/llama.h"
#include "train/checkpoint.h"
#include "train/longctx_evals.h"
#include "train/position_stats.h"
#include "train/precision.h"
#include "train/runtime.h"

namespace fs = std::filesystem;

namespace ctx {
namespace {

data::Split load_split(const RunConfig& c, const std::string& cache_dir,
                       std::vector<std::string>* warnings = nullptr) {
  data::CorpusOptions o;
  o.tokenizer = io::tokenizer_for(c);
  o.cache_dir = cache_dir;
  o.seed = c.seed;
  o.split = c.data.split;
  o.min_doc_tokens = c.data.min_doc_tokens;
  o.builtin_docs = c.data.builtin_docs;
  o.builtin_doc_tokens = c.data.builtin_doc_tokens;
  o.builtin_jitter = c.data.builtin_jitter;
  o.builtin_distances = c.data.builtin_distances;
  o.builtin_fact_rate = c.data.builtin_fact_rate;
  o.builtin_copy_rate = c.data.builtin_copy_rate;
  auto corpus = data::load_corpus(c.data.corpus, o);
  if (warnings) *warnings = corpus.warnings;
  return data::split_by_document(corpus, c.data.val_fraction, c.seed);
}

// The init checkpoint that needs no store: none, a checkpoint file or a Hugging Face folder.
std::string init_checkpoint_file(const InitConfig& init) {
  if (init.kind == "checkpoint") {
    read_checkpoint_info(init.checkpoint);  // throws naming the file
    return init.checkpoint;
  }
  return init.kind == "hf" ? init.hf : "";
}

std::string init_checkpoint(store::RunStore& db, const InitConfig& init) {
  if (init.kind != "run") return init_checkpoint_file(init);
  auto base = db.find_run(init.run);
  if (!base) throw ConfigError("init.run: no run " + std::to_string(init.run) + " in " + db.path());
  auto ck = latest_checkpoint(base->run_dir);
  if (!ck)
    throw ConfigError("init.run: run " + std::to_string(init.run) + " has no checkpoint in '" +
                      base->run_dir + "'");
  return *ck;
}

}  // namespace

data::Split load_run_split(const RunConfig& c, const std::string& cache_dir) { return load_split(c, cache_dir); }

LanguageModel build_model(const RunConfig& c, WeightInit init) {
  torch::manual_seed(static_cast<uint64_t>(c.seed));
  auto m = make_language_model(c.model, c.rope_scaling, io::model_vocab(c, *io::tokenizer_for(c)), init);
  if (c.train.lora.enabled) apply_lora(*m, c.train.lora);
  return m;
}

std::string cache_dir_for(const std::string& db_path) {
  fs::path p(db_path);
  return fs::absolute(p.parent_path() / (p.stem().string() + ".cache")).lexically_normal().string();
}

// Retrieval prompts in a real tokenizer's tokens need more room than the byte prompts the config
// check knows: refuse lengths that cannot hold them before the run exists, not after training.
void check_prompt_lengths(const RunConfig& cfg, const data::Tokenizer& tok) {
  if (tok.kind() == "byte") return;
  for (auto [task, r] : {std::pair<const char*, const RetrievalRequest*>{"passkey", &cfg.eval.passkey},
                         {"needle", &cfg.eval.needle},
                         {"kvretrieval", &cfg.eval.kvretrieval}}) {
    if (!r->enabled) continue;
    const int64_t need = data::min_nl_prompt_length(tok, task);
    for (size_t i = 0; i < r->lengths.size(); ++i)
      if (r->lengths[i] < need)
        throw ConfigError(std::string("eval.") + task + ".lengths[" + std::to_string(i) + "]: " +
                          std::to_string(r->lengths[i]) + " tokens cannot hold a " + task + " prompt in " +
                          tokenizer_source(cfg) + "'s tokens (at least " + std::to_string(need) + ")");
  }
}

void inherit_from_base(store::RunStore& db, RunConfig& cfg) {
  if (!cfg.inherit_model || cfg.init.kind != "run") return;
  const auto base_run = db.find_run(cfg.init.run);
  if (!base_run) throw ConfigError("init.run: no run " + std::to_string(cfg.init.run) + " in " + db.path());
  const RunConfig base = config_of_run(*base_run);
  auto j = to_json(cfg);
  j["model"] = to_json(base)["model"];
  if (cfg.inherit_rope_scaling) j["rope_scaling"] = base.rope_scaling;
  if (cfg.data.tokenizer.empty()) j["data"]["tokenizer"] = tokenizer_source(base);
  cfg = parse_run_config(j);  // resolves the methods against the base's model
}

std::unique_ptr<torch::optim::AdamW> build_optimizer(LanguageModel& model, const TrainConfig& t,
                                                     const std::function<bool(const torch::Tensor&)>& keep) {
  // Weight decay on matrices only; norms and the position method's weights (pos.*) are left
  // alone. With train.position_lr the latter are a third group at that rate. Frozen weights (LoRA)
  // get no optimizer state at all.
  std::vector<torch::Tensor> decay, no_decay, position;
  for (auto& p : model->named_parameters()) {
    if (!p.value().requires_grad() || (keep && !keep(p.value()))) continue;
    const bool pos = p.key().rfind("pos.", 0) == 0;
    if (pos && t.position_lr > 0)
      position.push_back(p.value());
    else if (p.value().dim() >= 2 && !pos)
      decay.push_back(p.value());
    else
      no_decay.push_back(p.value());
  }
  auto opts =
      torch::optim::AdamWOptions(t.lr).betas({t.beta1, t.beta2}).weight_decay(t.weight_decay);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(opts));
  auto nd = opts;
  nd.weight_decay(0.0);
  groups.emplace_back(no_decay, std::make_unique<torch::optim::AdamWOptions>(nd));
  if (t.position_lr > 0) {
    auto pl = nd;
    pl.lr(t.position_lr);
    groups.emplace_back(position, std::make_unique<torch::optim::AdamWOptions>(pl));
  }
  return std::make_unique<torch::optim::AdamW>(groups, opts);
}

data::Batch make_batch(PositionSampler& sampler, uint64_t seed, int64_t step, int64_t micro,
                       int64_t size, int64_t tokens_before, PositionStats* stats, int64_t first_row,
                       int64_t rows) {
  Rng batch_rng(Rng::mix(seed, static_cast<uint64_t>(step), static_cast<uint64_t>(micro), 0xba7c));
  sampler.begin_batch(batch_rng);
  std::vector<data::Example> examples;
  const int64_t end = rows < 0 ? size : first_row + rows;
  for (int64_t i = first_row; i < end; ++i) {
    sampler.set_slot(micro * size + i, tokens_before);
    Rng rng(Rng::mix(seed, static_cast<uint64_t>(step), static_cast<uint64_t>(micro),
                     static_cast<uint64_t>(i) + 1));
    examples.push_back(sampler.sample(rng));
  }
  if (stats) stats->add(examples);
  data::Batch b;
  for (auto& ex : examples) b.append(ex);
  return b;
}

RunConfig config_of_run(const store::RunRecord& run) {
  nlohmann::json j;
  try {
    j = parse_json_strict(run.config_json, "run " + std::to_string(run.id) + "'s stored config");
  } catch (const JsonError& e) {
    throw store::StoreError(std::string(e.what()) + " (a damaged store?)");
  }
  j.erase("_given");
  j.erase("_resolved");
  return parse_run_config(j);
}

Preflight preflight(store::RunStore& db, RunConfig& cfg) {
  return preflight(&db, db.path(), cfg);
}

Preflight preflight(store::RunStore* db, const std::string& db_path, RunConfig& cfg) {
  if (!db && (cfg.init.kind == "run" || cfg.init.kind == "run_named"))
    throw ConfigError("init." + std::string(cfg.init.kind == "run" ? "run" : "run_named") +
                      ": no run store at '" + db_path + "' to take the run from");
  if (cfg.init.kind == "run_named") {
    for (const auto& r : db->list_runs()) {  // newest first
      if (r.name == cfg.init.run_name && r.status == store::RunStatus::Finished) {
        cfg.init.kind = "run";
        cfg.init.run = r.id;
        break;
      }
    }
    if (cfg.init.kind != "run")
      throw ConfigError("init.run_named: no finished run named '" + cfg.init.run_name + "' in " +
                        db_path + " (train its preset first)");
  }
  if (db) inherit_from_base(*db, cfg);
  // A device that is not there fails before the corpus is read (a large built-in corpus takes
  // tens of seconds to generate).
  const auto device = resolve_device(cfg.train.device);
  check_precision(cfg.train.precision, device, "train.precision", true);
  check_cuda_graph(cfg.train, device);
  if (cfg.eval.enabled) check_precision(cfg.eval.precision, device, "eval.precision");
  Preflight p;
  const auto tok = io::tokenizer_for(cfg);
  if (cfg.model.vocab_size > 0 && tok->vocab_size() > cfg.model.vocab_size)
    throw ConfigError("model.vocab_size: " + std::to_string(cfg.model.vocab_size) + " is smaller than the tokenizer's " +
                      std::to_string(tok->vocab_size()) + " ids (" + tokenizer_source(cfg) + ")");
  check_model_fits(cfg, cfg.model.vocab_size > 0 ? cfg.model.vocab_size : tok->vocab_size());
  check_prompt_lengths(cfg, *tok);
  p.split =
      std::make_shared<const data::Split>(load_split(cfg, cache_dir_for(db_path), &p.warnings));
  if (p.split->train.empty())
    throw data::DataError("data.corpus: no training documents after the split");
  if (p.split->validation.empty() && cfg.eval.enabled)
    throw data::DataError(
        "data.corpus: no validation documents (raise data.val_fraction or add documents)");
  check_eval_supply(cfg.eval, p.split->validation);
  SamplerContext sctx;
  sctx.docs = &p.split->train;
  sctx.seq_len = cfg.train.seq_len;
  sctx.max_positions = cfg.model.max_positions;
  sctx.separator = io::separator_token(*tok);
  const auto* smeta = get_method(MethodKind::Sampler, cfg.train.positions, "train.positions.type");
  p.sampler = smeta->sampler(cfg.train.positions_params, sctx);
  p.init_checkpoint = db ? init_checkpoint(*db, cfg.init) : init_checkpoint_file(cfg.init);
  if (!p.init_checkpoint.empty() && is_hf_checkpoint(p.init_checkpoint) && cfg.model.arch == "llama") {
    // Names and shapes from the safetensors headers: no 1B model is built and filled twice.
    try {
      verify_hf_weights(p.init_checkpoint, llama_parameter_shapes(cfg.model, io::model_vocab(cfg, *tok)),
                        cfg.model.tie_embeddings);
    } catch (const HfWeightsError& e) {
      throw CheckpointError(e.what());
    }
  } else if (!p.init_checkpoint.empty()) {
    auto model = build_model(cfg, WeightInit::Skip);
    load_checkpoint(p.init_checkpoint, model, nullptr,
                    true);  // shape mismatches surface before the run exists
  }
  if (cfg.eval.attention_every > 0) {
    auto model = build_model(cfg, WeightInit::Skip);  // only its shapes and position table matter
    check_training_capture(cfg, model,
                           p.split->validation);  // a probe too short fails before the run exists
  }
  return p;
}

std::string run_dir_for(const std::string& db_path, int64_t run_id) {
  fs::path p(db_path);
  fs::path dir =
      p.parent_path() / (p.stem().string() + ".runs") / ("run-" + std::to_string(run_id));
  return fs::absolute(dir).lexically_normal().string();
}

// The pretrained model a run descends from: the init.hf folder's name, or what its base run records.
std::string base_model_of(store::RunStore& db, const RunConfig& cfg) {
  if (cfg.init.kind == "hf") {
    auto p = fs::path(cfg.init.hf).lexically_normal();
    if (p.filename().empty()) p = p.parent_path();
    return p.filename().string();
  }
  if (cfg.init.kind != "run") return "";
  const auto base = db.find_run(cfg.init.run);
  if (!base) return "";
  const auto j = nlohmann::json::parse(base->config_json, nullptr, false);
  if (j.is_discarded() || !j.contains("_resolved")) return "";
  return j["_resolved"].value("base_model", "");
}

int64_t create_run(store::RunStore& db, const RunConfig& cfg, const nlohmann::json& config_as_given,
                   std::optional<int64_t> study, const std::string& device) {
  store::NewRun nr;
  nr.study = study;
  nr.name = cfg.name;
  nlohmann::json stored = to_json(cfg);
  if (!config_as_given.is_null()) stored["_given"] = config_as_given;
  if (const auto base = base_model_of(db, cfg); !base.empty()) stored["_resolved"]["base_model"] = base;
  nr.config_json = stored.dump();
  nr.method = method_label(cfg);
  nr.engine_version = CTXLAB_VERSION;
  nr.device = device.empty() ? cfg.train.device : device;
  if (cfg.init.kind == "run") nr.parent = cfg.init.run;
  const int64_t id = db.create_run(nr);
  const auto dir = run_dir_for(db.path(), id);
  fs::create_directories(dir);
  db.set_run_dir(id, dir);
  return id;
}

}  // namespace ctx
