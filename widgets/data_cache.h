// The window's copy of the store, kept on the GUI thread: run summaries for the run list and
// details of the watched (selected) runs for the plots. Updated only from follower batches, so
// every read here is a memory lookup; views listen to its signals and redraw on a short timer.
#pragma once

#include <QObject>
#include <QSet>
#include <QVector>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "widgets/run_data.h"

namespace ctx::gui {

class DataCache : public QObject {
  Q_OBJECT
 public:
  explicit DataCache(QObject* parent = nullptr);

  const std::vector<int64_t>& runIds() const { return order_; }  // newest first
  const store::RunSummary* summary(int64_t run) const;
  const RunDetail* detail(int64_t run) const;
  const std::vector<store::Study>& studies() const { return studies_; }
  const store::Study* study(int64_t id) const;
  // The run's config (resolved keys, `_given`/`_resolved` bookkeeping removed), parsed once.
  const nlohmann::json& config(int64_t run) const;
  // The Hugging Face model the run descends from (`_resolved.base_model`: the init.hf folder's
  // name, inherited through init.run, an imported run's own name); empty for CtxLab's own models.
  const std::string& baseModel(int64_t run) const;

  QVector<qint64> watched() const { return watched_; }
  void setWatched(const QVector<qint64>& runs);
  // Asks the follower for an artifact blob not fetched eagerly (attention maps); detailsChanged
  // fires for the run when it arrives.
  void requestArtifact(qint64 run, const std::string& name, int64_t step);

  // Local edits made through the window's own store connection, shown before the follower's
  // next read confirms them.
  void patchSummary(const store::RunSummary& s);
  void removeRun(int64_t run);

 public slots:
  void applySummaries(ctx::gui::SummaryBatchPtr batch);
  void applyDetails(ctx::gui::DetailBatchPtr batch);
  void applyArtifact(qint64 run, ctx::gui::ArtifactPtr artifact);

 signals:
  // `structural`: runs were added or removed (lists rebuild) rather than updated in place.
  void runsChanged(const QSet<qint64>& runs, bool structural);
  void detailsChanged(const QSet<qint64>& runs);
  void watchedChanged(const QVector<qint64>& runs);
  void artifactWanted(qint64 run, const QString& name, qint64 step);

 private:
  void rebuild_order();
  std::unordered_map<int64_t, store::RunSummary> runs_;
  std::vector<int64_t> order_;
  std::vector<store::Study> studies_;
  std::map<int64_t, RunDetail> details_;
  struct ParsedConfig {
    nlohmann::json config;
    std::string base_model;
  };
  const ParsedConfig& parsed(int64_t run) const;
  mutable std::unordered_map<int64_t, ParsedConfig> configs_;
  QVector<qint64> watched_;
  std::set<std::tuple<int64_t, std::string, int64_t>> pending_;
};

}  // namespace ctx::gui
