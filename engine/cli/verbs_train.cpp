// train, resume and eval: the verbs that run the engine. SIGINT/SIGTERM stop a run cleanly
// (checkpoint, status interrupted) so `resume` can continue it; main() installs the handlers.
#include <algorithm>
#include <csignal>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "cli/cli_common.h"
#include "cli/progress.h"
#include "cli/verbs_dist.h"
#include "config/eval_modes.h"
#include "data/interrupt.h"
#include "methods/randpos_ids.h"
#include "store/run_store.h"
#include "train/dist_training.h"
#include "train/trainer.h"

namespace ctx::cli {
namespace {

int finish(const Common& c, int64_t run, const TrainOutcome& o) {
  if (c.json) {
    nlohmann::json evals = nlohmann::json::array();
    for (auto& r : o.evals) evals.push_back({{"length", r.length}, {"mode", r.mode}, {"ppl", r.ppl}, {"loss", r.loss}});
    print_json({{"run_id", run}, {"status", store::to_string(o.status)}, {"step", o.step}, {"error", o.error}, {"evals", evals}});
  } else if (!o.evals.empty()) {
    std::cout << "run " << run << " " << store::to_string(o.status) << " at step " << o.step << "\n";
    std::cout << "  length      mode         ppl      loss\n";
    for (auto& r : o.evals) {
      char line[128];
      std::snprintf(line, sizeof line, "  %6lld  %10s  %10.3f  %8.4f\n", static_cast<long long>(r.length), r.mode.c_str(),
                    r.ppl, r.loss);
      std::cout << line;
    }
  } else {
    std::cout << "run " << run << " " << store::to_string(o.status) << " at step " << o.step << "\n";
  }
  if (o.status == store::RunStatus::Finished) return 0;
  std::cerr << "error: run " << run << " " << store::to_string(o.status) << ": " << o.error << "\n";
  if (o.status != store::RunStatus::Interrupted) return 1;
  return exit_status_for_signal(stop_signal() ? stop_signal() : SIGINT);
}

}  // namespace

int cmd_train(const Common& c, const std::string& config_path, const std::string& device, int64_t init_run,
              const std::string& study) {
  if (const auto env = read_dist_env(); env.launched())  // [distributed] torchrun
    return cmd_train_dist(c, env, config_path, device, init_run, study);
  nlohmann::json given = read_config_file(config_path);
  if (!device.empty() && given.is_object()) given["train"]["device"] = device;
  if (init_run > 0 && given.is_object()) given["init"] = {{"run", init_run}};
  RunConfig cfg;
  try {
    cfg = parse_run_config(given);  // config problems exit before the store is touched
    check_distributed_config(cfg, 1);  // [distributed] context parallel needs torchrun
  } catch (const ConfigError& e) {
    throw ConfigError(config_path + ": " + e.what());
  }
  store::RunStore db(c.db);
  auto prepared = preflight(db, cfg);  // also turns init.run_named into init.run
  std::optional<int64_t> study_id;
  if (!study.empty()) {
    for (const auto& s : db.list_studies())
      if (s.name == study) study_id = s.id;
    if (!study_id) study_id = db.create_study(study);
  }
  const int64_t run = create_run(db, cfg, given, study_id);
  auto sink = make_event_sink(c.json);
  TrainRequest req;
  req.store = &db;
  req.run_id = run;
  req.config = cfg;
  req.prepared = prepared;
  req.should_stop = [] { return stop_requested(); };
  return finish(c, run, run_training(req, *sink));
}

int cmd_resume(const Common& c, int64_t run) {
  if (const auto env = read_dist_env(); env.launched()) return cmd_resume_dist(c, env, run);  // [distributed]
  store::RunStore db(c.db);
  db.reconcile_interrupted();
  auto rec = db.get_run(run);
  check_resume_world(rec, 1);  // [distributed] a run trained on several ranks resumes on as many
  if (rec.status == store::RunStatus::Finished) throw UsageError("run " + std::to_string(run) + " already finished");
  if (rec.status == store::RunStatus::Running)
    throw UsageError("run " + std::to_string(run) + " is still running (pid " + std::to_string(rec.pid) + " on " + rec.host + ")");
  auto cfg = config_of_run(rec);
  auto sink = make_event_sink(c.json);
  TrainRequest req;
  req.store = &db;
  req.run_id = run;
  req.config = cfg;
  req.resume = true;
  req.should_stop = [] { return stop_requested(); };
  return finish(c, run, run_training(req, *sink));
}

int cmd_eval(const Common& c, int64_t run, const std::string& lengths, const std::string& modes,
             const std::string& device) {
  store::RunStore db(c.db);
  auto rec = db.get_run(run);
  auto cfg = config_of_run(rec);
  auto L = lengths.empty() ? cfg.eval.lengths : parse_lengths(lengths, "--lengths");
  std::vector<std::string> M = cfg.eval.modes;
  if (!modes.empty()) {
    M.clear();
    std::stringstream ss(modes);
    std::string m;
    while (std::getline(ss, m, ',')) {
      if (m == "longdoc") throw UsageError("--mode longdoc: give it alone (it has its own documents and stride)");
      if (!is_eval_mode(m))
        throw UsageError("--mode: unknown mode '" + m +
                         "' (nonoverlap, sliding, randpos or longdoc)");
      if (std::find(M.begin(), M.end(), m) == M.end()) M.push_back(m);
    }
    check_randpos_eval(cfg, M, "--mode");
  }
  if (const auto env = read_dist_env(); env.launched())  // [distributed] windows split over the ranks
    return cmd_eval_dist(c, env, run, L, M, device);
  auto sink = make_event_sink(c.json);
  auto results = evaluate_run(db, run, L, M, *sink, device);
  if (c.json) {
    nlohmann::json evals = nlohmann::json::array();
    for (auto& r : results) evals.push_back({{"length", r.length}, {"mode", r.mode}, {"ppl", r.ppl}, {"loss", r.loss}, {"tokens", r.tokens}});
    print_json({{"run_id", run}, {"evals", evals}});
    return 0;
  }
  std::cout << "  length      mode         ppl      loss\n";
  for (auto& r : results) {
    char line[128];
    std::snprintf(line, sizeof line, "  %6lld  %10s  %10.3f  %8.4f\n", static_cast<long long>(r.length), r.mode.c_str(), r.ppl, r.loss);
    std::cout << line;
  }
  return 0;
}

}  // namespace ctx::cli
