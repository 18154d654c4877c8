// The trainer's distributed side: start (rank 0 reads, the others receive), batches and sequence
// parts, the loss weighting, the optimizer step, checkpoints, and the failure line.
#include "train/dist_training.h"

#include <c10/util/Exception.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "store/run_store.h"
#include "train/checkpoint.h"
#include "train/gradient_sync.h"
#include "train/run_setup.h"
#include "train/zero_optimizer.h"

namespace fs = std::filesystem;

namespace ctx {
namespace {

// Runs `work` on rank 0; when it throws, every rank throws (rank 0 its own error, the others a
// PeerFailure with rank 0's line), so no rank waits in a collective rank 0 never joins.
template <class F>
void on_root_together(Distributed& dist, F&& work) {
  std::exception_ptr error;
  if (dist.root()) {
    try {
      work();
    } catch (const std::exception& e) {
      std::string msg = e.what();
      dist.report_failure(msg.substr(0, msg.find('\n')));
      error = std::current_exception();
    }
  }
  if (!dist.any(error != nullptr)) return;
  if (error) std::rethrow_exception(error);
  throw PeerFailure(dist.reported_failure(std::chrono::seconds(5)).value_or("rank 0 failed"));
}

// Rank 0's weights (parameters and buffers) to every rank.
void broadcast_model(Distributed& dist, LanguageModel& model) {
  torch::NoGradGuard ng;
  for (auto& p : model->parameters()) {
    auto t = p.detach();
    dist.broadcast(t, 0);
  }
  for (auto& b : model->buffers()) {
    auto t = b.detach();
    if (t.is_contiguous()) dist.broadcast(t, 0);
  }
}

// Tests: CTXLAB_DIST_FAIL="RANK:STEP" makes that rank fail as it builds that step's batch
// (":hang" appended: it stops answering instead, as a stuck GPU would).
void inject_failure(int rank, int64_t step) {
  static const std::string spec = [] {
    const char* v = std::getenv("CTXLAB_DIST_FAIL");
    return std::string(v ? v : "");
  }();
  if (spec.empty()) return;
  const std::string mine = std::to_string(rank) + ":" + std::to_string(step);
  if (spec == mine) throw std::runtime_error("injected failure at step " + std::to_string(step) + " (CTXLAB_DIST_FAIL)");
  if (spec == mine + ":hang") std::this_thread::sleep_for(std::chrono::hours(1));
}

bool position_scheme_trains(LanguageModel& model) {
  for (auto& p : model->position_scheme().parameters())
    if (p.requires_grad()) return true;
  return false;
}

}  // namespace

DistTraining::DistTraining(Distributed& dist, const RunConfig& c, const std::string& db_path, int64_t run_id)
    : dist_(dist), cp_(c.train.context_parallel) {
  if (cp_ > 1) install_ring(dist_.ring());
  if (dist_.root())
    dist_.watch_peers(
        [db_path, run_id](const std::string& line) {
          try {
            store::RunStore db(db_path);
            db.set_status(run_id, store::RunStatus::Failed, line);
          } catch (const std::exception&) {
          }
          std::fprintf(stderr, "error: run %lld failed: %s\n", static_cast<long long>(run_id), line.c_str());
        },
        std::chrono::seconds(5));
}

DistTraining::~DistTraining() {
  dist_.failure_handled();  // the main thread is past every collective of the run
  if (cp_ > 1) install_ring(nullptr);
}

int64_t DistTraining::start(LanguageModel& model, const TrainConfig& t, const std::string& init_checkpoint,
                            bool resume, const std::string& run_dir, EventSink& events,
                            std::unique_ptr<torch::optim::AdamW>& optim) {
  std::string ck;
  int64_t step = 0;
  on_root_together(dist_, [&] {
    if (!resume && !init_checkpoint.empty()) {
      auto info = load_checkpoint(init_checkpoint, model, nullptr, true);
      std::string fresh;
      for (const auto& k : info.fresh) fresh += (fresh.empty() ? "" : ", ") + k;
      events.on_message("info", "initialised from " + init_checkpoint +
                                    (fresh.empty() ? "" : "; new, at their initialisation: " + fresh));
    }
    if (!resume) return;
    if (auto latest = latest_checkpoint(run_dir)) {
      if (is_hf_checkpoint(*latest))
        throw CheckpointError("'" + *latest + "' is a Hugging Face folder: it holds no optimizer state to resume");
      ck = *latest;
      step = load_checkpoint(ck, model, nullptr).step;
      events.on_message("info", "resuming from step " + std::to_string(step) + " (" + ck + ")");
    } else {
      events.on_message("warning", "no checkpoint in '" + run_dir + "': restarting from step 0");
    }
  });
  model->to(dist_.device());
  model->set_checkpointing(t.checkpointing);
  auto head = torch::full({2}, 0.0, torch::TensorOptions().dtype(torch::kDouble).device(dist_.device()));
  if (dist_.root()) head = torch::tensor({static_cast<double>(step), ck.empty() ? 0.0 : 1.0}, head.options());
  dist_.broadcast(head, 0);
  step = static_cast<int64_t>(head[0].item<double>());
  const bool has_checkpoint = head[1].item<double>() > 0.5;
  broadcast_model(dist_, model);

  zero_ = std::make_unique<ShardedAdamW>(model, t, dist_);
  if (has_checkpoint) zero_->load(zero_state_path(ck));  // collective; only rank 0 knows `ck`
  std::vector<std::pair<std::string, torch::Tensor>> params;
  for (auto& p : model->named_parameters())
    if (p.value().requires_grad()) params.emplace_back(p.key(), p.value());
  sync_ = std::make_unique<GradientSync>(params, dist_.world_group(), position_scheme_trains(model));
  optim = zero_->release_local();
  return step;
}

data::Batch DistTraining::make_batch(PositionSampler& sampler, uint64_t seed, int64_t step, int64_t micro,
                                     int64_t size, int64_t tokens_before, PositionStats* stats) {
  inject_failure(dist_.rank(), step);
  return ctx::make_batch(sampler, seed, step, micro, size * dp_size(), tokens_before, stats, dist_.dp_rank() * size,
                         size);
}

std::unique_ptr<DistTraining::Micro> DistTraining::micro(torch::Tensor& tokens, torch::Tensor& targets,
                                                         torch::Tensor& positions, torch::Tensor& mask,
                                                         bool last_of_step) {
  auto m = std::make_unique<Micro>();
  m->owner_ = this;
  m->sync_ = last_of_step;
  if (cp_ > 1) {
    m->scope_.emplace(positions);  // the span of the whole sequence's ids
    const int64_t r = dist_.cp_rank();
    for (auto* t : {&tokens, &targets, &positions, &mask}) *t = zigzag_shard(*t, cp_, r).contiguous();
  }
  // Scored tokens here and in the whole global micro-batch (all ranks).
  auto local = mask.sum().to(torch::kDouble).reshape({1});
  auto global = local.clone();
  dist_.all_reduce_sum(global);
  const double g = global.item<double>(), l = local.item<double>();
  m->factor_ = g > 0 ? static_cast<double>(dist_.world()) * l / g : 0.0;
  if (last_of_step) sync_->before_forward();
  return m;
}

torch::Tensor DistTraining::Micro::scale(const torch::Tensor& mean_loss) {
  auto scaled = mean_loss * factor_;
  if (sync_) owner_->sync_->before_backward({scaled});
  return scaled;
}

double DistTraining::Micro::value(const torch::Tensor& scaled) const {
  return scaled.item<double>() / static_cast<double>(owner_->dist_.world());
}

void DistTraining::zero_grad(LanguageModel& model) {
  model->zero_grad(false);  // in place: the gradients are views of the reducer's buckets
}

void DistTraining::optimizer_step() { zero_->step(); }

void DistTraining::save_checkpoint(const std::string& path, LanguageModel& model, int64_t step,
                                   const std::string& config_json) {
  zero_->save(zero_state_path(path));  // first: a model checkpoint never lacks its optimizer file
  if (!dist_.root()) return;
  ctx::save_checkpoint(path, model, nullptr, step, config_json);
  const auto dir = fs::path(path).parent_path().string();
  prune_checkpoints(dir, 2);
  prune_zero_states(dir);
}

std::string distributed_failure(Distributed& dist, const std::exception& e, const std::string& own) {
  if (dynamic_cast<const PeerFailure*>(&e)) {
    dist.failure_handled();
    return own;
  }
  if (!dist.root()) return dist.report_failure(own);
  // Rank 0 in a collective a peer left: that peer's own line says why.
  const bool collective = dynamic_cast<const c10::Error*>(&e) != nullptr;
  auto peer = dist.reported_failure(collective ? std::chrono::seconds(3) : std::chrono::seconds(0));
  dist.failure_handled();
  if (peer && peer->rfind("rank 0:", 0) != 0) return *peer;
  return dist.report_failure(own);
}

void check_distributed_config(const RunConfig& c, int world) {
  const int64_t cp = c.train.context_parallel;
  if (world == 1 && cp > 1)
    throw ConfigError("train.context_parallel: " + std::to_string(cp) + " ranks per sequence need a torchrun launch " +
                      "(torchrun --nproc_per_node a multiple of " + std::to_string(cp) + " --no-python ctxlab-cli ...)");
  if (world % cp != 0)
    throw ConfigError("train.context_parallel: " + std::to_string(cp) + " does not divide the world size " +
                      std::to_string(world) + " (ranks per sequence must split the ranks evenly)");
  if (cp == 1) return;
  if (const auto why = context_parallel_refusal(c.model); !why.empty())
    throw ConfigError("train.context_parallel: " + why);
  auto check_len = [&](int64_t len, const std::string& key) {
    if (len % (2 * cp) != 0)
      throw ConfigError(key + ": " + std::to_string(len) + " tokens do not split into 2 x " + std::to_string(cp) +
                        " equal chunks for train.context_parallel " + std::to_string(cp) + " (use a multiple of " +
                        std::to_string(2 * cp) + ")");
  };
  check_len(c.train.seq_len, "train.seq_len");
  for (size_t i = 0; i < c.train.stages.size(); ++i)
    check_len(c.train.stages[i].first, "train.stages[" + std::to_string(i) + "].seq_len");
}

}  // namespace ctx
