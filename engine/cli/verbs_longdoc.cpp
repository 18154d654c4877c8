// eval --mode longdoc: long-document perplexity of a stored run (YaRN's protocol: documents at
// least as long as the longest length, truncated to it; sliding windows with a stride; BOS once per
// window), recorded as task "ppl", mode "longdoc"; progress as event lines or a bar.
#include <cstdio>
#include <iostream>

#include "cli/cli_common.h"
#include "cli/progress.h"
#include "store/run_store.h"
#include "train/longdoc_evals.h"
#include "train/run_setup.h"

namespace ctx::cli {

int cmd_eval_longdoc(const Common& c, int64_t run, const std::string& lengths, int64_t stride, int64_t docs,
                     const std::string& device) {
  store::RunStore db(c.db);
  const auto L = lengths.empty() ? config_of_run(db.get_run(run)).eval.lengths : parse_lengths(lengths, "--lengths");
  auto sink = make_event_sink(c.json);
  LongDocRequest req;
  req.lengths = L;
  req.stride = stride;
  req.max_docs = docs;
  req.device = device;
  const auto out = evaluate_longdoc_run(db, run, req, *sink);
  const std::string used = std::to_string(out.docs) + " of " + std::to_string(out.available + out.skipped) +
                           " validation documents (" + std::to_string(out.skipped) + " shorter than " +
                           std::to_string(out.truncated_to) + " tokens skipped)";
  if (c.json) {
    nlohmann::json evals = nlohmann::json::array();
    for (const auto& r : out.results)
      evals.push_back({{"length", r.length}, {"mode", r.mode}, {"ppl", r.ppl}, {"loss", r.loss},
                       {"tokens", r.tokens}, {"windows", r.windows}, {"seconds", r.seconds}});
    print_json({{"run_id", run}, {"step", out.step}, {"docs", out.docs}, {"available", out.available},
                {"skipped", out.skipped}, {"truncated_to", out.truncated_to}, {"stride", stride},
                {"bos", out.bos}, {"evals", evals}});
    return 0;
  }
  std::printf("run %lld longdoc (step %lld): %s, truncated to %lld tokens, stride %lld, BOS %s\n",
              static_cast<long long>(run), static_cast<long long>(out.step), used.c_str(),
              static_cast<long long>(out.truncated_to), static_cast<long long>(stride), out.bos.c_str());
  std::printf("  length         ppl      loss     tokens  windows\n");
  for (const auto& r : out.results)
    std::printf("  %6lld  %10.3f  %8.4f  %9lld  %7lld\n", static_cast<long long>(r.length), r.ppl, r.loss,
                static_cast<long long>(r.tokens), static_cast<long long>(r.windows));
  return 0;
}

}  // namespace ctx::cli
