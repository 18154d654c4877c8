// RetrievalTab: passkey curves, depth grids, key-value curves; see retrieval_tab.h.
#include "widgets/retrieval_tab.h"

#include <QHBoxLayout>
#include <QPushButton>
#include <QToolTip>
#include <QVBoxLayout>

#include <cmath>
#include <nlohmann/json.hpp>

#include "widgets/csv_export.h"
#include "widgets/plot_decor.h"

namespace ctx::gui {
namespace {

QString name_of(DataCache* cache, int64_t run) {
  const auto* s = cache->summary(run);
  return runLabel(run, s ? s->run.name : std::string());
}

QString num(double v) { return QString::number(v, 'g', 6); }

QString percent(double d) { return QString::number(d, 'g', 4) + "%"; }

void removeAnnotations(PlotView* p) {
  for (int i = p->itemCount() - 1; i >= 0; --i)
    if (p->item(i)->property("ctx_cell").toBool()) p->removeItem(i);
}

QSharedPointer<QCPAxisTickerText> textTicker(const std::vector<double>& values, bool as_percent) {
  QSharedPointer<QCPAxisTickerText> t(new QCPAxisTickerText);
  for (size_t k = 0; k < values.size(); ++k) t->addTick(static_cast<double>(k), as_percent ? percent(values[k]) : num(values[k]));
  return t;
}

}  // namespace

QString RetrievalTab::fillHint(const QString& task, bool grid) {
  const QString depths = grid && task == "passkey" ? " --depths 0,0.25,0.5,0.75,1" : "";
  return QString("Run `ctxlab-cli %1 --run N%2`,\nor request \"%1\" in a config's eval section.").arg(task, depths);
}

RetrievalTab::RetrievalTab(DataCache* cache, QWidget* parent) : PlotTab(cache, parent) {
  auto* bar = new QHBoxLayout;
  bar->addWidget(new QLabel("Depth grid of"));
  task_box_ = new QComboBox;
  task_box_->addItem("needle (depth %)", "needle");
  task_box_->addItem("passkey at fixed depths", "passkey");
  bar->addWidget(task_box_);
  bar->addStretch(1);
  auto* exp = new QPushButton("Export CSV…");
  exp->setToolTip("Every retrieval result of the selected runs");
  bar->addWidget(exp);
  connect(exp, &QPushButton::clicked, this, [this] { saveCsvDialog(this, "retrieval.csv", [this] { return csv(); }); });
  connect(task_box_, &QComboBox::activated, this, [this] { setDepthTask(task_box_->currentData().toString()); });

  passkey_ = new PlotView;
  kv_ = new PlotView;
  grid_ = new PlotView;
  setPlotTitle(passkey_, "Passkey accuracy vs length");
  setPlotTitle(kv_, "Key-value retrieval vs position of the pair");
  passkey_->xAxis->setScaleType(QCPAxis::stLogarithmic);
  QSharedPointer<QCPAxisTickerLog> log2(new QCPAxisTickerLog);
  log2->setLogBase(2);
  log2->setSubTickCount(0);
  passkey_->xAxis->setTicker(log2);
  passkey_->xAxis->setNumberFormat("f");
  passkey_->xAxis->setNumberPrecision(0);
  passkey_->xAxis->setLabel("length (tokens)");
  kv_->xAxis->setLabel("relative position of the queried pair (0 = start)");
  for (auto* p : {passkey_, kv_}) {
    p->yAxis->setLabel("accuracy");
    p->setMinimumSize(300, 220);
  }
  // Passkey falls with length: the bottom left is free.
  passkey_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignLeft | Qt::AlignBottom);
  // One key-value curve per run and length: their legend sits right of the plot, clear of the curves.
  kv_->axisRect()->insetLayout()->take(kv_->legend);
  auto* side = new QCPLayoutGrid;  // legend on top, an empty stretch below: rows keep their height
  kv_->plotLayout()->addElement(1, 1, side);
  kv_->plotLayout()->setColumnStretchFactor(1, 0.001);
  side->addElement(0, 0, kv_->legend);
  side->addElement(1, 0, new QCPLayoutElement(kv_));
  side->setRowStretchFactors({0.001, 1});
  kv_->legend->setMargins(QMargins(4, 4, 4, 4));
  kv_->legend->setBorderPen(Qt::NoPen);  // outside the axes a frame only crowds the edge
  grid_->setInteractions({});
  grid_->setMinimumHeight(260);
  row_ = new HeatmapRow(grid_, "accuracy");
  connect(grid_, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) { hover(e); });
  hover_ = new QLabel;
  hover_->setStyleSheet("color: #444");

  auto* top = new QHBoxLayout;
  top->addWidget(passkey_);
  top->addWidget(kv_);
  auto* v = new QVBoxLayout(this);
  v->addLayout(bar);
  v->addLayout(top, 1);
  v->addWidget(grid_, 1);
  v->addWidget(hover_);
}

void RetrievalTab::setDepthTask(const QString& task) {
  depth_task_ = task;
  task_box_->setCurrentIndex(task_box_->findData(task));
  scheduleRedraw();
}

const DepthGrid* RetrievalTab::grid(qint64 run) const {
  for (const auto& [r, g] : grids_)
    if (r == run) return &g;
  return nullptr;
}

QCPColorMap* RetrievalTab::gridMap(qint64 run) const {
  for (size_t k = 0; k < grids_.size(); ++k)
    if (grids_[k].first == run && static_cast<int>(k) < row_->panelCount()) return row_->map(static_cast<int>(k));
  return nullptr;
}

QString RetrievalTab::cellText(qint64 run, int l, int d) const {
  const DepthGrid* g = grid(run);
  if (!g || l < 0 || d < 0 || l >= static_cast<int>(g->lengths.size()) || d >= static_cast<int>(g->depths.size())) return {};
  const auto ld = static_cast<size_t>(l), dd = static_cast<size_t>(d);
  const double a = g->accuracy[dd][ld];
  QString text = QString("%1 · length %2 · depth %3 · ").arg(name_of(cache(), run), num(g->lengths[ld]), percent(g->depths[dd]));
  if (std::isnan(a)) return text + "not evaluated";
  text += QString("accuracy %1").arg(a, 0, 'f', 2);
  if (g->trials[dd][ld] > 0) text += QString(" (%1/%2 trials)").arg(std::max(0, g->correct[dd][ld])).arg(g->trials[dd][ld]);
  return text;
}

void RetrievalTab::hover(QMouseEvent* e) {
  const auto hit = row_->hitTest(e->position());
  if (hit.panel < 0 || hit.panel >= static_cast<int>(grids_.size())) {
    hover_->clear();
    return;
  }
  const QString text = cellText(grids_[static_cast<size_t>(hit.panel)].first, hit.key, hit.value);
  hover_->setText(text);
  QToolTip::showText(e->globalPosition().toPoint(), text.split(" · ").join("\n"), grid_);
}

void RetrievalTab::redraw() {
  std::vector<int64_t> runs;
  for (qint64 r : selection())
    if (cache()->summary(r)) runs.push_back(r);
  drawPasskey(runs);
  drawKv(runs);
  drawGrids(runs);
}

void RetrievalTab::drawPasskey(const std::vector<int64_t>& runs) {
  passkey_->clearGraphs();
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto* d = cache()->detail(runs[i]);
    if (!d) continue;
    const Curve c = passkeyByLength(d->evals);
    if (c.x.empty()) continue;
    const QColor col = runColor(static_cast<int>(i));
    auto* g = passkey_->addGraph();
    g->setPen(QPen(col, 2));
    g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, col, col, 6));
    g->setName(name_of(cache(), runs[i]));
    passkey_->setSeries(g, c.x, c.y);
  }
  const bool any = passkey_->graphCount() > 0;
  passkey_->legend->setVisible(any);
  passkey_->setEmptyMessage(any ? QString()
                            : runs.empty() ? QString("Select runs to see their retrieval results")
                                           : "No passkey results for the selected runs.\n" + fillHint("passkey"));
  passkey_->fitAndReplot();
  passkey_->yAxis->setRange(-0.03, 1.05);
  passkey_->replot();
}

void RetrievalTab::drawKv(const std::vector<int64_t>& runs) {
  kv_->clearGraphs();
  static const Qt::PenStyle styles[] = {Qt::SolidLine, Qt::DashLine, Qt::DotLine, Qt::DashDotLine, Qt::DashDotDotLine};
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto* d = cache()->detail(runs[i]);
    if (!d) continue;
    const auto curves = kvByPosition(d->evals);
    size_t k = 0;
    for (const auto& [L, c] : curves) {
      // One colour per run; lengths differ by dash and lightness (longer = darker).
      QColor col = runColor(static_cast<int>(i));
      if (curves.size() > 1) col = col.lighter(150 - static_cast<int>(50 * k / (curves.size() - 1)));
      auto* g = kv_->addGraph();
      g->setPen(QPen(col, 2, styles[k % 5]));
      g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, col, col, 5));
      g->setName(QString("%1 · L=%2").arg(name_of(cache(), runs[i]), num(L)));
      kv_->setSeries(g, c.x, c.y);
      ++k;
    }
  }
  const bool any = kv_->graphCount() > 0;
  kv_->legend->setVisible(any);
  kv_->setEmptyMessage(any ? QString()
                       : runs.empty() ? QString()
                                      : "No key-value retrieval results.\n" + fillHint("kvretrieval"));
  kv_->fitAndReplot();
  kv_->xAxis->setRange(-0.03, 1.03);
  kv_->yAxis->setRange(-0.03, 1.05);
  kv_->replot();
}

void RetrievalTab::drawGrids(const std::vector<int64_t>& runs) {
  grids_.clear();
  for (int64_t r : runs)
    if (const auto* d = cache()->detail(r)) {
      auto g = depthGrid(d->evals, depth_task_.toStdString());
      if (!g.empty()) grids_.emplace_back(r, std::move(g));
    }
  removeAnnotations(grid_);
  row_->setPanelCount(static_cast<int>(grids_.size()));
  const QString what = depth_task_ == "needle" ? "Needle" : "Passkey";
  setPlotTitle(grid_, what + " accuracy by depth × length");
  row_->scale()->setDataRange(QCPRange(0, 1));
  if (grids_.empty()) {
    grid_->setEmptyMessage(runs.empty() ? QString()
                                        : QString("No %1 depth grid for the selected runs.\n%2").arg(depth_task_, fillHint(depth_task_, true)));
    grid_->replot();
    return;
  }
  grid_->setEmptyMessage({});
  size_t cells = 0;
  for (const auto& [r, g] : grids_) cells += g.lengths.size() * g.depths.size();
  const bool annotate = cells <= 240;  // beyond that the numbers crowd out the colours: hover instead
  for (size_t k = 0; k < grids_.size(); ++k) {
    const auto& [run, g] = grids_[k];
    auto* rect = row_->panel(static_cast<int>(k));
    auto* map = row_->map(static_cast<int>(k));
    const int nl = static_cast<int>(g.lengths.size()), nd = static_cast<int>(g.depths.size());
    map->data()->setSize(nl, nd);
    // Categorical axes: cell centres at 0..n-1 (a single cell is one unit wide, centred on 0).
    map->data()->setRange(QCPRange(0, std::max(nl - 1, 0)), QCPRange(0, std::max(nd - 1, 0)));
    for (int l = 0; l < nl; ++l)
      for (int d = 0; d < nd; ++d) {
        const double a = g.accuracy[static_cast<size_t>(d)][static_cast<size_t>(l)];
        map->data()->setCell(l, d, std::isnan(a) ? 0 : a);
        map->data()->setAlpha(l, d, std::isnan(a) ? 0 : 255);
      }
    auto* x = rect->axis(QCPAxis::atBottom);
    auto* y = rect->axis(QCPAxis::atLeft);
    x->setTicker(textTicker(g.lengths, false));
    y->setTicker(textTicker(g.depths, true));
    x->setRange(-0.5, nl - 0.5);
    y->setRange(-0.5, nd - 0.5);
    y->setRangeReversed(true);  // depth 0% (start of the context) at the top
    x->setLabel("length (tokens)");
    y->setLabel(k == 0 ? QString("depth") : QString());
    x->grid()->setVisible(false);
    y->grid()->setVisible(false);
    rect->setBackground(QColor(236, 236, 236));  // cells never evaluated are transparent: grey
    row_->setTitle(static_cast<int>(k), name_of(cache(), run));
    if (!annotate) continue;
    for (int l = 0; l < nl; ++l)
      for (int d = 0; d < nd; ++d) {
        const double a = g.accuracy[static_cast<size_t>(d)][static_cast<size_t>(l)];
        if (std::isnan(a)) continue;
        auto* t = new QCPItemText(grid_);
        t->setProperty("ctx_cell", true);
        t->position->setAxes(x, y);
        t->setClipAxisRect(rect);
        t->position->setCoords(l, d);
        t->setText(QString::number(a, 'f', 2));
        t->setFont(QFont(grid_->font().family(), 8));
        t->setColor(a > 0.65 ? QColor(20, 20, 20) : QColor(255, 255, 255));  // viridis is light at the top
      }
  }
  grid_->replot();
}

QString RetrievalTab::csv() const {
  std::vector<QStringList> rows{{"run", "name", "task", "mode", "length", "y", "accuracy", "trials", "correct", "step"}};
  for (qint64 run : selection()) {
    const auto* d = cache()->detail(run);
    const auto* s = cache()->summary(run);
    if (!d) continue;
    for (const auto& e : d->evals) {
      if ((e.task != "passkey" && e.task != "needle" && e.task != "kvretrieval") || e.metric != "accuracy") continue;
      const auto j = nlohmann::json::parse(e.extra_json, nullptr, false);
      auto extra = [&](const char* k) { return j.is_object() && j.contains(k) ? QString::fromStdString(j[k].dump()) : QString(); };
      rows.push_back({QString::number(run), s ? QString::fromStdString(s->run.name) : QString(), QString::fromStdString(e.task),
                      QString::fromStdString(e.mode), num(e.x), num(e.y), num(e.value), extra("trials"), extra("correct"),
                      QString::number(e.step)});
    }
  }
  return toCsv(rows);
}

}  // namespace ctx::gui
