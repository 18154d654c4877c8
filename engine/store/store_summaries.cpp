// RunStore::run_summaries: the run list's rows in five bulk queries, so a store of 10,000 runs
// lists in well under a second and a follower's poll costs only the runs that changed.
#include <algorithm>
#include <unordered_map>

#include "store/store_impl.h"

namespace ctx::store {

using detail::Lock;

std::vector<RunSummary> RunStore::run_summaries(double since) const try {
  Lock lk(impl_->mu);
  std::vector<RunSummary> out;
  std::unordered_map<int64_t, size_t> index;
  {
    // A run changes through its row (status, heartbeat, tags and notes touch `updated`), its
    // metrics (metrics_latest.wall) or its evaluations (evals.wall).
    auto q = impl_->query("SELECT " + detail::kRunCols +
                          " FROM runs WHERE ?1 <= 0 OR updated >= ?1 OR created >= ?1 OR heartbeat >= ?1 "
                          "OR id IN (SELECT run FROM metrics_latest WHERE wall >= ?1) "
                          "OR id IN (SELECT run FROM evals WHERE wall >= ?1) ORDER BY id DESC");
    q->bind(1, since);
    while (q->executeStep()) {
      index.emplace(q->getColumn(0).getInt64(), out.size());
      out.push_back({});
      out.back().run = impl_->read_run(*q);
    }
  }
  if (out.empty()) return out;
  // The child tables are read whole when most runs changed (the first load), else per changed id
  // range; rows of other runs are skipped by the index lookup either way.
  const int64_t lo = out.back().run.id, hi = out.front().run.id;
  auto each = [&](const std::string& sql, auto&& fn) {
    auto q = impl_->query(sql);
    q->bind(1, lo);
    q->bind(2, hi);
    while (q->executeStep()) {
      auto it = index.find(q->getColumn(0).getInt64());
      if (it != index.end()) fn(out[it->second], *q);
    }
  };
  each("SELECT l.run, n.name, l.step, l.value, l.wall FROM metrics_latest l JOIN metric_names n ON n.id = l.metric_id "
       "WHERE l.run BETWEEN ?1 AND ?2",
       [](RunSummary& r, SQLite::Statement& s) {
         r.latest[s.getColumn(1).getString()] = {s.getColumn(2).getInt64(), detail::real_or_nan(s.getColumn(3)),
                                                 s.getColumn(4).getDouble()};
       });
  each("SELECT run, mode, x, value FROM evals WHERE run BETWEEN ?1 AND ?2 AND task = 'ppl' AND metric = 'ppl' "
       "ORDER BY run, x",
       [](RunSummary& r, SQLite::Statement& s) {
         r.ppl.push_back({s.getColumn(1).getString(), s.getColumn(2).getDouble(), detail::real_or_nan(s.getColumn(3))});
       });
  each("SELECT run, tag FROM tags WHERE run BETWEEN ?1 AND ?2 ORDER BY run, tag",
       [](RunSummary& r, SQLite::Statement& s) { r.tags.push_back(s.getColumn(1).getString()); });
  each("SELECT run, note FROM notes WHERE run BETWEEN ?1 AND ?2",
       [](RunSummary& r, SQLite::Statement& s) { r.note = s.getColumn(1).getString(); });
  return out;
} catch (const SQLite::Exception& e) {
  impl_->fail(e);
}

int64_t RunStore::run_count() const try {
  Lock lk(impl_->mu);
  auto q = impl_->query("SELECT count(*) FROM runs");
  q->executeStep();
  return q->getColumn(0).getInt64();
} catch (const SQLite::Exception& e) {
  impl_->fail(e);
}

}  // namespace ctx::store
