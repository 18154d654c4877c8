// Follows a run store from a worker thread, PlotJuggler-style: polls incremental reads (runs
// changed since the last poll; metric points after the last step seen) and hands each batch to
// the GUI thread through queued signals. The GUI thread never touches SQLite for live data.
#pragma once

#include <QObject>
#include <QString>
#include <QTimer>
#include <QVector>

#include <map>
#include <memory>
#include <set>

#include "widgets/run_data.h"

namespace ctx::gui {

class StoreFollower : public QObject {
  Q_OBJECT
 public:
  explicit StoreFollower(QString path, int interval_ms = 200, QObject* parent = nullptr);
  ~StoreFollower() override;

  int intervalMs() const { return interval_ms_; }

 public slots:
  void start();  // call on the worker thread (queued): opens the store, first read, starts polling
  void stop();
  void setWatched(const QVector<qint64>& runs);
  void requestArtifact(qint64 run, const QString& name, qint64 step);
  void pollNow();

 signals:
  void summariesReady(ctx::gui::SummaryBatchPtr batch);
  void detailsReady(ctx::gui::DetailBatchPtr batch);
  void artifactReady(qint64 run, ctx::gui::ArtifactPtr artifact);
  void failed(const QString& message);  // one line naming the file; following stops

 private:
  struct Watch {
    bool loaded = false;
    int64_t pid = -1;  // the owning process when last read: a resume brings a new one
    std::map<std::string, int64_t> last_step;
    std::map<std::string, std::vector<int64_t>> artifacts;
  };
  void poll();
  DetailDelta read_detail(int64_t run, Watch& w, bool full);

  QString path_;
  int interval_ms_;
  std::unique_ptr<store::RunStore> db_;
  QTimer* timer_ = nullptr;
  bool first_ = true;
  double last_poll_ = 0;
  double last_reconcile_ = 0;
  int64_t known_count_ = -1;
  std::map<int64_t, Watch> watched_;
};

// Starts a follower for `path` on its own thread; the thread stops and the follower is deleted
// when `owner` is destroyed.
StoreFollower* startFollower(const QString& path, QObject* owner, int interval_ms = 200);

}  // namespace ctx::gui
