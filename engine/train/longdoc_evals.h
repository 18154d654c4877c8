// Long-document perplexity of a stored run (`ctxlab-cli eval --mode longdoc`): its latest
// checkpoint on its validation documents (eval/longdoc_perplexity.h), every length checked before
// any work, all lengths recorded in one transaction as task "ppl", mode "longdoc".
#pragma once

#include <string>
#include <vector>

#include "config/eval_results.h"
#include "store/run_store.h"
#include "train/events.h"

namespace ctx {

struct LongDocRequest {
  std::vector<int64_t> lengths;
  int64_t stride = 256;
  int64_t max_docs = 10;  // YaRN's 10 documents; 0 = every long enough document
  std::string device;     // overrides the run's train.device when set
};

struct LongDocOutcome {
  std::vector<PplResult> results;
  int64_t docs = 0;       // documents used
  int64_t available = 0;  // long enough
  int64_t skipped = 0;    // shorter than the longest length
  int64_t truncated_to = 0;
  std::string bos;        // "once per window" or "none (the tokenizer has no BOS)"
  int64_t step = 0;
};

// Throws ConfigError / DataError / CheckpointError naming the value (a stride outside [1, the
// shortest length], a length past the position table, no document as long as the longest length)
// before computing; progress events name "longdoc L".
LongDocOutcome evaluate_longdoc_run(store::RunStore& db, int64_t run_id, const LongDocRequest& req,
                                    EventSink& events);

}  // namespace ctx
