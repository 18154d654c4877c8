// A perplexity result's store records and event; see ppl_records.h.
#include "train/ppl_records.h"

#include <algorithm>
#include <utility>

namespace ctx {

void record_ppl_result(store::RunStore& db, int64_t run, int64_t step, const std::string& mode,
                       const PplResult& r, const nlohmann::json& extra) {
  for (auto [metric, value] : {std::pair<const char*, double>{"ppl", r.ppl},
                               {"loss", r.loss},
                               {"tokens", static_cast<double>(r.tokens)}}) {
    store::EvalRecord e;
    e.task = "ppl";
    e.mode = mode;
    e.x = static_cast<double>(r.length);
    e.metric = metric;
    e.value = value;
    e.step = step;
    e.extra_json = extra.dump();
    db.record_eval(run, e);
  }
  db.put_artifact(run, store::make_f32_artifact(
                           "position_loss/" + mode + "/" + std::to_string(r.length), step,
                           r.position_loss));
}

EvalEvent ppl_event(const std::string& mode, int64_t length, const PplResult& r) {
  EvalEvent e;
  e.mode = mode;
  e.length = length;
  e.loss = r.loss;
  e.ppl = r.ppl;
  e.tokens = r.tokens;
  e.tokens_per_s = static_cast<double>(r.windows * length) / std::max(r.seconds, 1e-9);
  return e;
}

}  // namespace ctx
