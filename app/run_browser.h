// The run browser: every run in the store in a filterable, sortable table, studies as groups
// (a study picker and column), tags and notes edited in place, multi-select driving the plots.
#pragma once

#include <QWidget>

#include "widgets/data_cache.h"
#include "widgets/run_table_model.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QTableView;

namespace ctx::gui {

class RunBrowser : public QWidget {
  Q_OBJECT
 public:
  explicit RunBrowser(DataCache* cache, QWidget* parent = nullptr);

  QVector<qint64> selectedRuns() const;  // in table order
  void selectRuns(const QVector<qint64>& runs);
  void setFilterText(const QString& text);
  RunTableModel* model() const { return model_; }
  RunFilterProxy* proxy() const { return proxy_; }
  QTableView* view() const { return view_; }
  int visibleRows() const;

 signals:
  void selectionChanged(const QVector<qint64>& runs);
  void contextMenuRequested(const QPoint& global_pos);

 private:
  void refresh_studies();
  void update_count();
  DataCache* cache_;
  RunTableModel* model_;
  RunFilterProxy* proxy_;
  QLineEdit* filter_;
  QComboBox* study_;
  QTableView* view_;
  QLabel* count_;
};

}  // namespace ctx::gui
