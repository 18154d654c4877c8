// AttentionCompare: runs side by side at one layer/head/length, and their difference; see attention_compare.h.
#include "widgets/attention_compare.h"

#include <QHBoxLayout>
#include <QToolTip>
#include <QVBoxLayout>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "widgets/plot_decor.h"

namespace ctx::gui {
namespace {

QString nameOf(DataCache* cache, qint64 run) {
  const auto* s = cache->summary(run);
  return runLabel(run, s ? s->run.name : std::string());
}

// Cell centres of G tiles over [0, L] and the map's axes, as the tab's own maps are drawn.
void placeMap(QCPColorMap* map, QCPAxisRect* rect, int64_t length, int tiles, bool label_y) {
  const double L = static_cast<double>(length);
  const double half = L / (2.0 * tiles);
  map->data()->setSize(tiles, tiles);
  map->data()->setRange(QCPRange(half, L - half), QCPRange(half, L - half));
  for (auto* ax : {rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft)}) ax->setRange(0, L);
  rect->axis(QCPAxis::atLeft)->setRangeReversed(true);  // query 0 at the top
  rect->axis(QCPAxis::atBottom)->setLabel("key position");
  rect->axis(QCPAxis::atLeft)->setLabel(label_y ? "query position" : QString());
  rect->setBackground(QColor(236, 236, 236));  // masked (future) tiles are transparent: grey
}

}  // namespace

std::vector<float> differenceMap(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size())
    throw std::invalid_argument("maps of " + std::to_string(a.size()) + " and " + std::to_string(b.size()) + " tiles");
  std::vector<float> d(a.size());
  for (size_t i = 0; i < a.size(); ++i) d[i] = a[i] - b[i];
  return d;
}

QCPColorGradient divergingGradient() {
  // ColorBrewer's RdBu, reversed: blue below zero, white at zero, red above.
  static const char* stops[] = {"#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7",
                                "#fddbc7", "#f4a582", "#d6604d", "#b2182b"};
  QCPColorGradient g;
  g.clearColorStops();
  for (int k = 0; k < 9; ++k) g.setColorStopAt(k / 8.0, QColor(stops[k]));
  g.setLevelCount(256);
  return g;
}

AttentionCompare::AttentionCompare(DataCache* cache, QWidget* parent) : QWidget(parent), cache_(cache) {
  length_box_ = new QComboBox;
  length_box_->setToolTip("The evaluation length whose maps are compared");
  a_box_ = new QComboBox;
  b_box_ = new QComboBox;
  for (auto* b : {length_box_, a_box_, b_box_}) b->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  minus_ = new QLabel("−");
  note_ = new QLabel;
  note_->setStyleSheet("color: #8a5a00");
  auto* bar = new QHBoxLayout;
  bar->setContentsMargins(0, 0, 0, 0);
  bar->addWidget(new QLabel("Length"));
  bar->addWidget(length_box_);
  bar->addSpacing(12);
  bar->addWidget(new QLabel("Difference"));
  bar->addWidget(a_box_);
  bar->addWidget(minus_);
  bar->addWidget(b_box_);
  bar->addSpacing(12);
  bar->addWidget(note_, 1);

  maps_ = new PlotView;
  diff_ = new PlotView;
  for (auto* p : {maps_, diff_}) {
    p->setInteractions({});  // read by hovering; zoom would misalign the panels
    p->setMinimumHeight(260);
  }
  row_ = new HeatmapRow(maps_, "attention probability");
  diff_row_ = new HeatmapRow(diff_, "A − B");
  diff_row_->scale()->setGradient(divergingGradient());
  setPlotTitle(maps_, "Attention maps of the selected runs");
  setPlotTitle(diff_, "Difference A − B");
  hover_ = new QLabel;
  hover_->setStyleSheet("color: #444");
  hover_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
  connect(maps_, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) { hover(maps_, e); });
  connect(diff_, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) { hover(diff_, e); });

  plots_layout_ = new QHBoxLayout;
  plots_layout_->setContentsMargins(0, 0, 0, 0);
  plots_layout_->addWidget(maps_, 2);
  plots_layout_->addWidget(diff_, 1);
  auto* v = new QVBoxLayout(this);
  v->setContentsMargins(0, 0, 0, 0);
  v->addLayout(bar);
  v->addLayout(plots_layout_, 1);
  v->addWidget(hover_);

  connect(length_box_, &QComboBox::activated, this, [this] { setLength(length_box_->currentData().toLongLong()); });
  connect(a_box_, &QComboBox::activated, this, [this] { setPair(a_box_->currentData().toLongLong(), b_); });
  connect(b_box_, &QComboBox::activated, this, [this] { setPair(a_, b_box_->currentData().toLongLong()); });
}

void AttentionCompare::setLength(int64_t length) {
  length_ = length;
  emit changed();
}

void AttentionCompare::setPair(qint64 a, qint64 b) {
  a_ = a;
  b_ = b;
  emit changed();
}

QCPColorMap* AttentionCompare::colorMap(qint64 run) const {
  for (size_t k = 0; k < panels_.size() && static_cast<int>(k) < row_->panelCount(); ++k)
    if (panels_[k].run == run && !panels_[k].values.empty()) return row_->map(static_cast<int>(k));
  return nullptr;
}

QCPColorMap* AttentionCompare::differenceColorMap() const {
  return diff_values_.empty() || diff_row_->panelCount() == 0 ? nullptr : diff_row_->map(0);
}

std::vector<float> AttentionCompare::values(qint64 run) const {
  for (const auto& p : panels_)
    if (p.run == run) return p.values;
  return {};
}

AttentionCompare::Drawn AttentionCompare::draw(const std::vector<int64_t>& runs, View& view) {
  Drawn out;
  std::map<qint64, AttentionIndex> index;
  for (int64_t r : runs)
    if (const auto* d = cache_->detail(r)) {
      auto idx = indexAttention(d->artifact_steps);
      if (idx.empty()) continue;
      out.layers.insert(idx.layers.begin(), idx.layers.end());
      index[r] = std::move(idx);
    }
  if (!out.layers.empty() && !out.layers.count(view.layer)) view.layer = *out.layers.begin();
  // Lengths captured at this layer, with how many runs have each: the default is the longest
  // one every run has (else the one most runs have).
  std::map<int64_t, int> lengths;
  for (const auto& [r, idx] : index)
    for (int64_t L : idx.lengths)
      if (idx.steps.count({L, view.layer})) ++lengths[L];
  if (!lengths.count(length_)) {
    length_ = 0;
    int most = 0;
    for (const auto& [L, n] : lengths)
      if (n >= most) most = n, length_ = L;
  }
  {
    QSignalBlocker block(length_box_);
    length_box_->clear();
    for (const auto& [L, n] : lengths)
      length_box_->addItem(QString("L=%1 (%2 of %3 runs)").arg(L).arg(n).arg(index.size()), QVariant::fromValue<qlonglong>(L));
    length_box_->setCurrentIndex(length_box_->findData(QVariant::fromValue<qlonglong>(length_)));
    length_box_->setEnabled(!lengths.empty());
  }
  // One panel per run that captured (length, layer): its latest capture.
  panels_.clear();
  QStringList missing;
  const std::string name = attentionName(length_, view.layer, view.kind.toStdString());
  for (int64_t r : runs) {
    auto it = index.find(r);
    if (it == index.end() || !it->second.steps.count({length_, view.layer})) {
      missing << nameOf(cache_, r);
      continue;
    }
    Panel p;
    p.run = r;
    const auto* d = cache_->detail(r);
    auto steps = d->artifact_steps.find(name);
    if (steps == d->artifact_steps.end() || steps->second.empty()) {
      missing << nameOf(cache_, r);
      continue;
    }
    p.step = steps->second.back();
    if (auto blob = d->blob(name, p.step)) {
      try {
        if (blob->shape.size() != 3 || blob->shape[1] != blob->shape[2]) throw store::StoreError("'" + name + "' is not [H, G, G]");
        out.heads = std::max(out.heads, headCount(*blob));
        p.tiles = static_cast<int>(blob->shape[1]);
        p.values = headSlice(*blob, view.head < headCount(*blob) ? view.head : -1);
      } catch (const std::exception& e) {
        p.values.clear();
        hover_->setText(QString::fromStdString(e.what()));
      }
    } else {
      cache_->requestArtifact(r, name, p.step);
      out.complete = false;
    }
    panels_.push_back(std::move(p));
  }
  if (view.head >= out.heads) view.head = -1;
  // The difference pair: two of the runs drawn (the first two unless picked).
  auto shown = [&](qint64 r) {
    for (const auto& p : panels_)
      if (p.run == r) return true;
    return false;
  };
  if (!shown(a_) || !shown(b_) || a_ == b_) {
    a_ = panels_.size() >= 2 ? panels_[0].run : -1;
    b_ = panels_.size() >= 2 ? panels_[1].run : -1;
  }
  for (auto* box : {a_box_, b_box_}) {
    QSignalBlocker block(box);
    box->clear();
    for (const auto& p : panels_) box->addItem(nameOf(cache_, p.run), QVariant::fromValue<qlonglong>(p.run));
    box->setCurrentIndex(box->findData(QVariant::fromValue<qlonglong>(box == a_box_ ? a_ : b_)));
    box->setEnabled(panels_.size() >= 2);
  }
  QString note;
  if (!missing.isEmpty() && length_ > 0)
    note = QString("not captured at L=%1, layer %2: %3").arg(length_).arg(view.layer).arg(missing.join(", "));
  if (panels_.size() == 1) note = (note.isEmpty() ? QString() : note + " · ") + "select a second run with captures to compare";
  note_->setText(note);
  if (panels_.empty()) {
    row_->setPanelCount(0);
    diff_row_->setPanelCount(0);
    diff_values_.clear();
    maps_->setEmptyMessage(index.empty() ? "None of the selected runs has attention captures.\nRun `ctxlab-cli attention --run N` on each."
                                         : "No run captured this layer");
    diff_->setEmptyMessage({});
    diff_->setVisible(false);
    maps_->replot();
    return out;
  }
  drawMaps(view);
  drawDifference();
  return out;
}

void AttentionCompare::drawMaps(const View& view) {
  row_->setPanelCount(static_cast<int>(panels_.size()));
  maps_->setEmptyMessage({});
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto& p : panels_)
    for (int i = 0; i < p.tiles; ++i)
      for (int j = 0; j <= i; ++j) {  // right of the diagonal: masked future keys
        const double v = p.values[static_cast<size_t>(i * p.tiles + j)];
        if (view.log && v <= 0) continue;
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
  for (size_t k = 0; k < panels_.size(); ++k) {
    const auto& p = panels_[k];
    auto* rect = row_->panel(static_cast<int>(k));
    auto* map = row_->map(static_cast<int>(k));
    if (p.values.empty()) {
      for (auto* ax : {rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft)}) ax->setRange(0, static_cast<double>(length_));
      row_->setTitle(static_cast<int>(k), nameOf(cache_, p.run) + " · loading…");
      continue;
    }
    placeMap(map, rect, length_, p.tiles, k == 0);
    for (int i = 0; i < p.tiles; ++i)
      for (int j = 0; j < p.tiles; ++j) {
        const double v = p.values[static_cast<size_t>(i * p.tiles + j)];
        map->data()->setCell(j, i, v);
        map->data()->setAlpha(j, i, j > i || (view.log && v <= 0) ? 0 : 255);
      }
    row_->setTitle(static_cast<int>(k), QString("%1 · step %2").arg(nameOf(cache_, p.run)).arg(p.step));
  }
  if (!(lo <= hi)) lo = 0, hi = 1;
  if (hi <= lo) hi = lo + (view.log ? lo : 1e-6);
  row_->scale()->setDataScaleType(view.log ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
  row_->scale()->setDataRange(QCPRange(lo, hi));
  row_->scale()->axis()->setLabel(QString("%1 attention probability").arg(view.kind));
  setPlotTitle(maps_, QString("L=%1 · layer %2 · %3 · %4 over each tile")
                          .arg(length_)
                          .arg(view.layer)
                          .arg(view.head < 0 ? QString("mean over heads") : QString("head %1").arg(view.head))
                          .arg(view.kind));
  maps_->replot();
}

void AttentionCompare::drawDifference() {
  diff_values_.clear();
  diff_tiles_ = 0;
  const Panel *a = nullptr, *b = nullptr;
  for (const auto& p : panels_) {
    if (p.run == a_) a = &p;
    if (p.run == b_) b = &p;
  }
  for (QWidget* w : std::initializer_list<QWidget*>{a_box_, b_box_, minus_}) w->setVisible(a && b);
  diff_->setVisible(a && b);
  if (!a || !b) return;
  plots_layout_->setStretch(0, static_cast<int>(panels_.size()));  // each panel as wide as the difference
  setPlotTitle(diff_, QString("Difference A − B: %1 − %2").arg(nameOf(cache_, a->run), nameOf(cache_, b->run)));
  if (a->values.empty() || b->values.empty()) {
    diff_row_->setPanelCount(0);
    diff_->setEmptyMessage("loading…");
    diff_->replot();
    return;
  }
  if (a->tiles != b->tiles) {
    diff_row_->setPanelCount(0);
    diff_->setEmptyMessage(QString("The captures' grids differ (%1 and %2 tiles): no difference map").arg(a->tiles).arg(b->tiles));
    diff_->replot();
    return;
  }
  diff_values_ = differenceMap(a->values, b->values);
  diff_tiles_ = a->tiles;
  diff_row_->setPanelCount(1);
  diff_->setEmptyMessage({});
  auto* map = diff_row_->map(0);
  placeMap(map, diff_row_->panel(0), length_, diff_tiles_, true);
  double extent = 0;
  const int G = diff_tiles_;
  for (int i = 0; i < G; ++i)
    for (int j = 0; j < G; ++j) {
      const double v = diff_values_[static_cast<size_t>(i * G + j)];
      map->data()->setCell(j, i, v);
      map->data()->setAlpha(j, i, j > i ? 0 : 255);
      if (j <= i) extent = std::max(extent, std::abs(v));
    }
  if (extent <= 0) extent = 1e-6;
  diff_row_->scale()->setDataRange(QCPRange(-extent, extent));  // zero is white, in the middle
  diff_row_->setTitle(0, QString("red: A higher · blue: B higher"));
  diff_->replot();
}

void AttentionCompare::hover(PlotView* plot, QMouseEvent* e) {
  const bool diff = plot == diff_;
  const auto hit = (diff ? diff_row_ : row_)->hitTest(e->position());
  const int G = diff ? diff_tiles_ : (hit.panel >= 0 && hit.panel < static_cast<int>(panels_.size()) ? panels_[static_cast<size_t>(hit.panel)].tiles : 0);
  if (hit.panel < 0 || G <= 0) {
    hover_->clear();
    return;
  }
  const int i = hit.value, j = hit.key;  // query tile, key tile
  const auto [q0, q1] = tileRange(i, length_, G);
  const auto [k0, k1] = tileRange(j, length_, G);
  QStringList lines{QString("query tokens [%1, %2)").arg(q0).arg(q1), QString("key tokens [%1, %2)").arg(k0).arg(k1)};
  const size_t at = static_cast<size_t>(i * G + j);
  if (diff) {
    const auto va = values(a_), vb = values(b_);
    if (at < va.size() && at < vb.size())
      lines.prepend(QString("A − B = %1 − %2 = %3")
                        .arg(static_cast<double>(va[at]), 0, 'g', 4)
                        .arg(static_cast<double>(vb[at]), 0, 'g', 4)
                        .arg(static_cast<double>(diff_values_[at]), 0, 'g', 4));
  } else {
    const auto& p = panels_[static_cast<size_t>(hit.panel)];
    lines.prepend(nameOf(cache_, p.run));
    if (at < p.values.size()) lines << QString("p = %1").arg(static_cast<double>(p.values[at]), 0, 'g', 4);
  }
  if (j > i) lines << "future keys, masked";
  hover_->setText(lines.join(" · "));
  QToolTip::showText(e->globalPosition().toPoint(), lines.join("\n"), plot);
}

}  // namespace ctx::gui
