// The training loop, as separate steps: set up a session (model, optimizer, data, resume), run one
// optimizer step, record it, checkpoint, and evaluate at the end. run_training strings them
// together.
#include "train/trainer.h"

#include <torch/nn/utils/clip_grad.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <optional>

#include "data/interrupt.h"
#include "io/run_tokenizer.h"
#include "methods/registry.h"
#include "train/bf16_weights.h"
#include "train/checkpoint.h"
#include "train/dist_training.h"
#include "train/fused_adamw.h"
#include "train/gpu_monitor.h"
#include "train/grad_clip.h"
#include "train/graphed_passes.h"
#include "train/longctx_evals.h"
#include "train/lr_schedule.h"
#include "train/position_stats.h"
#include "train/precision.h"
#include "train/runtime.h"

namespace fs = std::filesystem;

namespace ctx {
namespace {

using store::RunStatus;
using Clock = std::chrono::steady_clock;

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

// Everything one training job holds while it runs.
struct Session {
  Session(store::RunStore& d, const TrainRequest& r, EventSink& e)
      : db(d), req(r), c(r.config), events(e) {}
  store::RunStore& db;
  const TrainRequest& req;
  const RunConfig& c;
  EventSink& events;
  torch::Device device = torch::kCPU;
  std::string run_dir, config_json;
  Preflight prep;
  LanguageModel model;
  std::unique_ptr<torch::optim::AdamW> optim;
  std::unique_ptr<FusedAdamW> fused;  // the fused CUDA update on optim's state, when available
  std::shared_ptr<PositionSampler> sampler;
  int64_t sampler_len = 0;
  data::Token separator = data::ByteTokenizer::kBos;  // between packed documents
  bool window_cache = false;          // Shortformer: rows carry the previous window's states
  std::vector<LayerMemory> memories;  // one per micro-batch
  PositionStats stats;
  std::optional<Probe> probe;
  int64_t start = 0;  // the step resumed from (0 when fresh)
  int64_t saved = -1;  // the step of the newest checkpoint written or resumed from
  bool running = false;  // marked running: from here on a failure is the run's, not the input's
  Clock::time_point t_start, last_beat;
  std::unique_ptr<DistTraining> dist;  // [distributed] several ranks (null: one process)
  std::unique_ptr<Bf16Weights> bf16_weights;  // train.precision bf16-weights (null otherwise)
  std::unique_ptr<GraphedPasses> graphed;     // train.cuda_graph (null otherwise)
};

struct StepResult {
  double loss = 0, grad_norm = 0, lr = 0;
};

// Loads the init checkpoint (a fresh run) or the run's own latest checkpoint (a resume).
void load_start_state(Session& s) {
  if (s.dist) {  // [distributed] rank 0 reads the checkpoints and sends them; ZeRO-1 AdamW
    s.start = s.dist->start(s.model, s.c.train, s.prep.init_checkpoint, s.req.resume, s.run_dir, s.events,
                            s.optim);
    if (s.req.resume) s.db.truncate_metrics_after(s.req.run_id, s.start);
    return;
  }
  if (!s.req.resume && !s.prep.init_checkpoint.empty()) {
    const auto& ck = s.prep.init_checkpoint;
    auto info = load_checkpoint(ck, s.model, nullptr, true);
    std::string fresh;
    for (const auto& k : info.fresh) fresh += (fresh.empty() ? "" : ", ") + k;
    s.events.on_message("info",
                        "initialised from " + ck +
                            (fresh.empty() ? "" : "; new, at their initialisation: " + fresh));
  }
  s.model->to(s.device);
  s.model->set_checkpointing(s.c.train.checkpointing);
  s.optim = build_optimizer(s.model, s.c.train);
  if (s.c.train.precision == "bf16-weights") s.bf16_weights = std::make_unique<Bf16Weights>(*s.model);
  if (!s.req.resume) return;
  if (auto ck = latest_checkpoint(s.run_dir)) {
    s.start = load_checkpoint(*ck, s.model, s.optim.get()).step;
    s.saved = s.start;
    s.model->to(s.device);
    s.events.on_message("info", "resuming from step " + std::to_string(s.start) + " (" + *ck + ")");
  } else {
    s.events.on_message("warning", "no checkpoint in '" + s.run_dir + "': restarting from step 0");
  }
  s.db.truncate_metrics_after(s.req.run_id, s.start);
}

// Whether the step's update runs fused on CUDA (LibTorch 2.x); the optimizer's own step elsewhere.
bool fused_update(Session& s) {
  if (s.dist) return false;
  if (!s.fused && FusedAdamW::available(*s.optim))
    s.fused = std::make_unique<FusedAdamW>(*s.optim, s.bf16_weights.get());
  return s.fused != nullptr;
}

// Gradient clipping (train.grad_clip > 0; the norm before clipping is returned, else NaN) and the
// optimizer step. Fused: the clipping factor stays on the device and scales the gradients inside
// the update; the norm is read back once the update is queued.
double clip_and_step(Session& s) {
  const double max_norm = s.c.train.grad_clip;
  double norm = std::numeric_limits<double>::quiet_NaN();
  if (fused_update(s)) {
    ClipFactor f;
    if (max_norm > 0) f = clip_factor_on_device(s.model->parameters(), max_norm);
    s.fused->step(f.coef);
    if (f.norm.defined()) norm = f.norm.item<double>();
    return norm;
  }
  if (max_norm > 0) norm = torch::nn::utils::clip_grad_norm_(s.model->parameters(), max_norm);
  if (s.dist)
    s.dist->optimizer_step();  // [distributed] ZeRO-1: own shard, then broadcasts
  else
    s.optim->step();
  return norm;
}

// Builds model, optimizer and data, loads the checkpoint it starts from, then marks the run running
// and reports the start. Whatever fails before the mark is bad input (a damaged checkpoint, a
// corpus gone since the run was made) and leaves the run's status alone.
void setup_session(Session& s) {
  const auto& c = s.c;
  const int threads = setup_threads(c.train.threads);
  s.device = s.req.dist ? s.req.dist->device() : resolve_device(c.train.device);  // [distributed] its rank's GPU
  if (s.device.is_cpu()) {
    auto w = blas_warning(probe_blas_gflops());
    if (!w.empty()) s.events.on_message("warning", w);
  }
  const auto run = s.db.get_run(s.req.run_id);
  s.run_dir = run.run_dir.empty() ? run_dir_for(s.db.path(), s.req.run_id) : run.run_dir;
  fs::create_directories(s.run_dir);
  // [distributed] the session's ring and failure watch; the run's device reads "cuda × N"
  if (s.req.dist && c.train.precision == "bf16-weights")  // every rank stops here, before any collective
    throw ConfigError("train.precision: bf16-weights runs in one process (the gradient buckets of several "
                      "GPUs are fp32); use bf16 with torchrun");
  if (s.req.dist) s.dist = std::make_unique<DistTraining>(*s.req.dist, c, s.db.path(), s.req.run_id);
  const auto device_text = s.dist ? s.dist->device_label() : device_description(s.device);

  RunConfig resolved = c;
  s.prep = s.req.prepared.split ? s.req.prepared : preflight(s.db, resolved);
  s.model = build_model(c, s.req.resume || !s.prep.init_checkpoint.empty() ? WeightInit::Skip : WeightInit::Random);
  s.config_json = to_json(c).dump();
  load_start_state(s);
  if (c.train.cuda_graph) {  // device and build: preflight (check_cuda_graph)
    if (s.dist) throw ConfigError("train.cuda_graph: one process only (not under torchrun)");
    s.graphed =
        std::make_unique<GraphedPasses>(s.model, s.bf16_weights.get(), c.train.precision, s.device);
  }
  s.db.mark_running(s.req.run_id, static_cast<int64_t>(getpid()), store::host_name(), device_text);
  s.running = true;

  s.sampler = s.prep.sampler;
  s.sampler_len = c.train.seq_len;
  s.separator = io::separator_token(*io::tokenizer_for(c));
  for (const auto& w : s.prep.warnings) s.events.on_message("warning", w);
  s.window_cache = s.model->position_scheme().caches_previous_window();
  if (s.window_cache && c.train.positions != "consecutive")
    s.events.on_message("warning", "model.position " + c.model.position +
                                       " caches the previous window, but train.positions is '" +
                                       c.train.positions +
                                       "': the cache will hold unrelated text (use consecutive)");
  s.memories.resize(static_cast<size_t>(c.train.grad_accum));

  const auto& split = *s.prep.split;
  const auto position = s.model->position_scheme().describe();
  s.events.on_start(s.req.run_id, {{"run_id", s.req.run_id},
                                   {"name", c.name},
                                   {"parameters", s.model->parameter_count()},
                                   {"device", device_text},
                                   {"threads", threads},
                                   {"steps", c.train.steps},
                                   {"start_step", s.start},
                                   {"train_docs", split.train.size()},
                                   {"validation_docs", split.validation.size()},
                                   {"position", position}});
  // The resolved position values (YaRN's low/high and attention factor, ...) go with the run.
  auto stored = nlohmann::json::parse(s.db.get_run(s.req.run_id).config_json);
  stored["_resolved"]["position"] = position;
  stored["_resolved"]["parameters"] = s.model->parameter_count();
  s.db.set_config(s.req.run_id, stored.dump());

  if (c.eval.attention_every > 0) {
    const auto l = capture_lengths(c);
    s.probe = find_probe(split.validation, *std::max_element(l.begin(), l.end()));
  }
  if (s.req.resume) s.stats.load(s.db, s.req.run_id, s.start);
}

// A new stage of staged training: the sampler works at the new length and the caches start empty.
void enter_stage_if_new(Session& s, int64_t step) {
  const int64_t len = s.c.train.seq_len_at(step);
  if (len == s.sampler_len) return;
  SamplerContext sctx;
  sctx.docs = &s.prep.split->train;
  sctx.seq_len = len;
  sctx.max_positions = s.c.model.max_positions;
  sctx.separator = s.separator;
  s.sampler = get_method(MethodKind::Sampler, s.c.train.positions, "train.positions.type")
                  ->sampler(s.c.train.positions_params, sctx);
  s.sampler_len = len;
  for (auto& m : s.memories) m.clear();
  s.events.on_message(
      "info", "stage: seq_len " + std::to_string(len) + " from step " + std::to_string(step));
}

// Micro-batch `micro` of `step`: [distributed] this rank's rows.
data::Batch draw_batch(Session& s, int64_t step, int64_t micro) {
  const auto& t = s.c.train;
  check_stop("training");  // before optim->step(): the last finished step is what is kept
  return s.dist ? s.dist->make_batch(*s.sampler, s.c.seed, step, micro, t.batch_size,
                                     t.tokens_before(step), &s.stats)  // [distributed] own rows
                : make_batch(*s.sampler, s.c.seed, step, micro, t.batch_size, t.tokens_before(step),
                             &s.stats);
}

// The forward and backward passes of every micro-batch, run as they come; the gradients are the
// sums over micro-batches, the loss their mean. `first` is micro-batch 0, already drawn.
double eager_passes(Session& s, int64_t step, data::Batch first) {
  const auto& t = s.c.train;
  if (s.dist)
    s.dist->zero_grad(s.model);  // [distributed] every gradient (the optimizer holds a shard)
  else
    s.optim->zero_grad();
  double loss_sum = 0;
  // bf16-weights: bf16 copies of the weights for the passes, the fp32 masters again from here on
  Bf16Weights::Scope passes(s.bf16_weights.get());
  for (int64_t micro = 0; micro < t.grad_accum; ++micro) {
    auto batch = micro == 0 ? std::move(first) : draw_batch(s, step, micro);
    auto b = to_tensors(batch, s.device);
    // [distributed] this rank's part of each sequence; the step's last micro-batch syncs gradients
    auto dm = s.dist ? s.dist->micro(b.tokens, b.targets, b.positions, b.mask, micro + 1 == t.grad_accum)
                     : nullptr;
    auto* memory = s.window_cache ? &s.memories[static_cast<size_t>(micro)] : nullptr;
    torch::Tensor loss;
    {
      PrecisionScope precision(t.precision, s.device);  // the forward pass only, as autocast wants
      loss = s.model->loss(b.tokens, b.positions, b.targets, b.mask, memory) /
             static_cast<double>(t.grad_accum);
    }
    if (dm) loss = dm->scale(loss);
    loss.backward();
    if (s.bf16_weights) s.bf16_weights->collect_gradients();  // summed over micro-batches in fp32
    loss_sum += dm ? dm->value(loss) : loss.item<double>();
  }
  if (s.bf16_weights) s.bf16_weights->to_fp32();
  return loss_sum;
}

// train.cuda_graph: the passes replayed from the graph (one micro-batch); nothing when its capture
// failed, which is reported once (the step then runs eagerly on the same batch).
std::optional<double> graphed_passes(Session& s, data::Batch& batch) {
  if (!s.graphed || s.graphed->failed()) return std::nullopt;
  if (auto loss = s.graphed->run(batch)) return loss->item<double>();
  s.events.on_message(
      "warning", "train.cuda_graph: " + s.graphed->failure() + "; training on without a graph");
  return std::nullopt;
}

// One optimizer step over grad_accum micro-batches. The loss is the mean over micro-batches.
StepResult train_step(Session& s, int64_t step) {
  const auto& t = s.c.train;
  StepResult r;
  r.lr = lr_at(step, t.steps, t.warmup, t.lr, t.min_lr_ratio);
  enter_stage_if_new(s, step);
  auto& groups = s.optim->param_groups();
  for (size_t i = 0; i < groups.size(); ++i)
    static_cast<torch::optim::AdamWOptions&>(groups[i].options())
        .lr(i == kPositionGroup ? lr_at(step, t.steps, t.warmup, t.position_lr, t.min_lr_ratio)
                                : r.lr);
  auto first = draw_batch(s, step, 0);
  const auto graphed = graphed_passes(s, first);
  r.loss = graphed ? *graphed : eager_passes(s, step, std::move(first));
  if (s.dist) r.loss = s.dist->global_loss(r.loss);  // [distributed] the global batch's mean
  if (!std::isfinite(r.loss)) return r;
  const double norm = clip_and_step(s);
  if (t.grad_clip > 0) r.grad_norm = norm;
  return r;
}

// Metrics to the store, the step event, the heartbeat.
void record_step(Session& s, int64_t step, const StepResult& r) {
  const auto& t = s.c.train;
  // tokens per step = rows * the stage's seq_len; [distributed] over every data-parallel rank
  const int64_t rows = t.batch_size * t.grad_accum * (s.dist ? s.dist->dp_size() : 1);
  const auto now = Clock::now();
  const double elapsed = std::chrono::duration<double>(now - s.t_start).count();
  StepEvent e;
  e.step = step;
  e.total = t.steps;
  e.loss = r.loss;
  e.lr = r.lr;
  e.grad_norm = r.grad_norm;
  e.elapsed_s = elapsed;
  const double done_tokens =
      static_cast<double>(rows * (t.tokens_before(step + 1) - t.tokens_before(s.start + 1)));
  e.tokens_per_s = done_tokens / std::max(elapsed, 1e-9);
  e.eta_s = elapsed / static_cast<double>(step - s.start) * static_cast<double>(t.steps - step);
  e.tokens_seen = rows * t.tokens_before(step + 1);
  if (step % t.log_every == 0 || step == t.steps) {
    std::vector<std::pair<std::string, double>> values = {
        {"loss", r.loss},
        {"lr", r.lr},
        {"grad_norm", r.grad_norm},
        {"tokens_per_s", e.tokens_per_s},
        {"tokens_seen", static_cast<double>(e.tokens_seen)}};
    for (const auto& [k, v] : s.stats.last_info()) values.emplace_back(k, v);
    append_gpu_metrics(s.device.is_cuda() ? std::max<int>(s.device.index(), 0) : -1, values);
    s.db.log_metrics(s.req.run_id, step, values);
  }
  s.events.on_step(e);
  if (std::chrono::duration<double>(now - s.last_beat).count() > 2.0) {
    s.db.heartbeat(s.req.run_id);
    s.last_beat = now;
  }
}

void write_checkpoint(Session& s, int64_t step) {
  if (s.dist)  // [distributed] collective: rank 0 writes the model and the gathered optimizer state
    s.dist->save_checkpoint(checkpoint_path(s.run_dir, step), s.model, step, s.config_json);
  else
    save_checkpoint(checkpoint_path(s.run_dir, step), s.model, s.optim.get(), step, s.config_json);
}

void save_step_checkpoint(Session& s, int64_t step) {
  write_checkpoint(s, step);
  s.saved = step;
  if (!s.dist) prune_checkpoints(s.run_dir, 2);
  s.stats.save(s.db, s.req.run_id, step);
}

// Perplexity and the retrieval sweeps the config asks for, after the last step.
void final_evaluation(Session& s, int64_t step, TrainOutcome& out) {
  const auto& val = s.prep.split->validation;
  PrecisionScope precision(s.c.eval.precision, s.device);
  out.evals = run_evals(s.db, s.req.run_id, step, s.model, s.c, val, s.c.eval.lengths,
                        s.c.eval.modes, s.device, s.events);
  out.retrieval =
      run_requested_retrieval(s.db, s.req.run_id, step, s.model, s.c, val, s.device, s.events);
  run_requested_ruler(s.db, s.req.run_id, step, s.model, s.c, val, s.device, s.events);
}

}  // namespace

TrainOutcome run_training(const TrainRequest& req, EventSink& events) {
  auto& db = *req.store;
  const auto& c = req.config;
  TrainOutcome out;
  auto fail = [&](RunStatus status, const std::string& msg) {
    out.status = status;
    out.error = msg;
    db.set_status(req.run_id, status, msg);
    return out;
  };
  std::optional<Session> session;
  try {
    Session& s = session.emplace(db, req, events);
    setup_session(s);
    s.t_start = s.last_beat = Clock::now();
    out.step = s.start;
    for (int64_t step = s.start + 1; step <= c.train.steps; ++step) {
      const auto r = train_step(s, step);
      if (!std::isfinite(r.loss))
        return fail(RunStatus::Diverged,
                    "loss became " + std::to_string(r.loss) + " at step " + std::to_string(step));
      out.step = step;
      record_step(s, step, r);
      const bool stop = (req.should_stop && req.should_stop()) || step == req.stop_after_step;
      if ((c.train.checkpoint_every > 0 && step % c.train.checkpoint_every == 0) ||
          step == c.train.steps || stop)
        save_step_checkpoint(s, step);
      if (s.probe && (step % c.eval.attention_every == 0 || step == c.train.steps))
        capture_training_attention(db, req.run_id, step, s.model, c, *s.probe, s.device);
      if (stop && step < c.train.steps)
        return fail(RunStatus::Interrupted,
                    std::string("stopped") +
                        (stop_signal() ? " by " + signal_name(stop_signal()) : "") + " at step " +
                        std::to_string(step) + " of " + std::to_string(c.train.steps));
    }
    if (c.train.steps == 0 || s.start >= c.train.steps) write_checkpoint(s, out.step);
    if (s.graphed) s.graphed->release();  // the graph's memory back before the evaluations
    if (c.eval.enabled) final_evaluation(s, out.step, out);
    db.set_status(req.run_id, RunStatus::Finished);
    out.status = RunStatus::Finished;
    return out;
  } catch (const Interrupted& e) {
    // A signal inside a capture or the final evaluation (steps poll should_stop themselves): keep
    // what the steps did, so `resume` goes on from here.
    if (req.resume && !(session && session->running)) throw;  // the run was never taken over
    if (session && session->running && session->saved < out.step) {
      try {
        save_step_checkpoint(*session, out.step);
      } catch (const std::exception&) {
        // resume starts from the previous checkpoint instead
      }
    }
    return fail(RunStatus::Interrupted, "stopped by " + signal_name(e.signal) + " during " +
                                            e.phase + " at step " + std::to_string(out.step) +
                                            " of " + std::to_string(c.train.steps));
  } catch (const std::exception& e) {
    // A resume that could not start (a damaged checkpoint, a corpus gone) leaves the run as it was.
    if (req.resume && !(session && session->running)) throw;
    std::string msg = e.what();
    if (auto nl = msg.find('\n'); nl != std::string::npos) msg = msg.substr(0, nl);
    if (req.dist) msg = distributed_failure(*req.dist, e, msg);  // [distributed] the failing rank's line
    return fail(RunStatus::Failed, msg);
  }
}

}  // namespace ctx
