// What position ids a run's sampler actually presented: counts of ids and of causal query-key
// distances (unit-width bins), plus the per-step draws samplers report (E2-LLM's g and t, CREAM's
// layout and r, CLEX's t). Stored with the run as artifacts and metrics for the position plots.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "data/example.h"
#include "store/run_store.h"

namespace ctx {

class PositionStats {
 public:
  // Adds a batch: ids of every example; distances from the first example of the batch (strided so
  // the cost stays O(T * 256) per step).
  void add(const std::vector<data::Example>& batch);
  // Mean of each sampler-reported value over the last added batch ("sampler/g", ...).
  const std::map<std::string, double>& last_info() const { return last_info_; }
  // Writes "positions/ids" and "positions/distances" (i64 counts, bin k = [k, k+1)).
  void save(store::RunStore& db, int64_t run, int64_t step) const;
  // A resumed run continues from the counts saved with its checkpoint at `step`.
  void load(const store::RunStore& db, int64_t run, int64_t step);
  const std::vector<int64_t>& id_counts() const { return ids_; }
  const std::vector<int64_t>& distance_counts() const { return dists_; }

 private:
  std::vector<int64_t> ids_, dists_;
  std::map<std::string, double> last_info_;
};

}  // namespace ctx
