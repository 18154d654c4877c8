// Loading a stored run's latest checkpoint for the evaluation verbs.
#include "cli/run_loader.h"

#include "train/checkpoint.h"
#include "train/precision.h"
#include "train/run_setup.h"
#include "train/runtime.h"

namespace ctx::cli {

LoadedRun load_run(store::RunStore& db, int64_t run, const std::string& device) {
  const auto rec = db.get_run(run);
  LoadedRun r;
  r.cfg = config_of_run(rec);
  if (!device.empty()) r.cfg.train.device = device;
  const auto ck = latest_checkpoint(rec.run_dir);
  if (!ck)
    throw CheckpointError("run " + std::to_string(run) + " has no checkpoint in '" + rec.run_dir +
                          "'");
  setup_threads(r.cfg.train.threads);
  r.device = resolve_device(r.cfg.train.device);
  r.model = build_model(r.cfg, WeightInit::Skip);
  r.step = load_checkpoint(*ck, r.model).step;
  r.model->to(r.device);
  check_precision(r.cfg.eval.precision, r.device, "eval.precision");
  return r;
}

}  // namespace ctx::cli
