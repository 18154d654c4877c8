// Perplexity evaluation of a run and its records in the store.
#include "train/run_evals.h"

#include "eval/perplexity.h"
#include "io/run_tokenizer.h"
#include "methods/randpos_ids.h"
#include "train/checkpoint.h"
#include "train/ppl_records.h"
#include "train/precision.h"
#include "train/run_setup.h"
#include "train/runtime.h"

namespace ctx {

std::vector<PplResult> run_evals(store::RunStore& db, int64_t run, int64_t step,
                                 LanguageModel& model, const RunConfig& c,
                                 const std::vector<data::Document>& val,
                                 const std::vector<int64_t>& lengths,
                                 const std::vector<std::string>& modes, const torch::Device& dev,
                                 EventSink& events) {
  std::vector<PplResult> out;
  const int64_t limit = model->position_scheme().max_position();
  check_randpos_eval(c, modes, "eval.mode");
  const int64_t id_range = c.train.positions == "randpos"
                               ? randpos_id_range(c.train.positions_params, c.train.seq_len)
                               : 0;
  for (const auto& mode : modes) {
    for (auto L : lengths) {
      if (limit > 0 && L > limit) {
        events.on_message("warning", "length " + std::to_string(L) +
                                         " skipped: " + c.model.position + " positions end at " +
                                         std::to_string(limit) + " (model.max_positions)");
        continue;
      }
      if (mode == "randpos" && L > id_range) {
        events.on_message("warning", "randpos length " + std::to_string(L) +
                                         " skipped: ids come from [0, " + std::to_string(id_range) +
                                         "), the run's train.positions range");
        continue;
      }
      PplOptions o;
      o.length = L;
      o.mode = mode;
      o.stride = c.eval.stride;
      o.max_tokens = c.eval.max_tokens;
      o.batch_size = c.eval.batch_size;
      o.memory = model->position_scheme().caches_previous_window();
      o.separator = io::separator_token(*io::tokenizer_for(c));
      o.id_range = id_range;
      auto r = evaluate_perplexity(model, val, o, dev);
      db.transaction([&] {
        record_ppl_result(db, run, step, r.mode, r,
                          {{"windows", r.windows}, {"packed", r.packed}, {"seconds", r.seconds}});
      });
      events.on_eval(ppl_event(mode, L, r));
      out.push_back(std::move(r));
    }
  }
  return out;
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
  auto split = load_run_split(c, cache_dir_for(db.path()));
  auto model = build_model(c, WeightInit::Skip);
  auto info = load_checkpoint(*ck, model);
  model->to(device);
  check_precision(c.eval.precision, device, "eval.precision");
  PrecisionScope precision(c.eval.precision, device);
  return run_evals(db, run_id, info.step, model, c, split.validation, lengths, modes, device,
                   events);
}

}  // namespace ctx
