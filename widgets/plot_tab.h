// Base of the plot tabs: each shows the runs selected in the run browser, redraws when the cache
// reports new data for them, and coalesces bursts of updates with one short single-shot timer.
// Hidden tabs only mark themselves dirty and redraw when shown.
#pragma once

#include <QTimer>
#include <QVector>
#include <QWidget>

#include "widgets/data_cache.h"
#include "widgets/plot_view.h"

namespace ctx::gui {

class PlotTab : public QWidget {
  Q_OBJECT
 public:
  explicit PlotTab(DataCache* cache, QWidget* parent = nullptr);

  void setSelection(const QVector<qint64>& runs);
  const QVector<qint64>& selection() const { return selection_; }
  // The plots of this tab, for export and screenshots.
  virtual QList<PlotView*> plots() const = 0;
  // Redraws at once (screenshots, benchmarks); normal updates go through the timer.
  void redrawNow();
  // Whether what is on screen still waits for data the tab has asked for (screenshots wait).
  virtual bool waitingForData() const { return false; }

  static constexpr int kCoalesceMs = 30;

 protected:
  virtual void redraw() = 0;
  void scheduleRedraw();
  void showEvent(QShowEvent* e) override;
  DataCache* cache() const { return cache_; }
  // The evaluation mode to show among `present`: `current` if present, else the first selected
  // run's configured eval.mode (one name or a list; its first), else the first present.
  QString preferredMode(const QStringList& present, const QString& current) const;

 private:
  void safe_redraw();
  DataCache* cache_;
  QVector<qint64> selection_;
  QTimer timer_;
  bool dirty_ = true;
};

}  // namespace ctx::gui
