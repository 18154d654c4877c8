// FrequenciesTab: rope queries per (run, length), four plots and their CSV; see frequencies_tab.h.
#include "widgets/frequencies_tab.h"

#include <QGridLayout>
#include <QHBoxLayout>
#include <QIntValidator>
#include <QLineEdit>
#include <QVBoxLayout>

#include <algorithm>
#include <set>

#include "widgets/csv_export.h"
#include "widgets/plot_decor.h"

namespace ctx::gui {
namespace {

void setupLogY(QCPAxis* axis) {
  axis->setScaleType(QCPAxis::stLogarithmic);
  QSharedPointer<QCPAxisTickerLog> t(new QCPAxisTickerLog);
  axis->setTicker(t);
  axis->setNumberFormat("eb");
  axis->setNumberPrecision(0);
}

void placeLegend(PlotView* p, Qt::Alignment where) {
  p->legend->setVisible(true);
  p->axisRect()->insetLayout()->setInsetAlignment(0, where);
}

QString runName(DataCache* cache, int64_t run) {
  const auto* s = cache->summary(run);
  return runLabel(run, s ? s->run.name : std::string());
}

}  // namespace

FrequenciesTab::FrequenciesTab(DataCache* cache, QWidget* parent) : PlotTab(cache, parent), runner_(runCli) {
  auto* top = new QHBoxLayout;
  top->addWidget(new QLabel("Evaluated length"));
  length_box_ = new QComboBox;
  length_box_->setEditable(true);
  length_box_->setValidator(new QIntValidator(1, 1 << 30, length_box_));
  length_box_->setMinimumContentsLength(7);
  length_box_->setToolTip("The target length the frequencies are computed for (dynamic scalings and CLEX depend on it)");
  top->addWidget(length_box_);
  status_ = new QLabel;
  status_->setWordWrap(true);
  status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  top->addWidget(status_, 1);
  export_ = new QPushButton("Export CSV…");
  export_->setToolTip("Per pair and run: θ_j, θ'_j, ratio, wavelength and YaRN ramp");
  top->addWidget(export_);
  connect(export_, &QPushButton::clicked, this, [this] { saveCsvDialog(this, "rope-frequencies.csv", [this] { return csv(); }); });
  auto pick = [this] {
    bool ok = false;
    const int64_t L = length_box_->currentText().toLongLong(&ok);
    if (ok && L > 0 && L != length_) setLength(L);
  };
  connect(length_box_, &QComboBox::activated, this, pick);
  connect(length_box_->lineEdit(), &QLineEdit::editingFinished, this, pick);

  inv_ = new PlotView;
  wave_ = new PlotView;
  ratio_ = new PlotView;
  clex_ = new PlotView;
  for (auto* p : {inv_, wave_, ratio_, clex_}) {
    p->setMinimumSize(320, 220);
    p->xAxis->setLabel("pair j");
  }
  setPlotTitle(inv_, "Inverse frequency θ'_j");
  setPlotTitle(wave_, "Wavelength 2π/θ'_j");
  setPlotTitle(ratio_, "Scaling θ'_j / θ_j");
  setPlotTitle(clex_, "CLEX: θ'_j over the scale t");
  inv_->yAxis->setLabel("θ'_j (rad/token)");
  wave_->yAxis->setLabel("tokens per turn");
  ratio_->yAxis->setLabel("θ'_j / θ_j");
  clex_->yAxis->setLabel("θ'_j (rad/token)");
  for (auto* p : {inv_, wave_, clex_}) setupLogY(p->yAxis);  // the ratio stays linear: it lies in [1/s, 1]
  ratio_->yAxis2->setLabel("YaRN ramp γ_j = (s·r_j − 1)/(s − 1)");
  ratio_->yAxis2->setRange(-0.05, 1.05);
  placeLegend(inv_, Qt::AlignLeft | Qt::AlignBottom);
  placeLegend(wave_, Qt::AlignLeft | Qt::AlignTop);
  placeLegend(ratio_, Qt::AlignRight | Qt::AlignTop);
  placeLegend(clex_, Qt::AlignRight | Qt::AlignTop);  // the curves fall away from the top right
  clex_->legend->setWrap(2);
  clex_->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);

  auto* grid = new QGridLayout;
  grid->addWidget(inv_, 0, 0);
  grid->addWidget(wave_, 0, 1);
  grid->addWidget(ratio_, 1, 0);
  grid->addWidget(clex_, 1, 1);
  auto* v = new QVBoxLayout(this);
  v->addLayout(top);
  v->addLayout(grid, 1);
}

void FrequenciesTab::setLength(int64_t L) {
  pinned_ = true;
  length_ = L;
  if (length_box_->currentText() != QString::number(L)) length_box_->setCurrentText(QString::number(L));
  scheduleRedraw();
}

const RopeCurves* FrequenciesTab::curves(int64_t run, int64_t length) const {
  auto it = results_.find({run, length});
  return it != results_.end() && it->second.state == Entry::Done ? &it->second.curves : nullptr;
}

bool FrequenciesTab::waitingForData() const {
  // Every query this tab asked for (the shown length and CLEX's scales) is pending or in flight.
  if (in_flight_ > 0 || !queue_.empty()) return true;
  for (const auto& [key, e] : results_)
    if (e.state == Entry::Pending) return true;
  return false;
}

const FrequenciesTab::Entry* FrequenciesTab::want(int64_t run, int64_t length) {
  const auto* s = cache()->summary(run);
  const std::string status = s ? store::to_string(s->run.status) : std::string();
  auto it = results_.find({run, length});
  // A run that moved on (running -> finished) may hold another checkpoint: ask again.
  if (it != results_.end() && (it->second.state == Entry::Pending || it->second.run_status == status)) return &it->second;
  Entry e;
  e.run_status = status;
  results_[{run, length}] = e;
  queue_.push_back({run, length});
  pump();
  return &results_[{run, length}];
}

void FrequenciesTab::pump() {
  while (in_flight_ < kMaxInFlight && !queue_.empty()) {
    const Key key = queue_.front();
    queue_.erase(queue_.begin());
    QStringList args{"rope", "--run", QString::number(key.first), "--length", QString::number(key.second)};
    if (!db_.isEmpty()) args << "--db" << db_;
    ++in_flight_;
    runner_(this, args, [this, key](const CliResult& r) {
      --in_flight_;
      auto& e = results_[key];
      if (r.ok) {
        try {
          e.curves = ropeCurves(r.json);
          e.state = Entry::Done;
        } catch (const std::exception& ex) {
          e.state = Entry::Failed;
          e.error = QString::fromStdString(ex.what());
        }
      } else {
        e.state = Entry::Failed;
        e.error = r.error.isEmpty() ? QString("ctxlab-cli rope failed") : r.error;
      }
      pump();
      scheduleRedraw();
    });
  }
}

void FrequenciesTab::refreshLengthChoices(const std::vector<int64_t>& runs) {
  std::set<int64_t> all;
  int64_t best = 0;
  for (int64_t run : runs) {
    std::vector<double> xs;
    if (const auto* s = cache()->summary(run))
      for (const auto& p : s->ppl) xs.push_back(p.length);
    const auto ls = evalLengths(cache()->config(run), xs);
    all.insert(ls.begin(), ls.end());
    if (!ls.empty()) best = std::max(best, ls.back());
  }
  if (!pinned_ && best > 0) length_ = best;
  if (length_ > 0) all.insert(length_);
  QStringList items;
  for (int64_t L : all) items << QString::number(L);
  QStringList have;
  for (int i = 0; i < length_box_->count(); ++i) have << length_box_->itemText(i);
  if (have != items) {
    QSignalBlocker block(length_box_);
    length_box_->clear();
    length_box_->addItems(items);
  }
  QSignalBlocker block(length_box_);
  length_box_->setCurrentText(length_ > 0 ? QString::number(length_) : QString());
}

void FrequenciesTab::redraw() {
  std::vector<int64_t> runs;
  for (qint64 r : selection())
    if (cache()->summary(r)) runs.push_back(r);
  refreshLengthChoices(runs);
  for (auto* p : {inv_, wave_, ratio_, clex_}) {
    p->clearGraphs();
    clearReferenceLines(p);
    p->setEmptyMessage({});
  }
  if (runs.empty()) {
    for (auto* p : {inv_, wave_, ratio_, clex_}) p->setEmptyMessage("Select runs to see their RoPE frequencies");
    status_->clear();
    for (auto* p : {inv_, wave_, ratio_, clex_}) p->replot();
    return;
  }
  if (length_ <= 0) {
    status_->setText("Pick a length: these runs name no evaluation length.");
    for (auto* p : {inv_, wave_, ratio_, clex_}) p->replot();
    return;
  }
  draw(runs);
  drawClex(runs);
}

void FrequenciesTab::draw(const std::vector<int64_t>& runs) {
  QStringList problems;
  int pending = 0, drawn = 0;
  std::set<int64_t> originals;
  std::vector<std::vector<double>> bases;  // distinct unscaled curves drawn once each
  for (size_t i = 0; i < runs.size(); ++i) {
    const int64_t run = runs[i];
    const Entry* e = want(run, length_);
    if (e->state == Entry::Pending) {
      ++pending;
      continue;
    }
    if (e->state == Entry::Failed) {
      problems << runName(cache(), run) + ": " + e->error;
      continue;
    }
    ++drawn;
    const auto& c = e->curves;
    const QColor col = runColor(static_cast<int>(i));
    const QString name = runName(cache(), run) + " (" + QString::fromStdString(c.rope_type) +
                         (c.factor > 1 ? QString(" ×%1").arg(c.factor) : QString()) + ")";
    if (std::find(bases.begin(), bases.end(), c.base_inv_freq) == bases.end()) {
      bases.push_back(c.base_inv_freq);
      const QString label = bases.size() == 1 ? QString("unscaled θ_j") : QString("unscaled θ_j (%1)").arg(runName(cache(), run));
      auto* b = inv_->addGraph();
      b->setPen(QPen(QColor(150, 150, 150), 1.2, Qt::DashLine));
      b->setName(label);
      inv_->setSeries(b, c.pair, c.base_inv_freq);
      auto* bw = wave_->addGraph();
      bw->setPen(QPen(QColor(150, 150, 150), 1.2, Qt::DashLine));
      bw->setName(label);
      wave_->setSeries(bw, c.pair, c.base_wavelength);
    }
    auto line = [&](PlotView* p, const std::vector<double>& y, QCPAxis* value_axis = nullptr) {
      auto* g = value_axis ? p->addGraph(p->xAxis, value_axis) : p->addGraph();
      g->setPen(QPen(col, 2));
      g->setName(name);
      g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, col, col, 4));
      p->setSeries(g, c.pair, y);
      return g;
    };
    line(inv_, c.inv_freq);
    line(wave_, c.wavelength);
    line(ratio_, c.ratio);
    if (!c.ramp.empty()) {
      auto* g = line(ratio_, c.ramp, ratio_->yAxis2);
      g->setPen(QPen(col, 1.5, Qt::DashLine));
      g->setScatterStyle(QCPScatterStyle::ssNone);
      g->setName(runName(cache(), run) + QString(" ramp γ_j (s = %1)").arg(c.factor));
    }
    if (const int64_t L0 = originalLength(cache()->config(run)); L0 > 0) originals.insert(L0);
  }
  const bool ramp = [&] {
    for (int k = 0; k < ratio_->graphCount(); ++k)
      if (ratio_->graph(k)->valueAxis() == ratio_->yAxis2) return true;
    return false;
  }();
  ratio_->yAxis2->setVisible(ramp);
  for (int64_t L0 : originals)
    addReferenceLine(wave_, static_cast<double>(L0), QColor(44, 120, 44), QString("training length %1").arg(L0));
  if (!originals.count(length_))
    addReferenceLine(wave_, static_cast<double>(length_), QColor(200, 60, 40), QString("target length %1").arg(length_));

  QString status;
  if (pending) status = QString("computing… (%1 of %2 runs)").arg(pending).arg(runs.size());
  if (!problems.isEmpty()) status += (status.isEmpty() ? "" : " · ") + problems.join(" · ");
  status_->setText(status);
  status_->setStyleSheet(problems.isEmpty() ? QString() : QString("color: #b03020"));
  const QString empty = pending ? QString("computing…") : problems.join("\n");
  for (auto* p : {inv_, wave_, ratio_}) {
    p->setEmptyMessage(drawn ? QString() : empty);
    p->legend->setVisible(drawn > 0);
    if (drawn) {
      p->fitAndReplot();
    } else {
      p->replot();
    }
  }
  if (drawn) {
    // Keep both reference lengths in view: they are the point of the wavelength plot.
    auto r = wave_->yAxis->range();
    for (int64_t L0 : originals) r.expand(static_cast<double>(L0) / 1.5), r.expand(static_cast<double>(L0) * 1.5);
    r.expand(static_cast<double>(length_) * 1.5);
    wave_->yAxis->setRange(r);
    // Ratio and ramp on one 0..1 scale, so a pair's r_j and γ_j can be read against each other.
    ratio_->yAxis->setRange(-0.05, 1.05);
    ratio_->yAxis2->setRange(-0.05, 1.05);
    wave_->replot();
    ratio_->replot();
  }
}

void FrequenciesTab::drawClex(const std::vector<int64_t>& runs) {
  int64_t run = -1;
  for (int64_t r : runs)
    if (isClex(cache()->config(r))) {
      run = r;
      break;
    }
  if (run < 0) {
    setPlotTitle(clex_, "CLEX: θ'_j over the scale t");
    clex_->setEmptyMessage("No CLEX run selected: CLEX's frequencies change with the scale t = ⌈L/L0⌉");
    clex_->legend->setVisible(false);
    clex_->replot();
    return;
  }
  const auto ts = clexLengths(cache()->config(run));
  setPlotTitle(clex_, "CLEX: θ'_j at L0·t, " + runName(cache(), run));
  int pending = 0, drawn = 0;
  QString error;
  for (const auto& [t, L] : ts) {
    const Entry* e = want(run, L);
    if (e->state == Entry::Pending) {
      ++pending;
      continue;
    }
    if (e->state == Entry::Failed) {
      error = e->error;
      continue;
    }
    ++drawn;
    const QColor col = gradientColor(ts.size() > 1 ? (t - 1.0) / static_cast<double>(ts.size() - 1) : 0.0);
    auto* g = clex_->addGraph();
    g->setPen(QPen(col, 1.6));
    g->setName(QString("t=%1 (L=%2)").arg(t).arg(L));
    clex_->setSeries(g, e->curves.pair, e->curves.inv_freq);
  }
  clex_->legend->setVisible(drawn > 0);
  if (!drawn) {
    clex_->setEmptyMessage(pending ? QString("computing…") : error);
    clex_->replot();
    return;
  }
  clex_->setEmptyMessage(pending ? QString("computing… (%1 of %2 scales)").arg(pending).arg(ts.size()) : QString());
  clex_->fitAndReplot();
}

QString FrequenciesTab::csv() const {
  std::vector<QStringList> rows{{"run", "name", "rope_type", "length", "pair", "theta", "theta_scaled", "ratio",
                                 "wavelength", "yarn_ramp"}};
  for (qint64 run : selection()) {
    const RopeCurves* c = curves(run, length_);
    if (!c) continue;
    const auto* s = cache()->summary(run);
    for (size_t j = 0; j < c->pair.size(); ++j)
      rows.push_back({QString::number(run), s ? QString::fromStdString(s->run.name) : QString(),
                      QString::fromStdString(c->rope_type), QString::number(c->length), QString::number(j),
                      QString::number(c->base_inv_freq[j], 'g', 10), QString::number(c->inv_freq[j], 'g', 10),
                      QString::number(c->ratio[j], 'g', 10), QString::number(c->wavelength[j], 'g', 10),
                      c->ramp.empty() ? QString() : QString::number(c->ramp[j], 'g', 10)});
  }
  return toCsv(rows);
}

}  // namespace ctx::gui
