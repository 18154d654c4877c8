// RunTableModel and RunFilterProxy; see run_table_model.h.
#include "widgets/run_table_model.h"

#include <QColor>
#include <QDateTime>
#include <QFont>

#include <cmath>
#include <limits>

namespace ctx::gui {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

QString fmt(double v, int prec = 4) {
  return std::isnan(v) ? QString() : QString::number(v, 'g', prec);
}

QString join(const std::vector<std::string>& v) {
  QStringList l;
  for (const auto& s : v) l << QString::fromStdString(s);
  return l.join(", ");
}

double latest(const store::RunSummary& s, const char* name) {
  auto it = s.latest.find(name);
  return it == s.latest.end() ? kNaN : it->second.value;
}

}  // namespace

QColor statusColor(store::RunStatus s) {
  switch (s) {
    case store::RunStatus::Queued: return QColor(120, 120, 120);
    case store::RunStatus::Running: return QColor(31, 119, 180);
    case store::RunStatus::Finished: return QColor(44, 140, 44);
    case store::RunStatus::Failed: return QColor(200, 30, 30);
    case store::RunStatus::Interrupted: return QColor(214, 120, 0);
    case store::RunStatus::Diverged: return QColor(160, 40, 160);
  }
  return {};
}

RunTableModel::RunTableModel(DataCache* cache, QObject* parent) : QAbstractTableModel(parent), cache_(cache) {
  connect(cache_, &DataCache::runsChanged, this, &RunTableModel::onRunsChanged);
  onRunsChanged({}, true);
}

void RunTableModel::onRunsChanged(const QSet<qint64>& runs, bool structural) {
  if (structural) {
    // Rows are inserted and removed, never reset, so a live run appearing keeps the selection.
    for (int i = static_cast<int>(rows_.size()) - 1; i >= 0; --i) {
      if (cache_->summary(rows_[static_cast<size_t>(i)])) continue;
      beginRemoveRows({}, i, i);
      rows_.erase(rows_.begin() + i);
      endRemoveRows();
    }
    const auto& next = cache_->runIds();  // both newest first
    size_t i = 0, k = 0;
    while (k < next.size()) {
      if (i < rows_.size() && rows_[i] == next[k]) {
        ++i;
        ++k;
        continue;
      }
      size_t k2 = k;
      while (k2 < next.size() && (i >= rows_.size() || rows_[i] != next[k2])) ++k2;
      const int n = static_cast<int>(k2 - k);
      beginInsertRows({}, static_cast<int>(i), static_cast<int>(i) + n - 1);
      rows_.insert(rows_.begin() + static_cast<long>(i), next.begin() + static_cast<long>(k), next.begin() + static_cast<long>(k2));
      endInsertRows();
      i += static_cast<size_t>(n);
      k = k2;
    }
    row_of_.clear();
    for (size_t r = 0; r < rows_.size(); ++r) row_of_[rows_[r]] = static_cast<int>(r);
  }
  int lo = INT32_MAX, hi = -1;
  for (qint64 r : runs) {
    auto it = row_of_.find(r);
    if (it == row_of_.end()) continue;
    lo = std::min(lo, it->second);
    hi = std::max(hi, it->second);
  }
  if (hi >= 0) emit dataChanged(index(lo, 0), index(hi, ColumnCount - 1));
}

int RunTableModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int RunTableModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : ColumnCount;
}

int64_t RunTableModel::runAt(int row) const {
  return row >= 0 && row < static_cast<int>(rows_.size()) ? rows_[static_cast<size_t>(row)] : 0;
}

int RunTableModel::rowOf(int64_t run) const {
  auto it = row_of_.find(run);
  return it == row_of_.end() ? -1 : it->second;
}

double RunTableModel::pplAt(const store::RunSummary& s, double length) {
  double v = kNaN;
  for (const auto& p : s.ppl)
    if (p.length == length && (std::isnan(v) || p.mode == "nonoverlap")) v = p.ppl;
  return v;
}

std::pair<double, double> RunTableModel::pplLongest(const store::RunSummary& s) {
  double len = -1;
  for (const auto& p : s.ppl) len = std::max(len, p.length);
  return len < 0 ? std::pair{kNaN, kNaN} : std::pair{len, pplAt(s, len)};
}

QVariant RunTableModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid()) return {};
  const int64_t id = runAt(index.row());
  const auto* s = cache_->summary(id);
  if (!s) return {};
  const auto& r = s->run;
  if (role == RunIdRole) return QVariant::fromValue<qint64>(id);
  const int col = index.column();
  auto train_len = [&]() -> double {
    const auto* v = configAt(cache_->config(id), "train.seq_len");
    return v && v->is_number() ? v->get<double>() : kNaN;
  };
  if (role == SortRole) {
    switch (col) {
      case Id: return QVariant::fromValue<qint64>(id);
      case Created: return r.created;
      case Step: {
        auto it = s->latest.find("loss");
        return it == s->latest.end() ? -1.0 : static_cast<double>(it->second.step);
      }
      case Loss: return latest(*s, "loss");
      case PplTrain: return pplAt(*s, train_len());
      case PplLongest: return pplLongest(*s).second;
      case Status: return static_cast<int>(r.status);
      default: break;
    }
    return data(index, Qt::DisplayRole);
  }
  if (role == Qt::DisplayRole || role == Qt::EditRole) {
    switch (col) {
      case Id: return QVariant::fromValue<qint64>(id);
      case Name: return QString::fromStdString(r.name);
      case Status: return QString::fromStdString(store::to_string(r.status));
      case Method: return QString::fromStdString(r.method);
      case BaseModel: return QString::fromStdString(cache_->baseModel(id));
      case Study: {
        const auto* st = r.study ? cache_->study(*r.study) : nullptr;
        return st ? QString::fromStdString(st->name) : QString();
      }
      case Device: return QString::fromStdString(r.device);
      case Created: return QDateTime::fromSecsSinceEpoch(static_cast<qint64>(r.created)).toString("yyyy-MM-dd HH:mm");
      case Step: {
        auto it = s->latest.find("loss");
        if (it == s->latest.end()) return QString();
        const auto* steps = configAt(cache_->config(id), "train.steps");
        return steps && steps->is_number() && r.status == store::RunStatus::Running
                   ? QString("%1 / %2").arg(it->second.step).arg(steps->get<int64_t>())
                   : QString::number(it->second.step);
      }
      case Loss: return fmt(latest(*s, "loss"));
      case PplTrain: return fmt(pplAt(*s, train_len()));
      case PplLongest: {
        auto [len, v] = pplLongest(*s);
        return std::isnan(v) ? QString() : QString("%1 @%2").arg(fmt(v)).arg(len);
      }
      case Tags: return join(s->tags);
      case Note: return QString::fromStdString(s->note).section('\n', 0, 0);
    }
  }
  if (role == Qt::ToolTipRole) {
    if (col == Status) {
      // The device the run trains on ("cuda × 4" across GPUs), and why it failed.
      const QString on = r.device.empty() ? QString() : "on " + QString::fromStdString(r.device);
      const QString error = QString::fromStdString(r.error);
      return on.isEmpty() || error.isEmpty() ? on + error : on + "\n" + error;
    }
    if (col == Note) return QString::fromStdString(s->note);
    if (col == Method || col == Name) return QString::fromStdString(r.method);
    if (col == Tags) return "Comma-separated; double-click to edit";
  }
  if (role == Qt::ForegroundRole && col == Status) return statusColor(r.status);
  if (role == Qt::FontRole && col == Status) {
    QFont f;
    f.setBold(r.status == store::RunStatus::Running);
    return f;
  }
  if (role == Qt::TextAlignmentRole && (col == Id || col == Step || col == Loss || col == PplTrain || col == PplLongest))
    return QVariant(Qt::AlignRight | Qt::AlignVCenter);
  return {};
}

QVariant RunTableModel::headerData(int section, Qt::Orientation o, int role) const {
  if (o != Qt::Horizontal) return {};
  static const char* names[] = {"ID",   "Name",    "Status", "Method",      "Base model",    "Study", "Device",
                                "Created", "Step", "Loss", "ppl @ train", "ppl @ longest", "Tags",  "Note"};
  static const char* tips[] = {"Run id in the store", "", "queued, running, finished, failed, interrupted, diverged",
                               "Position scheme, scaling and sampler",
                               "Hugging Face model the run descends from (empty for CtxLab's own models); filter with base:NAME",
                               "Study the run was launched in",
                               "What the run trains on: cpu (threads), cuda:N, or cuda × N for N GPUs through torchrun", "",
                               "Latest logged step", "Latest training loss",
                               "Perplexity at the run's training length (train.seq_len)",
                               "Perplexity at the longest length evaluated", "Tags (editable)", "Note (editable)"};
  if (role == Qt::DisplayRole) return names[section];
  if (role == Qt::ToolTipRole && *tips[section]) return tips[section];
  return {};
}

Qt::ItemFlags RunTableModel::flags(const QModelIndex& index) const {
  auto f = QAbstractTableModel::flags(index);
  if (index.column() == Tags || index.column() == Note) f |= Qt::ItemIsEditable;
  return f;
}

bool RunTableModel::setData(const QModelIndex& index, const QVariant& value, int role) {
  if (role != Qt::EditRole || !index.isValid()) return false;
  const int64_t id = runAt(index.row());
  if (index.column() == Tags) {
    QStringList tags;
    for (const auto& t : value.toString().split(',', Qt::SkipEmptyParts))
      if (!t.trimmed().isEmpty()) tags << t.trimmed();
    tags.removeDuplicates();
    emit tagsEdited(id, tags);
    return true;
  }
  if (index.column() == Note) {
    emit noteEdited(id, value.toString());
    return true;
  }
  return false;
}

RunFilterProxy::RunFilterProxy(QObject* parent) : QSortFilterProxyModel(parent) {
  setSortRole(RunTableModel::SortRole);
  setDynamicSortFilter(true);
}

void RunFilterProxy::setFilterText(const QString& text) {
  filter_ = parseRunFilter(text);
  invalidateFilter();
}

void RunFilterProxy::setStudy(int64_t study) {
  study_ = study;
  invalidateFilter();
}

bool RunFilterProxy::filterAcceptsRow(int source_row, const QModelIndex&) const {
  auto* m = static_cast<const RunTableModel*>(sourceModel());
  const int64_t id = m->runAt(source_row);
  const auto* s = m->cache()->summary(id);
  if (!s) return false;
  if (study_ != 0 && s->run.study.value_or(0) != study_) return false;
  if (filter_.empty()) return true;
  const auto* st = s->run.study ? m->cache()->study(*s->run.study) : nullptr;
  return runMatches(filter_, *s, m->cache()->config(id), st ? st->name : std::string(), m->cache()->baseModel(id));
}

bool RunFilterProxy::lessThan(const QModelIndex& a, const QModelIndex& b) const {
  const QVariant va = a.data(RunTableModel::SortRole), vb = b.data(RunTableModel::SortRole);
  if (va.typeId() == QMetaType::Double || vb.typeId() == QMetaType::Double) {
    const double x = va.toDouble(), y = vb.toDouble();
    if (std::isnan(x) != std::isnan(y)) return std::isnan(y);  // blanks last in ascending order
    return x < y;
  }
  if (va.typeId() == QMetaType::LongLong || va.typeId() == QMetaType::Int) return va.toLongLong() < vb.toLongLong();
  return QString::localeAwareCompare(va.toString(), vb.toString()) < 0;
}

}  // namespace ctx::gui
