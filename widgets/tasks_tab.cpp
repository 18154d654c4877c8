// TasksTab: task × length table, heatmaps per run, effective lengths; see tasks_tab.h.
#include "widgets/tasks_tab.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QPushButton>
#include <QSplitter>
#include <QToolTip>
#include <QVBoxLayout>

#include <nlohmann/json.hpp>
#include <set>

#include "widgets/csv_export.h"
#include "widgets/plot_decor.h"

namespace ctx::gui {
namespace {

const QString kAverage = "average";

QString nameOf(DataCache* cache, qint64 run) {
  const auto* s = cache->summary(run);
  return runLabel(run, s ? s->run.name : std::string());
}

QString percent(double v, int decimals = 1) { return QString::number(100 * v, 'f', decimals) + "%"; }
QString num(double v) { return QString::number(v, 'g', 7); }

QColor scoreColor(double v) {
  static QCPColorGradient g = viridisGradient();  // color() caches its lookup table: not const
  return QColor::fromRgb(g.color(std::clamp(v, 0.0, 1.0), QCPRange(0, 1)));
}
// Viridis is light at the top: dark text there, white below.
QColor textOn(double v) { return v > 0.62 ? QColor(20, 20, 20) : QColor(255, 255, 255); }

QSharedPointer<QCPAxisTickerText> textTicker(const QStringList& labels) {
  QSharedPointer<QCPAxisTickerText> t(new QCPAxisTickerText);
  for (int k = 0; k < labels.size(); ++k) t->addTick(k, labels[k]);
  return t;
}

// The examples stored with a cell's record ("expected" → "got"), at most `n`, for hover text.
QStringList examplesOf(const RunDetail* d, const std::string& task, double length, double depth, int n) {
  QStringList out;
  if (!d) return out;
  for (const auto& e : d->evals) {
    if (e.task != "ruler/" + task || e.x != length || (depth >= 0 && std::abs(e.y * 100 - depth) > 1e-9)) continue;
    const auto j = nlohmann::json::parse(e.extra_json, nullptr, false);
    if (!j.is_object() || !j.contains("examples") || !j["examples"].is_array()) continue;
    for (const auto& x : j["examples"]) {
      if (out.size() >= n || !x.is_object()) break;
      auto text = [&](const char* k) {
        const auto& v = x.value(k, nlohmann::json());
        QString s = QString::fromStdString(v.is_string() ? v.get<std::string>() : v.dump()).simplified();
        return s.size() > 40 ? s.left(39) + "…" : s;
      };
      out << QString("expected “%1”, got “%2”").arg(text("expected"), text("got"));
    }
  }
  return out;
}

}  // namespace

QString TasksTab::fillHint() {
  return "Run `ctxlab-cli ruler --run N` (or request \"ruler\" in a config's eval section)\n"
         "to score the runs on RULER's tasks at several lengths.";
}

TasksTab::TasksTab(DataCache* cache, QWidget* parent) : PlotTab(cache, parent) {
  auto* bar = new QHBoxLayout;
  bar->addWidget(new QLabel("Heatmap"));
  view_box_ = new QComboBox;
  view_box_->addItem("task × length", static_cast<int>(View::Tasks));
  view_box_->addItem("depth × length of a needle task", static_cast<int>(View::Depth));
  bar->addWidget(view_box_);
  task_box_ = new QComboBox;
  task_box_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  task_box_->setToolTip("The needle task whose depth × length grid is shown");
  bar->addWidget(task_box_);
  bar->addStretch(1);
  auto* exp = new QPushButton("Export CSV…");
  exp->setToolTip("The task × length table of the selected runs, scores 0..1");
  bar->addWidget(exp);
  connect(exp, &QPushButton::clicked, this, [this] { saveCsvDialog(this, "tasks.csv", [this] { return csv(); }); });
  connect(view_box_, &QComboBox::activated, this, [this] { setView(static_cast<View>(view_box_->currentData().toInt())); });
  connect(task_box_, &QComboBox::activated, this, [this] { setDepthTask(task_box_->currentText()); });

  table_ = new QTableWidget;
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setSelectionMode(QAbstractItemView::ContiguousSelection);
  table_->setWordWrap(false);
  table_->horizontalHeader()->setDefaultSectionSize(74);
  table_->horizontalHeader()->setMinimumSectionSize(60);
  // The lengths share the width: a run's title row (spanning them) is read in full.
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
  table_->verticalHeader()->setDefaultSectionSize(21);
  table_->verticalHeader()->setDefaultAlignment(Qt::AlignLeft | Qt::AlignVCenter);

  heat_ = new PlotView;
  heat_->setInteractions({});  // cells are read by hovering
  heat_->setMinimumHeight(240);
  row_ = new HeatmapRow(heat_, "score (%)");
  row_->scale()->setDataRange(QCPRange(0, 100));
  connect(heat_, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) { hover(e); });
  hover_ = new QLabel;
  hover_->setStyleSheet("color: #444");
  hover_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);

  auto* lower = new QWidget;
  auto* lv = new QVBoxLayout(lower);
  lv->setContentsMargins(0, 0, 0, 0);
  lv->addWidget(heat_, 1);
  lv->addWidget(hover_);
  auto* split = new QSplitter(Qt::Vertical);
  split->addWidget(table_);
  split->addWidget(lower);
  split->setStretchFactor(0, 2);
  split->setStretchFactor(1, 3);
  auto* v = new QVBoxLayout(this);
  v->addLayout(bar);
  v->addWidget(split, 1);
}

void TasksTab::setView(View v) {
  view_ = v;
  view_box_->setCurrentIndex(view_box_->findData(static_cast<int>(v)));
  scheduleRedraw();
}

void TasksTab::setDepthTask(const QString& task) {
  depth_task_ = task;
  if (task_box_->findText(task) >= 0) task_box_->setCurrentText(task);
  scheduleRedraw();
}

QTableWidgetItem* TasksTab::cell(qint64 run, const QString& task, double length) const {
  auto it = rows_.find({run, task});
  const auto col = std::find(table_lengths_.begin(), table_lengths_.end(), length);
  if (it == rows_.end() || task.isEmpty() || col == table_lengths_.end()) return nullptr;
  return table_->item(it->second, static_cast<int>(col - table_lengths_.begin()));
}

QString TasksTab::runTitle(qint64 run) const {
  auto it = rows_.find({run, QString()});
  return it == rows_.end() || !table_->item(it->second, 0) ? QString() : table_->item(it->second, 0)->text();
}

QCPColorMap* TasksTab::heatMap(qint64 run) const {
  for (size_t k = 0; k < panels_.size() && static_cast<int>(k) < row_->panelCount(); ++k)
    if (panels_[k].run == run) return row_->map(static_cast<int>(k));
  return nullptr;
}

double TasksTab::effectiveLineX(qint64 run) const {
  for (const auto& p : panels_)
    if (p.run == run) return p.line_x;
  return NAN;
}

void TasksTab::redraw() {
  all_.clear();
  for (qint64 r : selection()) {
    const auto* d = cache()->detail(r);
    if (!cache()->summary(r) || !d) continue;
    Panel p;
    p.run = r;
    p.table = taskTable(d->evals);
    p.effective = effectiveLength(d->evals);
    if (p.table.empty() && !p.effective.present) continue;
    if (!depth_task_.isEmpty()) p.depth = taskDepthGrid(d->evals, depth_task_.toStdString());
    all_.push_back(std::move(p));
  }
  syncDepthTasks(all_);
  fillTable(all_);
  drawHeatmaps();
}

void TasksTab::syncDepthTasks(const std::vector<Panel>& runs) {
  std::vector<std::string> tasks;
  std::set<std::string> seen;
  for (const auto& p : runs)
    if (const auto* d = cache()->detail(p.run))
      for (const auto& t : depthTasks(d->evals))
        if (seen.insert(t).second) tasks.push_back(t);
  sortRulerTasks(tasks);
  QStringList items;
  for (const auto& t : tasks) items << QString::fromStdString(t);
  if (!items.contains(depth_task_) && !items.isEmpty()) {
    depth_task_ = items.front();
    for (auto& p : all_)
      if (const auto* d = cache()->detail(p.run)) p.depth = taskDepthGrid(d->evals, depth_task_.toStdString());
  }
  QSignalBlocker block(task_box_);
  QStringList have;
  for (int i = 0; i < task_box_->count(); ++i) have << task_box_->itemText(i);
  if (have != items) {
    task_box_->clear();
    task_box_->addItems(items);
  }
  task_box_->setCurrentText(depth_task_);
  task_box_->setVisible(view_ == View::Depth);
  task_box_->setEnabled(!items.isEmpty());
}

void TasksTab::fillTable(const std::vector<Panel>& runs) {
  std::set<double> ls;
  for (const auto& p : runs) ls.insert(p.table.lengths.begin(), p.table.lengths.end());
  table_lengths_.assign(ls.begin(), ls.end());
  rows_.clear();
  table_->clear();
  table_->clearSpans();
  const int cols = std::max<int>(1, static_cast<int>(table_lengths_.size()));
  table_->setColumnCount(cols);
  for (size_t c = 0; c < table_lengths_.size(); ++c)
    table_->setHorizontalHeaderItem(static_cast<int>(c), new QTableWidgetItem(num(table_lengths_[c])));
  int rows = 0;
  for (const auto& p : runs) rows += 2 + static_cast<int>(p.table.tasks.size());
  table_->setRowCount(rows);
  int r = 0;
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& p = runs[i];
    // The title row: the run, its effective length, and the threshold it was judged by.
    QString title = nameOf(cache(), p.run);
    if (p.effective.present) title += " — " + QString::fromStdString(p.effective.text());
    if (p.table.empty()) title += " — no task scores stored";
    auto* head = new QTableWidgetItem(title);
    QFont bold = head->font();
    bold.setBold(true);
    head->setFont(bold);
    head->setForeground(runColor(static_cast<int>(i)));
    head->setBackground(QColor(246, 246, 246));
    table_->setItem(r, 0, head);
    table_->setSpan(r, 0, 1, cols);
    table_->setVerticalHeaderItem(r, new QTableWidgetItem(QString()));
    rows_[{p.run, QString()}] = r++;
    auto fill = [&](const QString& task, const std::vector<double>& scores, const std::vector<int>* samples) {
      auto* vh = new QTableWidgetItem(task);
      if (task == kAverage) vh->setFont(bold);
      table_->setVerticalHeaderItem(r, vh);
      for (size_t l = 0; l < p.table.lengths.size(); ++l) {
        const int c = static_cast<int>(std::find(table_lengths_.begin(), table_lengths_.end(), p.table.lengths[l]) -
                                       table_lengths_.begin());
        const double v = scores[l];
        auto* it = new QTableWidgetItem(std::isnan(v) ? QString("—") : percent(v));
        it->setData(Qt::UserRole, v);
        it->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
        if (std::isnan(v)) {
          it->setForeground(QColor(150, 150, 150));
        } else {
          it->setBackground(scoreColor(v));
          it->setForeground(textOn(v));
          QString tip = QString("%1 · %2 · length %3 · %4").arg(nameOf(cache(), p.run), task, num(p.table.lengths[l]), percent(v, 2));
          if (samples && (*samples)[l] > 0) tip += QString(" (%1 samples)").arg((*samples)[l]);
          it->setToolTip(tip);
        }
        if (task == kAverage) it->setFont(bold);
        if (p.effective.present && p.effective.length > 0 && p.table.lengths[l] == p.effective.length)
          it->setToolTip(it->toolTip() + "\neffective length: the longest whose average passes the threshold");
        table_->setItem(r, c, it);
      }
      rows_[{p.run, task}] = r++;
    };
    for (size_t t = 0; t < p.table.tasks.size(); ++t)
      fill(QString::fromStdString(p.table.tasks[t]), p.table.score[t], &p.table.samples[t]);
    if (!p.table.empty()) fill(kAverage, p.table.average, nullptr);
  }
  table_->setRowCount(r);
}

void TasksTab::drawHeatmaps() {
  for (int i = heat_->itemCount() - 1; i >= 0; --i)
    if (heat_->item(i)->property("ctx_cell").toBool()) heat_->removeItem(i);
  panels_.clear();
  const bool depth = view_ == View::Depth;
  for (const auto& p : all_)
    if (depth ? !p.depth.empty() : !p.table.empty()) panels_.push_back(p);
  // One grid for every panel: the union of lengths and of rows, so panels line up cell by cell.
  std::set<double> ls, ds;
  std::vector<std::string> tasks;
  std::set<std::string> seen;
  for (const auto& p : panels_) {
    if (depth) {
      ls.insert(p.depth.lengths.begin(), p.depth.lengths.end());
      ds.insert(p.depth.depths.begin(), p.depth.depths.end());
    } else {
      ls.insert(p.table.lengths.begin(), p.table.lengths.end());
      for (const auto& t : p.table.tasks)
        if (seen.insert(t).second) tasks.push_back(t);
    }
  }
  sortRulerTasks(tasks);
  const std::vector<double> lengths(ls.begin(), ls.end()), depths(ds.begin(), ds.end());
  QStringList row_labels, col_labels;
  for (double L : lengths) col_labels << num(L);
  if (depth) {
    for (double d : depths) row_labels << QString::number(d, 'g', 4) + "%";
  } else {
    for (const auto& t : tasks) row_labels << QString::fromStdString(t);
    row_labels << kAverage;
  }
  row_->setPanelCount(static_cast<int>(panels_.size()));
  setPlotTitle(heat_, depth ? QString("RULER %1: score by depth × length").arg(depth_task_)
                            : QString("RULER tasks: score by task × length (effective length dashed)"));
  if (panels_.empty()) {
    QString why;
    if (selection().isEmpty()) {
      why = "Select runs to see their task scores";
    } else if (all_.empty()) {
      why = "No RULER task results for the selected runs.\n" + fillHint();
    } else {
      why = depth_task_.isEmpty() ? QString("No depth-placed needle results in the selected runs")
                                  : QString("No depth grid of %1 in the selected runs").arg(depth_task_);
    }
    heat_->setEmptyMessage(why);
    heat_->replot();
    return;
  }
  heat_->setEmptyMessage({});
  const int nl = static_cast<int>(lengths.size()), nr = row_labels.size();
  const bool annotate = static_cast<size_t>(nl * nr) * panels_.size() <= 320;
  for (size_t k = 0; k < panels_.size(); ++k) {
    auto& p = panels_[k];
    auto* rect = row_->panel(static_cast<int>(k));
    auto* map = row_->map(static_cast<int>(k));
    map->data()->setSize(nl, nr);
    map->data()->setRange(QCPRange(0, std::max(nl - 1, 0)), QCPRange(0, std::max(nr - 1, 0)));
    for (int l = 0; l < nl; ++l)
      for (int r = 0; r < nr; ++r) {
        double v = NAN;
        if (depth) {
          const int li = static_cast<int>(std::find(p.depth.lengths.begin(), p.depth.lengths.end(), lengths[static_cast<size_t>(l)]) -
                                          p.depth.lengths.begin());
          const int di = static_cast<int>(std::find(p.depth.depths.begin(), p.depth.depths.end(), depths[static_cast<size_t>(r)]) -
                                          p.depth.depths.begin());
          if (li < static_cast<int>(p.depth.lengths.size()) && di < static_cast<int>(p.depth.depths.size()))
            v = p.depth.score[static_cast<size_t>(di)][static_cast<size_t>(li)];
        } else {
          const int li = p.table.lengthIndex(lengths[static_cast<size_t>(l)]);
          const int ti = r < static_cast<int>(tasks.size()) ? p.table.taskIndex(tasks[static_cast<size_t>(r)]) : -2;
          if (li >= 0 && ti >= 0) v = p.table.score[static_cast<size_t>(ti)][static_cast<size_t>(li)];
          if (li >= 0 && ti == -2) v = p.table.average[static_cast<size_t>(li)];
        }
        map->data()->setCell(l, r, std::isnan(v) ? 0 : 100 * v);
        map->data()->setAlpha(l, r, std::isnan(v) ? 0 : 255);
        if (!annotate || std::isnan(v)) continue;
        auto* t = new QCPItemText(heat_);
        t->setProperty("ctx_cell", true);
        t->position->setAxes(rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft));
        t->setClipAxisRect(rect);
        t->position->setCoords(l, r);
        t->setText(QString::number(100 * v, 'f', 0));
        t->setFont(QFont(heat_->font().family(), 7));
        t->setColor(textOn(v));
      }
    auto* x = rect->axis(QCPAxis::atBottom);
    auto* y = rect->axis(QCPAxis::atLeft);
    x->setTicker(textTicker(col_labels));
    y->setTicker(textTicker(row_labels));
    y->setTickLabels(k == 0);  // the rows line up across panels: labelled once
    x->setTickLabelRotation(nl > 6 ? -45 : 0);
    x->setRange(-0.5, nl - 0.5);
    y->setRange(-0.5, nr - 0.5);
    y->setRangeReversed(true);  // the first task (or depth 0%) at the top
    x->setLabel("length (tokens)");
    y->setLabel(k == 0 && depth ? QString("depth") : QString());
    x->grid()->setVisible(false);
    y->grid()->setVisible(false);
    rect->setBackground(QColor(236, 236, 236));  // cells never evaluated are transparent: grey
    QString title = nameOf(cache(), p.run);
    p.line_x = NAN;
    if (p.effective.present && p.effective.length > 0) {
      // The right edge of the effective length's column: every column left of the line passed.
      const auto passed = std::upper_bound(lengths.begin(), lengths.end(), p.effective.length) - lengths.begin();
      p.line_x = static_cast<double>(passed) - 0.5;
      auto* line = new QCPItemStraightLine(heat_);
      line->setProperty("ctx_cell", true);
      for (auto* pos : {line->point1, line->point2}) {
        pos->setAxes(x, y);
        pos->setAxisRect(rect);
        pos->setTypeX(QCPItemPosition::ptPlotCoords);
        pos->setTypeY(QCPItemPosition::ptAxisRectRatio);
      }
      line->point1->setCoords(p.line_x, 0);
      line->point2->setCoords(p.line_x, 1);
      line->setClipAxisRect(rect);
      line->setPen(QPen(QColor(230, 40, 40), 2.5, Qt::DashLine));
      title += QString(" · effective %1").arg(num(p.effective.length));
    } else if (p.effective.present) {
      title += " · no effective length";
    }
    row_->setTitle(static_cast<int>(k), title);
  }
  row_->scale()->setDataRange(QCPRange(0, 100));
  heat_->replot();
}

QString TasksTab::cellText(qint64 run, int key, int value) const {
  const Panel* p = nullptr;
  for (const auto& q : panels_)
    if (q.run == run) p = &q;
  auto* map = heatMap(run);
  if (!p || !map || key < 0 || value < 0 || key >= map->data()->keySize() || value >= map->data()->valueSize()) return {};
  auto* ticks_x = dynamic_cast<QCPAxisTickerText*>(map->keyAxis()->ticker().data());
  auto* ticks_y = dynamic_cast<QCPAxisTickerText*>(map->valueAxis()->ticker().data());
  const QString length = ticks_x ? ticks_x->ticks().value(key) : QString();
  const QString row = ticks_y ? ticks_y->ticks().value(value) : QString();
  QString text = QString("%1 · %2 · length %3 · ").arg(nameOf(cache(), run), view_ == View::Depth ? depth_task_ + " at depth " + row : row, length);
  if (map->data()->alpha(key, value) == 0) return text + "not evaluated";
  text += "score " + QString::number(map->data()->cell(key, value), 'f', 1) + "%";
  const std::string task = (view_ == View::Depth ? depth_task_ : row).toStdString();
  const double depth = view_ == View::Depth ? row.chopped(1).toDouble() : -1;
  const QStringList ex = examplesOf(cache()->detail(run), task, length.toDouble(), depth, 2);
  if (!ex.isEmpty()) text += " · " + ex.join(" · ");
  return text;
}

void TasksTab::hover(QMouseEvent* e) {
  const auto hit = row_->hitTest(e->position());
  if (hit.panel < 0 || hit.panel >= static_cast<int>(panels_.size())) {
    hover_->clear();
    return;
  }
  const QString text = cellText(panels_[static_cast<size_t>(hit.panel)].run, hit.key, hit.value);
  hover_->setText(text);
  QToolTip::showText(e->globalPosition().toPoint(), text.split(" · ").join("\n"), heat_);
}

QString TasksTab::csv() const {
  QStringList head{"run", "name", "task"};
  for (double L : table_lengths_) head << num(L);
  head << "effective_length";
  std::vector<QStringList> rows{head};
  for (const auto& p : all_) {
    const auto* s = cache()->summary(p.run);
    const QString eff = p.effective.present ? num(p.effective.length) : QString();
    auto add = [&](const QString& task, const std::vector<double>& scores) {
      QStringList r{QString::number(p.run), s ? QString::fromStdString(s->run.name) : QString(), task};
      for (double L : table_lengths_) {
        const int l = p.table.lengthIndex(L);
        const double v = l >= 0 ? scores[static_cast<size_t>(l)] : NAN;
        r << (std::isnan(v) ? QString() : QString::number(v, 'g', 6));
      }
      r << eff;
      rows.push_back(r);
    };
    for (size_t t = 0; t < p.table.tasks.size(); ++t) add(QString::fromStdString(p.table.tasks[t]), p.table.score[t]);
    if (!p.table.empty()) add(kAverage, p.table.average);
  }
  return toCsv(rows);
}

}  // namespace ctx::gui
