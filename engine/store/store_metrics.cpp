// RunStore's numbers: training metric points (narrow rows, upserted, with a latest-value table) and
// evaluation results on their own axes.

#include "store/store_impl.h"

namespace ctx::store {

using detail::Lock;
using detail::real_or_nan;

// --- metrics

void RunStore::log_metrics(int64_t run, int64_t step,
                           const std::vector<std::pair<std::string, double>>& values) try {
  Lock lk(impl_->mu);
  if (values.empty()) return;
  Impl::WriteTx tx(*impl_);
  impl_->require_run(run);
  const double wall = now_seconds();
  for (const auto& [name, value] : values) {
    const int64_t mid = impl_->metric_id(name);
    {
      auto q = impl_->query(
          "INSERT INTO metrics(run, metric_id, step, value, wall) VALUES (?, ?, ?, ?, ?) "
          "ON CONFLICT(run, metric_id, step) DO UPDATE SET value = excluded.value, "
          "wall = excluded.wall");
      SQLite::bind(*q, run, mid, step, value, wall);
      q->exec();
    }
    {
      // Re-logging an older step (a resume without truncation) leaves the latest value alone.
      auto q = impl_->query(
          "INSERT INTO metrics_latest(run, metric_id, step, value, wall) VALUES (?, ?, ?, ?, ?) "
          "ON CONFLICT(run, metric_id) DO UPDATE SET step = excluded.step, "
          "value = excluded.value, wall = excluded.wall WHERE excluded.step >= "
          "metrics_latest.step");
      SQLite::bind(*q, run, mid, step, value, wall);
      q->exec();
    }
  }
  tx.commit();
} catch (const SQLite::Exception& e) {
  impl_->fail(e);
}

std::vector<MetricPoint> RunStore::metric_series(int64_t run, const std::string& metric,
                                                 int64_t after_step) const try {
  Lock lk(impl_->mu);
  std::vector<MetricPoint> out;
  auto q = impl_->query(
      "SELECT step, value, wall FROM metrics WHERE run = ?1 "
      "AND metric_id = (SELECT id FROM metric_names WHERE name = ?2) AND step > ?3 ORDER BY step");
  SQLite::bind(*q, run, metric, after_step);
  while (q->executeStep()) {
    out.push_back(
        {q->getColumn(0).getInt64(), real_or_nan(q->getColumn(1)), q->getColumn(2).getDouble()});
  }
  return out;
} catch (const SQLite::Exception& e) {
  impl_->fail(e);
}

std::vector<std::string> RunStore::metric_names(int64_t run) const try {
  Lock lk(impl_->mu);
  std::vector<std::string> out;
  auto q = impl_->query(
      "SELECT n.name FROM metrics_latest l JOIN metric_names n ON n.id = l.metric_id "
      "WHERE l.run = ? ORDER BY n.name");
  q->bind(1, run);
  while (q->executeStep()) out.push_back(q->getColumn(0).getString());
  return out;
} catch (const SQLite::Exception& e) {
  impl_->fail(e);
}

std::map<std::string, MetricPoint> RunStore::latest_metrics(int64_t run) const try {
  Lock lk(impl_->mu);
  std::map<std::string, MetricPoint> out;
  auto q = impl_->query(
      "SELECT n.name, l.step, l.value, l.wall FROM metrics_latest l "
      "JOIN metric_names n ON n.id = l.metric_id WHERE l.run = ?");
  q->bind(1, run);
  while (q->executeStep()) {
    out[q->getColumn(0).getString()] = {q->getColumn(1).getInt64(), real_or_nan(q->getColumn(2)),
                                        q->getColumn(3).getDouble()};
  }
  return out;
} catch (const SQLite::Exception& e) {
  impl_->fail(e);
}

void RunStore::truncate_metrics_after(int64_t run, int64_t step) try {
  Lock lk(impl_->mu);
  Impl::WriteTx tx(*impl_);
  impl_->require_run(run);
  // Only metrics whose latest step lies past the cut have points to drop; each is a range delete
  // on the primary key and a one-row lookup for its new latest value.
  std::vector<int64_t> affected;
  {
    auto q = impl_->query("SELECT metric_id FROM metrics_latest WHERE run = ? AND step > ?");
    SQLite::bind(*q, run, step);
    while (q->executeStep()) affected.push_back(q->getColumn(0).getInt64());
  }
  for (int64_t mid : affected) {
    {
      auto q = impl_->query("DELETE FROM metrics WHERE run = ? AND metric_id = ? AND step > ?");
      SQLite::bind(*q, run, mid, step);
      q->exec();
    }
    bool has_points = false;
    {
      auto q = impl_->query(
          "INSERT OR REPLACE INTO metrics_latest(run, metric_id, step, value, wall) "
          "SELECT run, metric_id, step, value, wall FROM metrics WHERE run = ? AND metric_id = ? "
          "ORDER BY step DESC LIMIT 1");
      SQLite::bind(*q, run, mid);
      has_points = q->exec() > 0;
    }
    if (!has_points) {
      auto q = impl_->query("DELETE FROM metrics_latest WHERE run = ? AND metric_id = ?");
      SQLite::bind(*q, run, mid);
      q->exec();
    }
  }
  tx.commit();
} catch (const SQLite::Exception& e) {
  impl_->fail(e);
}

// --- evaluation results

void RunStore::record_eval(int64_t run, const EvalRecord& rec) try {
  Lock lk(impl_->mu);
  const std::string extra =
      detail::checked_json(rec.extra_json, "extra of eval '" + rec.task + "'");
  Impl::WriteTx tx(*impl_);
  impl_->require_run(run);
  {
    auto q = impl_->query(
        "INSERT INTO evals(run, task, mode, x, y, metric, value, step, extra_json, wall) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(run, task, mode, x, y, metric) DO UPDATE SET value = excluded.value, "
        "step = excluded.step, extra_json = excluded.extra_json, wall = excluded.wall");
    SQLite::bind(*q, run, rec.task, rec.mode, rec.x, rec.y, rec.metric, rec.value, rec.step, extra,
                 now_seconds());
    q->exec();
  }
  tx.commit();
} catch (const SQLite::Exception& e) {
  impl_->fail(e);
}

std::vector<EvalRecord> RunStore::evals(int64_t run, const std::string& task) const try {
  Lock lk(impl_->mu);
  std::vector<EvalRecord> out;
  auto q = impl_->query(
      "SELECT task, mode, x, y, metric, value, step, extra_json FROM evals "
      "WHERE run = ?1 AND (?2 = '' OR task = ?2) ORDER BY task, mode, metric, y, x");
  SQLite::bind(*q, run, task);
  while (q->executeStep()) {
    EvalRecord r;
    r.task = q->getColumn(0).getString();
    r.mode = q->getColumn(1).getString();
    r.x = q->getColumn(2).getDouble();
    r.y = q->getColumn(3).getDouble();
    r.metric = q->getColumn(4).getString();
    r.value = real_or_nan(q->getColumn(5));
    r.step = q->getColumn(6).getInt64();
    r.extra_json = q->getColumn(7).getString();
    out.push_back(std::move(r));
  }
  return out;
} catch (const SQLite::Exception& e) {
  impl_->fail(e);
}

}  // namespace ctx::store
