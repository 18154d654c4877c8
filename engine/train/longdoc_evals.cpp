// Long-document perplexity of a stored run: checks, evaluation at every length, one transaction.
#include "train/longdoc_evals.h"

#include <algorithm>

#include "eval/longdoc_perplexity.h"
#include "io/run_tokenizer.h"
#include "train/checkpoint.h"
#include "train/ppl_records.h"
#include "train/precision.h"
#include "train/run_setup.h"
#include "train/runtime.h"

namespace ctx {
namespace {

void check_request(const LongDocRequest& req, const RunConfig& c, int64_t limit) {
  if (req.lengths.empty()) throw ConfigError("longdoc: no lengths given");
  const int64_t shortest = *std::min_element(req.lengths.begin(), req.lengths.end());
  if (req.stride < 1 || req.stride > shortest)
    throw ConfigError("stride " + std::to_string(req.stride) + ": must be in [1, " +
                      std::to_string(shortest) + "] (the shortest length)");
  if (req.max_docs < 0)
    throw ConfigError("docs " + std::to_string(req.max_docs) + ": must be >= 0 (0 = all)");
  for (auto L : req.lengths)
    if (limit > 0 && L > limit)
      throw ConfigError("length " + std::to_string(L) + ": beyond the model's " + c.model.position +
                        " positions, which end at " + std::to_string(limit) +
                        " (model.max_positions)");
}

}  // namespace

LongDocOutcome evaluate_longdoc_run(store::RunStore& db, int64_t run_id, const LongDocRequest& req,
                                    EventSink& events) {
  const auto run = db.get_run(run_id);
  auto c = config_of_run(run);
  if (!req.device.empty()) c.train.device = req.device;
  const auto ck = latest_checkpoint(run.run_dir);
  if (!ck)
    throw CheckpointError("run " + std::to_string(run_id) + " has no checkpoint in '" +
                          run.run_dir + "'");
  setup_threads(c.train.threads);
  const auto device = resolve_device(c.train.device);
  auto model = build_model(c, WeightInit::Skip);
  check_request(req, c, model->position_scheme().max_position());
  check_precision(c.eval.precision, device, "eval.precision");
  const auto tok = io::tokenizer_for(c);
  const bool bos = tok->bos_id() >= 0;
  const int64_t longest = *std::max_element(req.lengths.begin(), req.lengths.end());
  const auto split = load_run_split(c, cache_dir_for(db.path()));
  const LongDocSet set = select_longdoc_documents(split.validation, longest, req.max_docs, bos);
  if (set.docs.empty()) {
    size_t most = 0;
    for (const auto& d : split.validation) most = std::max(most, d.tokens.size());
    throw data::DataError("longdoc: no validation document holds " +
                          std::to_string(set.truncated_to) + " tokens (length " +
                          std::to_string(longest) + "; the longest has " + std::to_string(most) +
                          ")");
  }
  LongDocOutcome out;
  out.step = load_checkpoint(*ck, model).step;
  model->to(device);
  out.docs = static_cast<int64_t>(set.docs.size());
  out.available = set.available;
  out.skipped = set.skipped;
  out.truncated_to = set.truncated_to;
  out.bos = bos ? "once per window" : "none (the tokenizer has no BOS)";

  // Progress counts windows over the whole call.
  int64_t total = 0, before = 0;
  for (auto L : req.lengths)
    for (const auto& d : set.docs)
      total += static_cast<int64_t>(
          plan_longdoc_windows(static_cast<int64_t>(d.size()), L, req.stride, bos).size());
  PrecisionScope precision(c.eval.precision, device);
  for (auto L : req.lengths) {
    LongDocOptions o;
    o.length = L;
    o.stride = req.stride;
    o.bos = bos ? tok->bos_id() : -1;
    o.batch_size = c.eval.batch_size;
    const std::string what = "longdoc " + std::to_string(L);
    o.progress = [&](int64_t done, int64_t) { events.on_progress({before + done, total, what}); };
    auto r = evaluate_longdoc(model, set, o, device);
    before += r.windows;
    events.on_eval(ppl_event("longdoc", L, r));
    out.results.push_back(std::move(r));
  }
  const nlohmann::json tokenizer{{"kind", tok->kind()}, {"fingerprint", tok->fingerprint()}};
  db.transaction([&] {
    for (const auto& r : out.results)
      record_ppl_result(db, run_id, out.step, "longdoc", r,
                        {{"docs", out.docs},
                         {"stride", req.stride},
                         {"tokenizer", tokenizer},
                         {"bos", out.bos},
                         {"truncated_to", out.truncated_to},
                         {"skipped", out.skipped},
                         {"windows", r.windows},
                         {"seconds", r.seconds}});
  });
  return out;
}

}  // namespace ctx
