// The distributed verbs: connect, let rank 0 create or check the run and publish its id, train or
// evaluate on every rank, print on rank 0. Errors: bad input exits 2 on every rank (only rank 0
// prints it); a failure after the ranks connected is reported through the store so that no rank
// waits for one that stopped.
#include "cli/verbs_dist.h"

#include <torch/cuda.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <thread>

#include "cli/progress.h"
#include "train/dist_training.h"
#include "train/run_evals.h"
#include "train/run_setup.h"
#include "train/trainer.h"

namespace ctx::cli {
namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_dist_signal(int) { g_stop = true; }

void install_signals() {
  std::signal(SIGINT, on_dist_signal);
  std::signal(SIGTERM, on_dist_signal);
}

class NullSink : public EventSink {};

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// Runs a verb on one rank. Rank 0 lets errors through to main (printed, exit 2 for bad input).
// Another rank prints only what rank 0 cannot know (its own failures outside a run): its bad
// input is rank 0's too, and its run failures reach rank 0's line.
template <class F>
int on_rank(const DistEnv& env, std::unique_ptr<Distributed>& dist, F&& body) {
  try {
    return body();
  } catch (const PeerFailure&) {
    if (env.rank == 0) throw;
    return 1;
  } catch (const std::exception& e) {
    if (dist) dist->report_failure(first_line(e.what()));
    if (env.rank == 0) throw;
    const bool bad_input = dynamic_cast<const ConfigError*>(&e) || dynamic_cast<const UsageError*>(&e) ||
                           dynamic_cast<const store::StoreError*>(&e);
    if (bad_input) return 2;
    std::cerr << "error: rank " << env.rank << ": " << first_line(e.what()) << "\n";
    return 1;
  }
}

// The rank's device: "cpu", or the GPU of its LOCAL_RANK for any "cuda" name.
torch::Device rank_device(const std::string& name, const DistEnv& env) {
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (!torch::cuda::is_available())
    throw ConfigError("train.device: '" + name + "' requested but this LibTorch has no usable CUDA device");
  const int n = static_cast<int>(torch::cuda::device_count());
  if (env.local_rank >= n)
    throw ConfigError("LOCAL_RANK " + std::to_string(env.local_rank) + " has no GPU: this machine has " +
                      std::to_string(n) + " (torchrun --nproc_per_node at most " + std::to_string(n) + ")");
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(env.local_rank));
}

// CPU ranks on one machine share its cores.
void share_cores(RunConfig& cfg, const DistEnv& env, const torch::Device& dev) {
  if (!dev.is_cpu() || cfg.train.threads > 0) return;
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  cfg.train.threads = std::max(1, cores / std::max(1, env.local_world));
}

std::unique_ptr<Distributed> connect(const DistEnv& env, const torch::Device& dev, const RunConfig& cfg,
                                     int64_t context_parallel) {
  return Distributed::connect(env, dev, context_parallel, std::chrono::seconds(cfg.train.dist_timeout));
}

// A private in-memory store holding a copy of `rec` (its config and folder): a following rank's
// trainer records there, and nothing of it outlives the process.
struct Scratch {
  std::unique_ptr<store::RunStore> db;
  int64_t run = 0;
};
Scratch scratch_copy(const store::RunRecord& rec) {
  Scratch s;
  s.db = std::make_unique<store::RunStore>(":memory:");
  store::NewRun nr;
  nr.name = rec.name;
  nr.config_json = rec.config_json;
  nr.method = rec.method;
  nr.engine_version = rec.engine_version;
  nr.device = rec.device;
  s.run = s.db->create_run(nr);
  s.db->set_run_dir(s.run, rec.run_dir);
  return s;
}

// What a following rank evaluates: the perplexity its ring shares with rank 0; no retrieval or
// attention capture (rank 0 runs those alone, unsplit).
RunConfig follower_config(RunConfig c, const Distributed& d) {
  c.eval.attention_every = 0;
  c.eval.passkey.enabled = c.eval.needle.enabled = c.eval.kvretrieval.enabled = false;
  c.eval.enabled = c.eval.enabled && d.cp_size() > 1 && d.rank() < d.cp_size();
  return c;
}

// The layout goes with the run: what resume checks, and what a reader of the store sees.
void note_layout(store::RunStore& db, int64_t run, const Distributed& d, const RunConfig& cfg) {
  auto stored = nlohmann::json::parse(db.get_run(run).config_json);
  stored["_resolved"]["distributed"] = {
      {"world_size", d.world()},
      {"context_parallel", d.cp_size()},
      {"data_parallel", d.dp_size()},
      {"global_batch", cfg.train.batch_size * d.dp_size() * cfg.train.grad_accum},
      {"backend", d.device().is_cuda() ? "nccl" : "gloo"}};
  db.set_config(run, stored.dump());
}

TrainRequest request(store::RunStore& db, int64_t run, const RunConfig& cfg, Distributed& d, bool resume) {
  TrainRequest req;
  req.store = &db;
  req.run_id = run;
  req.config = cfg;
  req.resume = resume;
  req.dist = &d;
  // Polled once per step on every rank: a signal on any rank stops them all at the same step.
  req.should_stop = [&d] { return d.any(g_stop.load()); };
  return req;
}

int report_outcome(const Common& c, int64_t run, const TrainOutcome& o) {
  if (c.json) {
    nlohmann::json evals = nlohmann::json::array();
    for (auto& r : o.evals) evals.push_back({{"length", r.length}, {"mode", r.mode}, {"ppl", r.ppl}, {"loss", r.loss}});
    print_json({{"run_id", run}, {"status", store::to_string(o.status)}, {"step", o.step}, {"error", o.error},
                {"evals", evals}});
  } else {
    std::cout << "run " << run << " " << store::to_string(o.status) << " at step " << o.step << "\n";
    if (!o.evals.empty()) std::cout << "  length      mode         ppl      loss\n";
    for (auto& r : o.evals)
      std::printf("  %6lld  %10s  %10.3f  %8.4f\n", static_cast<long long>(r.length), r.mode.c_str(), r.ppl, r.loss);
    std::fflush(stdout);
  }
  if (o.status == store::RunStatus::Finished) return 0;
  std::cerr << "error: run " << run << " " << store::to_string(o.status) << ": " << o.error << "\n";
  return o.status == store::RunStatus::Interrupted ? 130 : 1;
}

int follower_status(const TrainOutcome& o) {
  if (o.status == store::RunStatus::Finished) return 0;
  return o.status == store::RunStatus::Interrupted ? 130 : 1;
}

// Rank 0 prepares the run (store writes); the others wait for its id, then prepare their side
// read-only. Returns the run id.
template <class F>
int64_t led_by_root(Distributed& d, F&& root_work) {
  if (!d.root()) return std::stoll(d.await("run"));
  const int64_t run = root_work();
  d.publish("run", std::to_string(run));
  return run;
}

}  // namespace

int64_t trained_world_size(const store::RunRecord& run) {
  const auto j = nlohmann::json::parse(run.config_json, nullptr, false);
  if (j.is_discarded() || !j.contains("_resolved") || !j["_resolved"].contains("distributed")) return 1;
  return j["_resolved"]["distributed"].value("world_size", int64_t{1});
}

void check_resume_world(const store::RunRecord& run, int world) {
  const int64_t trained = trained_world_size(run);
  if (trained == world) return;
  throw UsageError("run " + std::to_string(run.id) + " was trained on " + std::to_string(trained) +
                   (trained == 1 ? " process" : " processes") + "; resuming on " + std::to_string(world) +
                   " would give its ranks other batches: " +
                   (trained == 1 ? "resume it without torchrun"
                                 : "resume it with torchrun --nproc_per_node " + std::to_string(trained)));
}

int cmd_train_dist(const Common& c, const DistEnv& env, const std::string& config_path, const std::string& device,
                   int64_t init_run, const std::string& study) {
  std::unique_ptr<Distributed> dist;
  return on_rank(env, dist, [&] {
    nlohmann::json given = read_config_file(config_path);
    if (!device.empty() && given.is_object()) given["train"]["device"] = device;
    if (init_run > 0 && given.is_object()) given["init"] = {{"run", init_run}};
    RunConfig cfg;
    try {
      cfg = parse_run_config(given);
      check_distributed_config(cfg, env.world);
    } catch (const ConfigError& e) {
      throw ConfigError(config_path + ": " + e.what());
    }
    const auto dev = rank_device(cfg.train.device, env);
    share_cores(cfg, env, dev);
    dist = connect(env, dev, cfg, cfg.train.context_parallel);
    Preflight prepared;
    const int64_t run = led_by_root(*dist, [&] {
      store::RunStore db(c.db);
      prepared = preflight(db, cfg);
      std::optional<int64_t> study_id;
      if (!study.empty()) {
        for (const auto& s : db.list_studies())
          if (s.name == study) study_id = s.id;
        if (!study_id) study_id = db.create_study(study);
      }
      // The run reads "cuda × N" from the start (a launch that fails before training still says so).
      const int64_t id = create_run(db, cfg, given, study_id, dist->device_label());
      note_layout(db, id, *dist, cfg);
      return id;
    });
    install_signals();
    if (dist->root()) {
      store::RunStore db(c.db);
      auto req = request(db, run, cfg, *dist, false);
      req.prepared = prepared;
      auto sink = make_event_sink(c.json);
      return report_outcome(c, run, run_training(req, *sink));
    }
    store::RunStore shared(c.db, true);
    prepared = preflight(shared, cfg);  // reads only: the corpus cache rank 0 filled, base runs
    auto scratch = scratch_copy(shared.get_run(run));
    auto req = request(*scratch.db, scratch.run, follower_config(cfg, *dist), *dist, false);
    req.prepared = prepared;
    NullSink sink;
    return follower_status(run_training(req, sink));
  });
}

int cmd_resume_dist(const Common& c, const DistEnv& env, int64_t run) {
  std::unique_ptr<Distributed> dist;
  return on_rank(env, dist, [&] {
    store::RunRecord rec;
    {
      store::RunStore shared(c.db, true);
      rec = shared.get_run(run);
    }
    check_resume_world(rec, env.world);
    auto cfg = config_of_run(rec);
    check_distributed_config(cfg, env.world);
    const auto dev = rank_device(cfg.train.device, env);
    share_cores(cfg, env, dev);
    dist = connect(env, dev, cfg, cfg.train.context_parallel);
    led_by_root(*dist, [&] {
      store::RunStore db(c.db);
      db.reconcile_interrupted();
      const auto now = db.get_run(run);
      if (now.status == store::RunStatus::Finished)
        throw UsageError("run " + std::to_string(run) + " already finished");
      if (now.status == store::RunStatus::Running)
        throw UsageError("run " + std::to_string(run) + " is still running (pid " + std::to_string(now.pid) +
                         " on " + now.host + ")");
      return run;
    });
    install_signals();
    if (dist->root()) {
      store::RunStore db(c.db);
      auto req = request(db, run, cfg, *dist, true);
      auto sink = make_event_sink(c.json);
      return report_outcome(c, run, run_training(req, *sink));
    }
    store::RunStore shared(c.db, true);
    auto fcfg = follower_config(cfg, *dist);
    auto prepared = preflight(shared, fcfg);
    auto scratch = scratch_copy(shared.get_run(run));
    auto req = request(*scratch.db, scratch.run, fcfg, *dist, true);
    req.prepared = prepared;
    NullSink sink;
    return follower_status(run_training(req, sink));
  });
}

int cmd_eval_dist(const Common& c, const DistEnv& env, int64_t run, const std::vector<int64_t>& lengths,
                  const std::vector<std::string>& modes, const std::string& device) {
  std::unique_ptr<Distributed> dist;
  return on_rank(env, dist, [&] {
    store::RunRecord rec;
    {
      store::RunStore shared(c.db, true);
      rec = shared.get_run(run);
    }
    auto cfg = config_of_run(rec);
    if (const auto why = context_parallel_refusal(cfg.model); !why.empty())
      throw UsageError("eval under torchrun splits each window over the ranks, but " + why);
    const auto dev = rank_device(device.empty() ? cfg.train.device : device, env);
    dist = connect(env, dev, cfg, env.world);  // one ring over every rank
    install_ring(dist->ring());
    struct Uninstall {
      ~Uninstall() { install_ring(nullptr); }
    } uninstall;
    const std::string dev_name = dev.is_cuda() ? "cuda:" + std::to_string(dev.index()) : "cpu";
    if (!dist->root()) {
      auto scratch = scratch_copy(rec);
      NullSink sink;
      evaluate_run(*scratch.db, scratch.run, lengths, modes, sink, dev_name);
      return 0;
    }
    store::RunStore db(c.db);
    auto sink = make_event_sink(c.json);
    auto results = evaluate_run(db, run, lengths, modes, *sink, dev_name);
    if (c.json) {
      nlohmann::json evals = nlohmann::json::array();
      for (auto& r : results)
        evals.push_back({{"length", r.length}, {"mode", r.mode}, {"ppl", r.ppl}, {"loss", r.loss}, {"tokens", r.tokens}});
      print_json({{"run_id", run}, {"evals", evals}, {"device", dist->device_label()}});
      return 0;
    }
    std::cout << "  length      mode         ppl      loss   (" << dist->device_label() << ")\n";
    for (auto& r : results)
      std::printf("  %6lld  %10s  %10.3f  %8.4f\n", static_cast<long long>(r.length), r.mode.c_str(), r.ppl, r.loss);
    return 0;
  });
}

}  // namespace ctx::cli
