// CompareTab: config diff and results tables; see compare_tab.h.
#include "widgets/compare_tab.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QPushButton>
#include <QSplitter>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <set>

#include "widgets/config_diff.h"
#include "widgets/csv_export.h"
#include "widgets/task_data.h"

namespace ctx::gui {
namespace {

QTableWidget* makeTable() {
  auto* t = new QTableWidget;
  t->setEditTriggers(QAbstractItemView::NoEditTriggers);
  t->setSelectionMode(QAbstractItemView::ContiguousSelection);
  t->setAlternatingRowColors(true);
  t->setWordWrap(false);
  t->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
  t->horizontalHeader()->setDefaultSectionSize(150);
  t->horizontalHeader()->setMinimumSectionSize(110);
  t->verticalHeader()->setDefaultSectionSize(22);
  t->verticalHeader()->setDefaultAlignment(Qt::AlignLeft | Qt::AlignVCenter);
  return t;
}

QWidget* section(QLabel* title, QTableWidget* table, QPushButton* button) {
  auto* w = new QWidget;
  auto* v = new QVBoxLayout(w);
  v->setContentsMargins(0, 0, 0, 0);
  auto* h = new QHBoxLayout;
  QFont f = title->font();
  f.setBold(true);
  title->setFont(f);
  h->addWidget(title, 1);
  h->addWidget(button);
  v->addLayout(h);
  v->addWidget(table, 1);
  return w;
}

void setRunHeaders(QTableWidget* t, DataCache* cache, const std::vector<int64_t>& runs) {
  t->setColumnCount(static_cast<int>(runs.size()));
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto* s = cache->summary(runs[i]);
    auto* h = new QTableWidgetItem(runLabel(runs[i], s ? s->run.name : std::string()));
    h->setForeground(runColor(static_cast<int>(i)));
    QFont f = h->font();
    f.setBold(true);
    h->setFont(f);
    t->setHorizontalHeaderItem(static_cast<int>(i), h);
  }
}

QString number(double v, int decimals) {
  if (!std::isfinite(v)) return QString::number(v);
  if (std::fabs(v) >= 1e5) return QString::number(v, 'g', 5);
  return QString::number(v, 'f', decimals);
}

}  // namespace

CompareTab::CompareTab(DataCache* cache, QWidget* parent) : PlotTab(cache, parent) {
  diff_ = makeTable();
  results_ = makeTable();
  diff_title_ = new QLabel;
  results_title_ = new QLabel("Results");
  auto* export_diff = new QPushButton("Export CSV…");
  auto* export_results = new QPushButton("Export CSV…");
  connect(export_diff, &QPushButton::clicked, this, [this] { saveCsvDialog(this, "config-diff.csv", [this] { return diffCsv(); }); });
  connect(export_results, &QPushButton::clicked, this,
          [this] { saveCsvDialog(this, "compare-results.csv", [this] { return resultsCsv(); }); });
  auto* tables = new QSplitter(Qt::Horizontal);
  tables->addWidget(section(diff_title_, diff_, export_diff));
  tables->addWidget(section(results_title_, results_, export_results));
  plots_ = new ComparePlots;
  plots_->setModeChooser([this](const QStringList& present, const QString& current) { return preferredMode(present, current); });
  auto* split = new QSplitter(Qt::Vertical);
  split->addWidget(tables);
  split->addWidget(plots_);
  split->setStretchFactor(0, 2);
  split->setStretchFactor(1, 3);
  auto* v = new QVBoxLayout(this);
  v->addWidget(split);
}

QString CompareTab::diffCsv() const { return tableToCsv(*diff_, "key"); }
QString CompareTab::resultsCsv() const { return tableToCsv(*results_, "result"); }

void CompareTab::redraw() {
  std::vector<int64_t> runs;
  for (qint64 r : selection())
    if (cache()->summary(r)) runs.push_back(r);
  fillDiff(runs);
  auto rows = fillResults(runs);
  std::vector<ComparePlots::RunData> data;
  for (size_t i = 0; i < runs.size(); ++i) {
    ComparePlots::RunData d;
    d.run = runs[i];
    d.label = runLabel(runs[i], cache()->summary(runs[i])->run.name);
    d.color = runColor(static_cast<int>(i));
    if (const auto* det = cache()->detail(runs[i])) d.evals = det->evals;
    data.push_back(std::move(d));
  }
  plots_->setData(std::move(data), std::move(rows));
}

void CompareTab::fillDiff(const std::vector<int64_t>& runs) {
  std::vector<nlohmann::json> configs;
  for (int64_t r : runs) configs.push_back(cache()->config(r));
  const auto rows = diffConfigs(configs);
  diff_->clear();
  setRunHeaders(diff_, cache(), runs);
  diff_->setRowCount(static_cast<int>(rows.size()));
  for (size_t r = 0; r < rows.size(); ++r) {
    diff_->setVerticalHeaderItem(static_cast<int>(r), new QTableWidgetItem(QString::fromStdString(rows[r].key)));
    for (size_t c = 0; c < rows[r].values.size(); ++c) {
      auto* it = new QTableWidgetItem(QString::fromStdString(rows[r].values[c]));
      it->setToolTip(it->text());
      if (rows[r].values[c] == kAbsent) it->setForeground(QColor(150, 150, 150));
      diff_->setItem(static_cast<int>(r), static_cast<int>(c), it);
    }
  }
  diff_->resizeColumnsToContents();
  if (runs.size() < 2) {
    diff_title_->setText("Configuration differences — select two or more runs to compare");
  } else if (rows.empty()) {
    diff_title_->setText(QString("Configuration differences — the %1 configs are identical").arg(runs.size()));
  } else {
    diff_title_->setText(QString("Configuration differences — %1 key%2 differ (equal keys hidden)")
                             .arg(rows.size())
                             .arg(rows.size() == 1 ? "" : "s"));
  }
}

std::vector<ComparePlots::ResultRow> CompareTab::fillResults(const std::vector<int64_t>& runs) {
  results_->clear();
  setRunHeaders(results_, cache(), runs);
  std::set<std::string> modes;
  std::set<std::pair<std::string, double>> ppl_keys;
  for (int64_t r : runs)
    for (const auto& p : cache()->summary(r)->ppl) {
      modes.insert(p.mode);
      ppl_keys.insert({p.mode, p.length});
    }
  enum class Best { None, Lowest, Highest };
  struct Row {
    QString label;
    std::vector<QString> text;
    std::vector<double> value;  // NaN where there is none: the bar chart's values, the highlight's
    Best best = Best::None;
  };
  std::vector<Row> rows;
  rows.reserve(5 + ppl_keys.size());  // row() hands out references that must survive later rows
  const size_t n = runs.size();
  auto row = [&](const QString& label, Best best) -> Row& {
    rows.push_back(Row{label, std::vector<QString>(n, QString::fromStdString(kAbsent)), std::vector<double>(n, NAN), best});
    return rows.back();
  };
  {
    auto& status = row("status", Best::None);
    auto& method = row("method", Best::None);
    auto& steps = row("steps", Best::None);
    auto& loss = row("final loss", Best::Lowest);
    for (size_t i = 0; i < n; ++i) {
      const auto& s = *cache()->summary(runs[i]);
      status.text[i] = QString::fromStdString(store::to_string(s.run.status));
      if (!s.run.method.empty()) method.text[i] = QString::fromStdString(s.run.method);
      auto it = s.latest.find("loss");
      if (it != s.latest.end()) {
        loss.text[i] = number(it->second.value, 4);
        loss.value[i] = it->second.value;
        steps.text[i] = QString::number(it->second.step);
        steps.value[i] = static_cast<double>(it->second.step);
      }
    }
  }
  // RULER's effective length, where a run has one (longer is better).
  std::vector<EffectiveLength> effective(n);
  bool any_effective = false;
  for (size_t i = 0; i < n; ++i)
    if (const auto* d = cache()->detail(runs[i])) {
      effective[i] = effectiveLength(d->evals);
      any_effective = any_effective || effective[i].present;
    }
  if (any_effective) {
    auto& r = row("effective length (RULER)", Best::Highest);
    for (size_t i = 0; i < n; ++i)
      if (effective[i].present) {
        r.text[i] = effective[i].length > 0 ? QString::number(effective[i].length, 'f', 0) : QString("none (0)");
        r.value[i] = effective[i].length;
      }
  }
  for (const auto& [mode, length] : ppl_keys) {
    const QString label = QString("ppl @ %1").arg(length) + (modes.size() > 1 ? QString(" (%1)").arg(QString::fromStdString(mode)) : QString());
    auto& r = row(label, Best::Lowest);
    for (size_t i = 0; i < n; ++i)
      for (const auto& p : cache()->summary(runs[i])->ppl)
        if (p.mode == mode && p.length == length) {
          r.text[i] = number(p.ppl, 2);
          r.value[i] = p.ppl;
        }
  }
  results_->setRowCount(static_cast<int>(rows.size()));
  for (size_t r = 0; r < rows.size(); ++r) {
    results_->setVerticalHeaderItem(static_cast<int>(r), new QTableWidgetItem(rows[r].label));
    const Best want = rows[r].best;
    int best = -1, count = 0;
    for (size_t i = 0; i < n; ++i) {
      const double v = rows[r].value[i];
      if (std::isnan(v)) continue;
      ++count;
      const double b = best < 0 ? v : rows[r].value[static_cast<size_t>(best)];
      if (best < 0 || (want == Best::Lowest ? v < b : v > b)) best = static_cast<int>(i);
    }
    for (size_t i = 0; i < n; ++i) {
      auto* it = new QTableWidgetItem(rows[r].text[i]);
      const bool numeric = !std::isnan(rows[r].value[i]);
      if (numeric) it->setData(Qt::UserRole, rows[r].value[i]);
      it->setTextAlignment((numeric ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignVCenter);
      if (!numeric && rows[r].text[i] == QString::fromStdString(kAbsent)) it->setForeground(QColor(150, 150, 150));
      if (want != Best::None && count >= 2 && numeric && rows[r].value[i] == rows[r].value[static_cast<size_t>(best)]) {
        QFont f = it->font();
        f.setBold(true);
        it->setFont(f);
        it->setBackground(QColor(204, 236, 204));
        it->setToolTip(want == Best::Lowest ? "best (lowest) of the selected runs" : "best (longest) of the selected runs");
      }
      results_->setItem(static_cast<int>(r), static_cast<int>(i), it);
    }
  }
  results_->resizeColumnsToContents();
  results_title_->setText(runs.empty() ? QString("Results — select runs to compare")
                                       : QString("Results — the best of each row highlighted"));
  std::vector<ComparePlots::ResultRow> numeric;
  for (const auto& r : rows) {
    if (std::all_of(r.value.begin(), r.value.end(), [](double v) { return std::isnan(v); })) continue;
    numeric.push_back({r.label, r.value});
  }
  return numeric;
}

}  // namespace ctx::gui
