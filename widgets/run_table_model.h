// The run browser's table: one row per run in the store (newest first), with status, method,
// base model (the Hugging Face model a run descends from), study, device ("cuda × 4" for a run on
// several GPUs), key results, tags and note; tags and notes are edited in place. Rows come from the
// DataCache; a RunFilterProxy on top filters (run_filter.h) and sorts by typed values.
#pragma once

#include <QAbstractTableModel>
#include <QSortFilterProxyModel>

#include "widgets/data_cache.h"
#include "widgets/run_filter.h"

namespace ctx::gui {

class RunTableModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column { Id, Name, Status, Method, BaseModel, Study, Device, Created, Step, Loss, PplTrain, PplLongest, Tags, Note, ColumnCount };
  static constexpr int SortRole = Qt::UserRole + 1;  // numbers as numbers, for sorting
  static constexpr int RunIdRole = Qt::UserRole + 2;

  explicit RunTableModel(DataCache* cache, QObject* parent = nullptr);

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QVariant headerData(int section, Qt::Orientation o, int role) const override;
  Qt::ItemFlags flags(const QModelIndex& index) const override;
  bool setData(const QModelIndex& index, const QVariant& value, int role) override;

  int64_t runAt(int row) const;
  int rowOf(int64_t run) const;
  DataCache* cache() const { return cache_; }

  // Key results shown in the list: perplexity at the run's training length and at its longest
  // evaluated length (nonoverlap preferred), NaN when absent.
  static double pplAt(const store::RunSummary& s, double length);
  static std::pair<double, double> pplLongest(const store::RunSummary& s);

 signals:
  void tagsEdited(qint64 run, const QStringList& tags);
  void noteEdited(qint64 run, const QString& note);

 private:
  void onRunsChanged(const QSet<qint64>& runs, bool structural);
  DataCache* cache_;
  std::vector<int64_t> rows_;
  std::unordered_map<int64_t, int> row_of_;
};

class RunFilterProxy : public QSortFilterProxyModel {
  Q_OBJECT
 public:
  explicit RunFilterProxy(QObject* parent = nullptr);
  void setFilterText(const QString& text);
  void setStudy(int64_t study);  // 0: every run
  int64_t study() const { return study_; }

 protected:
  bool filterAcceptsRow(int source_row, const QModelIndex& parent) const override;
  bool lessThan(const QModelIndex& a, const QModelIndex& b) const override;

 private:
  RunFilter filter_;
  int64_t study_ = 0;
};

QColor statusColor(store::RunStatus s);

}  // namespace ctx::gui
