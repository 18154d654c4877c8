// The queue panel under the plots: every job the window launched, its state, run, progress and
// latest message (or why it failed), with stop, clear and how many run at once.
#pragma once

#include <QWidget>

#include "app/run_queue.h"

class QSpinBox;
class QTableWidget;

namespace ctx::gui {

class QueuePanel : public QWidget {
  Q_OBJECT
 public:
  explicit QueuePanel(RunQueue* queue, QWidget* parent = nullptr);
  QTableWidget* table() const { return table_; }

 signals:
  void runActivated(qint64 run);  // double-click on a job: select its run

 private:
  void refresh();
  RunQueue* queue_;
  QTableWidget* table_;
  QSpinBox* parallel_;
};

}  // namespace ctx::gui
