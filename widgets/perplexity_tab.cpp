// PerplexityTab: ppl vs evaluation length, training lengths marked, table and CSV; see perplexity_tab.h.
#include "widgets/perplexity_tab.h"

#include <QFile>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QSplitter>
#include <QVBoxLayout>

#include <cmath>
#include <set>

#include "widgets/training_tab.h"

namespace ctx::gui {

int64_t trained_length(const nlohmann::json& config) {
  auto t = config.find("train");
  if (t == config.end() || !t->is_object()) return 0;
  auto s = t->find("seq_len");
  return s != t->end() && s->is_number() ? s->get<int64_t>() : 0;
}

QList<QCPAbstractItem*> add_length_marks(PlotView* plot, const std::vector<LengthMark>& marks) {
  struct Group {
    QColor color;
    QStringList texts;
    bool mixed = false;
  };
  std::map<double, Group> groups;
  for (const auto& m : marks) {
    if (!(m.x > 0)) continue;
    auto [it, fresh] = groups.try_emplace(m.x, Group{m.color, {}, false});
    if (!fresh && it->second.color != m.color) it->second.mixed = true;
    if (!it->second.texts.contains(m.text)) it->second.texts.push_back(m.text);
  }
  QList<QCPAbstractItem*> items;
  int k = 0;
  for (const auto& [x, g] : groups) {
    const QColor color = g.mixed ? QColor(90, 90, 90) : g.color;
    auto* line = new QCPItemStraightLine(plot);
    for (auto* p : {line->point1, line->point2}) {
      p->setAxisRect(plot->axisRect());
      p->setTypeY(QCPItemPosition::ptAxisRectRatio);
    }
    line->point1->setCoords(x, 0);
    line->point2->setCoords(x, 1);
    line->setPen(QPen(color, 1.2, Qt::DashLine));
    line->setSelectable(false);
    auto* label = new QCPItemText(plot);
    label->position->setAxisRect(plot->axisRect());
    label->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
    label->position->setCoords(x, 0.015 + 0.065 * (k % 3));  // staggered: neighbours stay legible
    label->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
    label->setPadding(QMargins(3, 1, 3, 1));
    label->setText(g.texts.join(" / "));
    label->setColor(color.darker(115));
    label->setBrush(QBrush(QColor(255, 255, 255, 200)));
    label->setFont(QFont(plot->font().family(), 8));
    label->setSelectable(false);
    // Labels near the right edge go on the line's left, so they are not cut off at the frame.
    QObject::connect(plot, &QCustomPlot::beforeReplot, label, [plot, label, x = x] {
      const QRect r = plot->axisRect()->rect();
      const bool right = plot->xAxis->coordToPixel(x) > r.left() + 0.72 * r.width();
      label->setPositionAlignment((right ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignTop);
    });
    items << line << label;
    ++k;
  }
  return items;
}

QSharedPointer<QCPAxisTicker> pow2_linear_ticker() {
  auto t = QSharedPointer<QCPAxisTickerFixed>::create();
  t->setTickStep(2);
  t->setScaleStrategy(QCPAxisTickerFixed::ssPowers);
  t->setTickCount(8);
  return t;
}

void use_pow2_log_ticks(QCPAxis* axis) {
  auto pow2 = QSharedPointer<QCPAxisTickerLog>::create();
  pow2->setLogBase(2);
  pow2->setSubTickCount(0);
  pow2->setTickCount(10);
  axis->setTicker(pow2);
  axis->setNumberFormat("f");
  axis->setNumberPrecision(0);
}

void legend_above(PlotView* plot, int columns) {
  auto* inset = plot->axisRect()->insetLayout();
  if (inset->take(plot->legend)) inset->simplify();
  // The legend's row holds it and an empty stretch beside it: entries stay together at the left
  // instead of being spread over the width.
  auto* row = new QCPLayoutGrid;
  plot->plotLayout()->insertRow(0);
  plot->plotLayout()->addElement(0, 0, row);
  plot->plotLayout()->setRowStretchFactor(0, 0.001);
  row->addElement(0, 0, plot->legend);
  row->addElement(0, 1, new QCPLayoutElement(plot));
  row->setColumnStretchFactor(0, 0.001);
  row->setColumnStretchFactor(1, 1);
  plot->plotLayout()->setRowSpacing(0);
  plot->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
  plot->legend->setWrap(columns);
  plot->legend->setBorderPen(Qt::NoPen);
  plot->legend->setBrush(Qt::NoBrush);
  plot->legend->setColumnSpacing(18);
  plot->legend->setMargins(QMargins(8, 4, 8, 0));
  plot->legend->setFont(QFont(plot->font().family(), 9));
  plot->legend->setVisible(true);
}

void remove_items(PlotView* plot, QList<QCPAbstractItem*>& items) {
  for (auto* it : items) plot->removeItem(it);
  items.clear();
}

PerplexityTab::PerplexityTab(DataCache* cache, QWidget* parent) : PlotTab(cache, parent) {
  mode_ = new QComboBox;
  mode_->setToolTip(
      "Evaluation mode: nonoverlap windows, sliding windows scoring each token once, or randpos "
      "(nonoverlap windows at random sorted ids, how randomized-position runs are tested)");
  mode_->setMinimumContentsLength(10);
  auto* csv = new QPushButton("Export table as CSV…");
  auto* bar = new QHBoxLayout;
  bar->addWidget(new QLabel("mode"));
  bar->addWidget(mode_);
  bar->addStretch(1);
  bar->addWidget(csv);

  plot_ = new PlotView;
  plot_->xAxis->setLabel("evaluation length (tokens)");
  plot_->yAxis->setLabel("perplexity");
  plot_->xAxis->setScaleType(QCPAxis::stLogarithmic);
  plot_->yAxis->setScaleType(QCPAxis::stLogarithmic);
  use_pow2_log_ticks(plot_->xAxis);
  plot_->yAxis->setTicker(QSharedPointer<LogTicker125>::create());
  legend_above(plot_);

  table_ = new QTableWidget;
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->verticalHeader()->setVisible(false);
  table_->setAlternatingRowColors(true);

  auto* split = new QSplitter(Qt::Vertical);
  split->addWidget(plot_);
  split->addWidget(table_);
  split->setStretchFactor(0, 4);
  split->setStretchFactor(1, 1);
  split->setSizes({560, 170});  // a few runs' rows; the plot is what people look at
  split->setChildrenCollapsible(false);
  auto* col = new QVBoxLayout(this);
  col->addLayout(bar);
  col->addWidget(split, 1);

  connect(mode_, &QComboBox::currentTextChanged, this, [this] { scheduleRedraw(); });
  connect(csv, &QPushButton::clicked, this, [this] {
    const QString path = QFileDialog::getSaveFileName(this, "Export perplexity table", "perplexity.csv", "CSV (*.csv)");
    if (path.isEmpty()) return;
    const QString err = exportCsv(path);
    if (!err.isEmpty()) QMessageBox::warning(this, "Export", err);
  });
}

QStringList PerplexityTab::modes() const {
  std::set<std::string> found;
  for (qint64 run : selection())
    if (const RunDetail* d = cache()->detail(run))
      for (const auto& e : d->evals_of("ppl", "ppl")) found.insert(e.mode);
  QStringList out;
  for (const auto& m : found) out << QString::fromStdString(m);
  return out;
}

void PerplexityTab::setMode(const QString& mode) {
  refreshModes();
  mode_->setCurrentText(mode);
}

void PerplexityTab::refreshModes() {
  const QStringList present = modes();
  const QString want = preferredMode(present, mode_->currentText());
  QStringList have;
  for (int i = 0; i < mode_->count(); ++i) have << mode_->itemText(i);
  if (have != present) {
    QSignalBlocker block(mode_);
    mode_->clear();
    mode_->addItems(present);
  }
  QSignalBlocker block(mode_);
  mode_->setCurrentText(want);
  mode_->setEnabled(present.size() > 1);
}

std::vector<PerplexityTab::RunPpl> PerplexityTab::collect(const QString& mode) const {
  std::vector<RunPpl> out;
  const auto& sel = selection();
  for (int i = 0; i < sel.size(); ++i) {
    RunPpl r;
    r.run = sel[i];
    const auto* s = cache()->summary(r.run);
    r.label = runLabel(r.run, s ? s->run.name : std::string());
    r.color = runColor(i);
    r.train_len = trained_length(cache()->config(r.run));
    if (const RunDetail* d = cache()->detail(r.run))
      for (const auto& e : d->evals_of("ppl", "ppl"))
        if (QString::fromStdString(e.mode) == mode) r.by_length[e.x] = e;
    out.push_back(std::move(r));
  }
  return out;
}

void PerplexityTab::redraw() {
  refreshModes();
  shown_ = collect(mode());
  plot_->clearGraphs();
  remove_items(plot_, marks_);
  int with_points = 0;
  for (const auto& r : shown_) {
    auto* g = plot_->addGraph();
    g->setPen(QPen(r.color, 1.6));
    g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, r.color, Qt::white, 7));
    if (r.by_length.empty()) {
      g->setName(r.label + (mode().isEmpty() ? "  (not evaluated yet)" : "  (no " + mode() + " evaluation)"));
      g->setPen(QPen(r.color, 1.2, Qt::DotLine));
      continue;
    }
    ++with_points;
    g->setName(r.label);
    QVector<double> x, y;
    for (const auto& [len, e] : r.by_length) {
      if (!std::isfinite(e.value) || e.value <= 0) continue;  // a diverged eval: the table says so
      x << len;
      y << e.value;
    }
    g->setData(x, y, true);
  }
  std::vector<LengthMark> marks;
  for (const auto& r : shown_)
    if (r.train_len > 0 && !r.by_length.empty())
      marks.push_back({static_cast<double>(r.train_len), r.color, QString("trained at %1").arg(r.train_len)});
  marks_ = add_length_marks(plot_, marks);
  plot_->legend->setVisible(!shown_.empty());
  if (shown_.empty()) {
    plot_->setEmptyMessage("Select runs in the run browser to compare perplexity across lengths");
  } else if (with_points == 0) {
    plot_->setEmptyMessage("No perplexity evaluation yet for the selected runs (written when training ends)");
  } else {
    plot_->setEmptyMessage("");
  }
  if (with_points == 0) {
    // No data to fit: the lengths people evaluate at, so the empty frame still reads as ppl vs length.
    plot_->xAxis->setRange(100, 1300);
    plot_->yAxis->setRange(1, 100);
  }
  plot_->fitAndReplot();
  if (with_points > 0) {
    // Keep every training-length line in view, even one below the shortest evaluated length.
    QCPRange xr = plot_->xAxis->range();
    for (const auto& m : marks) {
      xr.lower = std::min(xr.lower, m.x / 1.15);
      xr.upper = std::max(xr.upper, m.x * 1.15);
    }
    plot_->xAxis->setRange(xr);
    plot_->replot(QCustomPlot::rpQueuedReplot);
  }
  fillTable(shown_);
}

namespace {

QString ppl_text(double v) {
  if (!std::isfinite(v)) return "diverged";
  return v < 1e4 ? QString::number(v, 'f', 2) : QString::number(v, 'g', 4);
}

}  // namespace

void PerplexityTab::fillTable(const std::vector<RunPpl>& runs) {
  std::set<double> lengths;
  for (const auto& r : runs)
    for (const auto& [len, e] : r.by_length) lengths.insert(len);
  table_->clear();
  table_->setColumnCount(2 + static_cast<int>(lengths.size()));
  table_->setRowCount(static_cast<int>(runs.size()));
  QStringList head{"run", "trained at"};
  for (double len : lengths) head << QString::number(len, 'f', 0);
  table_->setHorizontalHeaderLabels(head);
  for (int row = 0; row < static_cast<int>(runs.size()); ++row) {
    const auto& r = runs[static_cast<size_t>(row)];
    auto* name = new QTableWidgetItem(r.label);
    name->setForeground(r.color.darker(120));
    table_->setItem(row, 0, name);
    table_->setItem(row, 1, new QTableWidgetItem(r.train_len > 0 ? QString::number(r.train_len) : "?"));
    int col = 2;
    const RunDetail* d = cache()->detail(r.run);
    for (double len : lengths) {
      auto it = r.by_length.find(len);
      auto* cell = new QTableWidgetItem(it == r.by_length.end() ? QString("—") : ppl_text(it->second.value));
      cell->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
      if (it != r.by_length.end() && d) {
        QString tip = QString("ppl %1 at length %2 (%3, step %4)")
                          .arg(it->second.value, 0, 'g', 8)
                          .arg(len, 0, 'f', 0)
                          .arg(mode())
                          .arg(it->second.step);
        for (const auto& e : d->evals_of("ppl"))
          if (e.x == len && QString::fromStdString(e.mode) == mode() && e.metric != "ppl")
            tip += QString("\n%1 %2").arg(QString::fromStdString(e.metric)).arg(e.value, 0, 'g', 8);
        cell->setToolTip(tip);
        if (r.train_len > 0 && len > r.train_len) cell->setForeground(QColor(120, 60, 0));  // extrapolated
      }
      table_->setItem(row, col++, cell);
    }
  }
  table_->resizeColumnsToContents();
}

QString PerplexityTab::csv() const {
  std::set<double> lengths;
  for (const auto& r : shown_)
    for (const auto& [len, e] : r.by_length) lengths.insert(len);
  auto quote = [](QString s) {
    if (s.contains(',') || s.contains('"') || s.contains('\n')) s = '"' + s.replace("\"", "\"\"") + '"';
    return s;
  };
  QString out = "run,name,mode,train_len";
  for (double len : lengths) out += "," + QString::number(len, 'f', 0);
  out += "\n";
  for (const auto& r : shown_) {
    const auto* s = cache()->summary(r.run);
    out += QString::number(r.run) + "," + quote(QString::fromStdString(s ? s->run.name : std::string())) + "," +
           quote(mode()) + "," + (r.train_len > 0 ? QString::number(r.train_len) : QString());
    for (double len : lengths) {
      auto it = r.by_length.find(len);
      out += ",";
      if (it != r.by_length.end()) out += QString::number(it->second.value, 'g', 10);
    }
    out += "\n";
  }
  return out;
}

QString PerplexityTab::exportCsv(const QString& path) const {
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate | QIODevice::Text))
    return "export: could not write '" + path + "'";
  const QByteArray bytes = csv().toUtf8();
  if (f.write(bytes) != bytes.size()) return "export: could not write '" + path + "'";
  return {};
}

}  // namespace ctx::gui
