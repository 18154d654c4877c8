// The training loop and the run bookkeeping around it.
#include "train/trainer.h"

#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>
#include <torch/utils.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>

#include "data/corpus.h"
#include "methods/registry.h"
#include "model/pia_positions.h"
#include "model/transformer.h"
#include "train/checkpoint.h"
#include "train/longctx_evals.h"
#include "train/lr_schedule.h"
#include "train/position_stats.h"
#include "train/runtime.h"

namespace fs = std::filesystem;

namespace ctx {
namespace {

using store::RunStatus;
using Clock = std::chrono::steady_clock;

data::Split load_split(const RunConfig& c) {
  data::CorpusOptions o;
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
  return data::split_by_document(corpus, c.data.val_fraction, c.seed);
}

std::string init_checkpoint(store::RunStore& db, const InitConfig& init) {
  if (init.kind == "scratch") return "";
  if (init.kind == "checkpoint") {
    read_checkpoint_info(init.checkpoint);  // throws naming the file
    return init.checkpoint;
  }
  auto base = db.find_run(init.run);
  if (!base) throw ConfigError("init.run: no run " + std::to_string(init.run) + " in " + db.path());
  auto ck = latest_checkpoint(base->run_dir);
  if (!ck)
    throw ConfigError("init.run: run " + std::to_string(init.run) + " has no checkpoint in '" +
                      base->run_dir + "'");
  return *ck;
}

// Builds one (micro-)batch deterministically from (seed, step, micro): resume replays the same
// data.
struct BatchTensors {
  torch::Tensor tokens, targets, positions, mask;
};

BatchTensors to_tensors(data::Batch& b, const torch::Device& dev) {
  auto shape = std::vector<int64_t>{b.batch, b.seq};
  return {torch::from_blob(b.tokens.data(), shape, torch::kLong).to(dev),
          torch::from_blob(b.targets.data(), shape, torch::kLong).to(dev),
          torch::from_blob(b.positions.data(), shape, torch::kFloat).to(dev),
          torch::from_blob(b.loss_mask.data(), shape, torch::kFloat).to(dev)};
}

void record_eval_result(store::RunStore& db, int64_t run, int64_t step, const PplResult& r) {
  db.transaction([&] {
    nlohmann::json extra{{"windows", r.windows}, {"packed", r.packed}, {"seconds", r.seconds}};
    for (auto [metric, value] : {std::pair<const char*, double>{"ppl", r.ppl},
                                 {"loss", r.loss},
                                 {"tokens", static_cast<double>(r.tokens)}}) {
      store::EvalRecord e;
      e.task = "ppl";
      e.mode = r.mode;
      e.x = static_cast<double>(r.length);
      e.metric = metric;
      e.value = value;
      e.step = step;
      e.extra_json = extra.dump();
      db.record_eval(run, e);
    }
    db.put_artifact(
        run, store::make_f32_artifact("position_loss/" + r.mode + "/" + std::to_string(r.length),
                                      step, r.position_loss));
  });
}

std::vector<PplResult> run_evals(store::RunStore& db, int64_t run, int64_t step,
                                 TransformerLM& model, const RunConfig& c,
                                 const std::vector<data::Document>& val,
                                 const std::vector<int64_t>& lengths,
                                 const std::vector<std::string>& modes, const torch::Device& dev,
                                 EventSink& events) {
  std::vector<PplResult> out;
  const int64_t limit = model->position_scheme().max_position();
  for (const auto& mode : modes) {
    for (auto L : lengths) {
      if (limit > 0 && L > limit) {
        events.on_message("warning", "length " + std::to_string(L) +
                                         " skipped: " + c.model.position + " positions end at " +
                                         std::to_string(limit) + " (model.max_positions)");
        continue;
      }
      PplOptions o;
      o.length = L;
      o.mode = mode;
      o.stride = c.eval.stride;
      o.max_tokens = c.eval.max_tokens;
      o.batch_size = c.eval.batch_size;
      auto* pia = dynamic_cast<PiaPositions*>(&model->position_scheme());
      o.memory = pia && pia->uses_cache();
      auto r = evaluate_perplexity(model, val, o, dev);
      record_eval_result(db, run, step, r);
      EvalEvent e;
      e.mode = mode;
      e.length = L;
      e.loss = r.loss;
      e.ppl = r.ppl;
      e.tokens = r.tokens;
      e.tokens_per_s = static_cast<double>(r.windows * L) / std::max(r.seconds, 1e-9);
      events.on_eval(e);
      out.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace

data::Split load_run_split(const RunConfig& c) {
  return load_split(c);
}

TransformerLM build_model(const RunConfig& c) {
  torch::manual_seed(static_cast<uint64_t>(c.seed));
  return TransformerLM(c.model, c.rope_scaling, data::ByteTokenizer::kVocabSize);
}

std::unique_ptr<torch::optim::AdamW> build_optimizer(TransformerLM& model, const TrainConfig& t) {
  // Weight decay on matrices only; norms and the position table's 1-D parts are left alone.
  std::vector<torch::Tensor> decay, no_decay;
  for (auto& p : model->named_parameters()) {
    if (p.value().dim() >= 2 && p.key().find("pos.") != 0)
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
  return std::make_unique<torch::optim::AdamW>(groups, opts);
}

data::Batch make_batch(PositionSampler& sampler, uint64_t seed, int64_t step, int64_t micro,
                       int64_t size, int64_t tokens_before, PositionStats* stats) {
  Rng batch_rng(Rng::mix(seed, static_cast<uint64_t>(step), static_cast<uint64_t>(micro), 0xba7c));
  sampler.begin_batch(batch_rng);
  std::vector<data::Example> examples;
  for (int64_t i = 0; i < size; ++i) {
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
  auto j = nlohmann::json::parse(run.config_json);
  j.erase("_given");
  j.erase("_resolved");
  return parse_run_config(j);
}

Preflight preflight(store::RunStore& db, RunConfig& cfg) {
  if (cfg.init.kind == "run_named") {
    for (const auto& r : db.list_runs()) {  // newest first
      if (r.name == cfg.init.run_name && r.status == store::RunStatus::Finished) {
        cfg.init.kind = "run";
        cfg.init.run = r.id;
        break;
      }
    }
    if (cfg.init.kind != "run")
      throw ConfigError("init.run_named: no finished run named '" + cfg.init.run_name + "' in " +
                        db.path() + " (train its preset first)");
  }
  // A device that is not there fails before the corpus is read (a large built-in corpus takes
  // tens of seconds to generate).
  resolve_device(cfg.train.device);
  Preflight p;
  p.split = std::make_shared<const data::Split>(load_split(cfg));
  if (p.split->train.empty())
    throw data::DataError("data.corpus: no training documents after the split");
  if (p.split->validation.empty() && cfg.eval.enabled)
    throw data::DataError(
        "data.corpus: no validation documents (raise data.val_fraction or add documents)");
  SamplerContext sctx;
  sctx.docs = &p.split->train;
  sctx.seq_len = cfg.train.seq_len;
  sctx.max_positions = cfg.model.max_positions;
  const auto* smeta = get_method(MethodKind::Sampler, cfg.train.positions, "train.positions.type");
  p.sampler = smeta->sampler(cfg.train.positions_params, sctx);
  p.init_checkpoint = init_checkpoint(db, cfg.init);
  if (!p.init_checkpoint.empty()) {
    auto model = build_model(cfg);
    load_checkpoint(p.init_checkpoint, model, nullptr,
                    true);  // shape mismatches surface before the run exists
  }
  if (cfg.eval.attention_every > 0) {
    auto model = build_model(cfg);
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

int64_t create_run(store::RunStore& db, const RunConfig& cfg, const nlohmann::json& config_as_given,
                   std::optional<int64_t> study) {
  store::NewRun nr;
  nr.study = study;
  nr.name = cfg.name;
  nlohmann::json stored = to_json(cfg);
  if (!config_as_given.is_null()) stored["_given"] = config_as_given;
  nr.config_json = stored.dump();
  nr.method = method_label(cfg);
  nr.engine_version = CTXLAB_VERSION;
  nr.device = cfg.train.device;
  if (cfg.init.kind == "run") nr.parent = cfg.init.run;
  const int64_t id = db.create_run(nr);
  const auto dir = run_dir_for(db.path(), id);
  fs::create_directories(dir);
  db.set_run_dir(id, dir);
  return id;
}

TrainOutcome run_training(const TrainRequest& req, EventSink& events) {
  auto& db = *req.store;
  const auto& c = req.config;
  TrainOutcome out;
  auto fail = [&](RunStatus s, const std::string& msg) {
    out.status = s;
    out.error = msg;
    db.set_status(req.run_id, s, msg);
    return out;
  };
  try {
    const int threads = setup_threads(c.train.threads);
    const auto device = resolve_device(c.train.device);
    if (device.is_cpu()) {
      auto w = blas_warning(probe_blas_gflops());
      if (!w.empty()) events.on_message("warning", w);
    }
    const auto run = db.get_run(req.run_id);
    const std::string run_dir =
        run.run_dir.empty() ? run_dir_for(db.path(), req.run_id) : run.run_dir;
    fs::create_directories(run_dir);
    db.mark_running(req.run_id, static_cast<int64_t>(getpid()), store::host_name(),
                    device_description(device));

    RunConfig resolved = c;
    Preflight prep = req.prepared.split ? req.prepared : preflight(db, resolved);
    const auto& split = *prep.split;
    auto model = build_model(c);
    const std::string config_json = to_json(c).dump();
    if (!req.resume && !prep.init_checkpoint.empty()) {
      const auto& ck = prep.init_checkpoint;
      auto info = load_checkpoint(ck, model, nullptr, true);
      std::string fresh;
      for (const auto& k : info.fresh) fresh += (fresh.empty() ? "" : ", ") + k;
      events.on_message("info",
                        "initialised from " + ck +
                            (fresh.empty() ? "" : "; new, at their initialisation: " + fresh));
    }
    model->to(device);
    auto optim = build_optimizer(model, c.train);

    int64_t start = 0;
    if (req.resume) {
      auto ck = latest_checkpoint(run_dir);
      if (ck) {
        start = load_checkpoint(*ck, model, optim.get()).step;
        model->to(device);
        events.on_message("info", "resuming from step " + std::to_string(start) + " (" + *ck + ")");
      } else {
        events.on_message("warning", "no checkpoint in '" + run_dir + "': restarting from step 0");
      }
      db.truncate_metrics_after(req.run_id, start);
    }

    std::shared_ptr<PositionSampler> sampler = prep.sampler;
    int64_t sampler_len = c.train.seq_len;
    // Shortformer's cache: each micro-batch row keeps the previous window's layer inputs.
    auto* pia = dynamic_cast<PiaPositions*>(&model->position_scheme());
    const bool pia_cache = pia && pia->uses_cache();
    if (pia_cache && c.train.positions != "consecutive")
      events.on_message("warning",
                        "model.position pia caches the previous window, but train.positions is '" +
                            c.train.positions +
                            "': the cache will hold unrelated text (use consecutive)");
    std::vector<LayerMemory> memories(static_cast<size_t>(c.train.grad_accum));

    nlohmann::json info{{"run_id", req.run_id},
                        {"name", c.name},
                        {"parameters", model->parameter_count()},
                        {"device", device_description(device)},
                        {"threads", threads},
                        {"steps", c.train.steps},
                        {"start_step", start},
                        {"train_docs", split.train.size()},
                        {"validation_docs", split.validation.size()},
                        {"position", model->position_scheme().describe()}};
    events.on_start(req.run_id, info);

    // The resolved position values (YaRN's low/high and attention factor, ...) go with the run.
    {
      auto stored = nlohmann::json::parse(db.get_run(req.run_id).config_json);
      stored["_resolved"] = {{"position", model->position_scheme().describe()},
                             {"parameters", model->parameter_count()}};
      db.set_config(req.run_id, stored.dump());
    }
    std::optional<Probe> probe;
    if (c.eval.attention_every > 0)
      probe = find_probe(split.validation, [&] {
        const auto l = capture_lengths(c);
        return *std::max_element(l.begin(), l.end());
      }());
    PositionStats stats;
    if (req.resume) stats.load(db, req.run_id, start);
    const int64_t rows =
        c.train.batch_size * c.train.grad_accum;  // tokens per step = rows * seq_len of the stage
    const auto t_start = Clock::now();
    auto last_beat = t_start;
    int64_t step = start;
    out.step = start;
    for (step = start + 1; step <= c.train.steps; ++step) {
      const double lr =
          lr_at(step, c.train.steps, c.train.warmup, c.train.lr, c.train.min_lr_ratio);
      if (const int64_t len = c.train.seq_len_at(step); len != sampler_len) {
        // A new stage: the sampler works at the new length and the cache starts empty.
        SamplerContext sctx;
        sctx.docs = &split.train;
        sctx.seq_len = len;
        sctx.max_positions = c.model.max_positions;
        sampler = get_method(MethodKind::Sampler, c.train.positions, "train.positions.type")
                      ->sampler(c.train.positions_params, sctx);
        sampler_len = len;
        for (auto& m : memories) m.clear();
        events.on_message(
            "info", "stage: seq_len " + std::to_string(len) + " from step " + std::to_string(step));
      }
      for (auto& g : optim->param_groups())
        static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
      optim->zero_grad();
      double loss_sum = 0;
      for (int64_t micro = 0; micro < c.train.grad_accum; ++micro) {
        auto batch = make_batch(*sampler, c.seed, step, micro, c.train.batch_size,
                                c.train.tokens_before(step), &stats);
        auto t = to_tensors(batch, device);
        auto* memory = pia_cache ? &memories[static_cast<size_t>(micro)] : nullptr;
        auto loss = model->loss(t.tokens, t.positions, t.targets, t.mask, memory) /
                    static_cast<double>(c.train.grad_accum);
        loss.backward();
        loss_sum += loss.item<double>();
      }
      if (!std::isfinite(loss_sum)) {
        return fail(RunStatus::Diverged,
                    "loss became " + std::to_string(loss_sum) + " at step " + std::to_string(step));
      }
      double gnorm = 0;
      if (c.train.grad_clip > 0)
        gnorm = torch::nn::utils::clip_grad_norm_(model->parameters(), c.train.grad_clip);
      optim->step();
      out.step = step;

      const auto now = Clock::now();
      const double elapsed = std::chrono::duration<double>(now - t_start).count();
      const double done = static_cast<double>(step - start);
      StepEvent e;
      e.step = step;
      e.total = c.train.steps;
      e.loss = loss_sum;
      e.lr = lr;
      e.grad_norm = gnorm;
      e.elapsed_s = elapsed;
      const double done_tokens = static_cast<double>(
          rows * (c.train.tokens_before(step + 1) - c.train.tokens_before(start + 1)));
      e.tokens_per_s = done_tokens / std::max(elapsed, 1e-9);
      e.eta_s = elapsed / done * static_cast<double>(c.train.steps - step);
      e.tokens_seen = rows * c.train.tokens_before(step + 1);
      if (step % c.train.log_every == 0 || step == c.train.steps) {
        std::vector<std::pair<std::string, double>> values = {
            {"loss", loss_sum},
            {"lr", lr},
            {"grad_norm", gnorm},
            {"tokens_per_s", e.tokens_per_s},
            {"tokens_seen", static_cast<double>(e.tokens_seen)}};
        for (const auto& [k, v] : stats.last_info()) values.emplace_back(k, v);
        db.log_metrics(req.run_id, step, values);
      }
      events.on_step(e);
      if (std::chrono::duration<double>(now - last_beat).count() > 2.0) {
        db.heartbeat(req.run_id);
        last_beat = now;
      }
      const bool stop = (req.should_stop && req.should_stop()) || step == req.stop_after_step;
      if ((c.train.checkpoint_every > 0 && step % c.train.checkpoint_every == 0) ||
          step == c.train.steps || stop) {
        save_checkpoint(checkpoint_path(run_dir, step), model, optim.get(), step, config_json);
        prune_checkpoints(run_dir, 2);
        stats.save(db, req.run_id, step);
      }
      if (probe && (step % c.eval.attention_every == 0 || step == c.train.steps))
        capture_training_attention(db, req.run_id, step, model, c, *probe, device);
      if (stop && step < c.train.steps) {
        return fail(RunStatus::Interrupted, "stopped at step " + std::to_string(step) + " of " +
                                                std::to_string(c.train.steps));
      }
    }
    if (c.train.steps == 0 || start >= c.train.steps) {
      save_checkpoint(checkpoint_path(run_dir, out.step), model, optim.get(), out.step,
                      config_json);
    }
    if (c.eval.enabled) {
      out.evals = run_evals(db, req.run_id, out.step, model, c, split.validation, c.eval.lengths,
                            c.eval.modes, device, events);
      out.retrieval = run_requested_retrieval(db, req.run_id, out.step, model, c, split.validation,
                                              device, events);
    }
    db.set_status(req.run_id, RunStatus::Finished);
    out.status = RunStatus::Finished;
    return out;
  } catch (const std::exception& e) {
    std::string msg = e.what();
    if (auto nl = msg.find('\n'); nl != std::string::npos) msg = msg.substr(0, nl);
    return fail(RunStatus::Failed, msg);
  }
}

std::vector<PplResult> evaluate_run(store::RunStore& db, int64_t run_id,
                                    const std::vector<int64_t>& lengths,
                                    const std::vector<std::string>& modes, EventSink& events,
                                    const std::string& device_override) {
  const auto run = db.get_run(run_id);
  auto c = config_of_run(run);
  if (!device_override.empty()) c.train.device = device_override;
  auto ck = latest_checkpoint(run.run_dir);
  if (!ck)
    throw CheckpointError("run " + std::to_string(run_id) + " has no checkpoint in '" +
                          run.run_dir + "'");
  setup_threads(c.train.threads);
  const auto device = resolve_device(c.train.device);
  auto split = load_split(c);
  auto model = build_model(c);
  auto info = load_checkpoint(*ck, model);
  model->to(device);
  return run_evals(db, run_id, info.step, model, c, split.validation, lengths, modes, device,
                   events);
}

}  // namespace ctx
