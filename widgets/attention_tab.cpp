// AttentionTab: pickers, on-demand blobs, heatmaps and profiles; see attention_tab.h.
#include "widgets/attention_tab.h"

#include <QGridLayout>
#include <QHBoxLayout>
#include <QToolTip>
#include <QVBoxLayout>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "widgets/plot_decor.h"

namespace ctx::gui {
namespace {

QColor lengthColor(size_t k, size_t n) { return gradientColor(n > 1 ? static_cast<double>(k) / static_cast<double>(n - 1) : 0.3); }

QString lengthName(int64_t L) { return QString("L=%1").arg(L); }

// The centre of each tile in tokens, for lines against query position.
std::vector<double> tileCentres(int64_t L, int G) {
  std::vector<double> x;
  for (int i = 0; i < G; ++i) {
    const auto [a, b] = tileRange(i, L, G);
    x.push_back(0.5 * static_cast<double>(a + b - 1));
  }
  return x;
}

// Ticks at 1, 2 and 5 times the powers of ten inside `r`: a log colour bar spanning a decade or
// two gets several labelled ticks instead of one.
QSharedPointer<QCPAxisTickerText> ticks125(const QCPRange& r) {
  QSharedPointer<QCPAxisTickerText> t(new QCPAxisTickerText);
  if (r.lower <= 0) return t;
  for (int e = static_cast<int>(std::floor(std::log10(r.lower))); e <= static_cast<int>(std::ceil(std::log10(r.upper))); ++e)
    for (double m : {1.0, 2.0, 5.0}) {
      const double v = m * std::pow(10.0, e);
      if (v >= r.lower * 0.999 && v <= r.upper * 1.001) t->addTick(v, QString::number(v, 'g', 3));
    }
  return t;
}

void setLogX(QCPAxis* ax) {
  ax->setScaleType(QCPAxis::stLogarithmic);
  ax->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
}

}  // namespace

AttentionTab::AttentionTab(DataCache* cache, QWidget* parent) : PlotTab(cache, parent) {
  auto* bar = new QHBoxLayout;
  auto add = [bar](const QString& label, QWidget* w) {
    if (!label.isEmpty()) bar->addWidget(new QLabel(label));
    bar->addWidget(w);
  };
  show_box_ = new QComboBox;
  show_box_->addItem("one run, lengths side by side", false);
  show_box_->addItem("runs side by side", true);
  show_box_->setToolTip("Compare the selected runs at one layer, head and length, with a difference map of two");
  run_box_ = new QComboBox;
  run_box_->setMinimumContentsLength(14);
  layer_box_ = new QComboBox;
  head_box_ = new QComboBox;
  head_box_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  layer_box_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  run_box_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  kind_box_ = new QComboBox;
  kind_box_->addItem("mean", "mean");
  kind_box_->addItem("max", "max");
  kind_box_->setToolTip("Pooling of the probabilities inside each tile");
  log_box_ = new QCheckBox("log colour");
  slider_ = new QSlider(Qt::Horizontal);
  slider_->setMinimumWidth(160);
  slider_->setToolTip("Training step of the captured maps");
  play_ = new QPushButton("▶ Play");
  play_->setToolTip("Step through the captures in training order");
  step_label_ = new QLabel;
  step_label_->setMinimumWidth(90);
  add("", show_box_);
  auto* run_label = new QLabel("Run");
  bar->addWidget(run_label);
  add("", run_box_);
  add("Layer", layer_box_);
  add("Head", head_box_);
  add("Map", kind_box_);
  add("", log_box_);
  bar->addStretch(1);
  // The training-step playback of the one-run view on a row of its own: the pickers above keep
  // their width in a window of ordinary size.
  auto* steps = new QHBoxLayout;
  auto* step_text = new QLabel("Step");
  steps->addWidget(step_text);
  steps->addWidget(slider_, 1);
  steps->addWidget(step_label_);
  steps->addWidget(play_);
  single_only_ = {run_label, run_box_, step_text, slider_, step_label_, play_};
  hover_ = new QLabel;
  hover_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  hover_->setStyleSheet("color: #444");
  // Token texts make the line long: it never widens the tab (the tooltip has it all, line by line).
  hover_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);

  connect(show_box_, &QComboBox::activated, this, [this] { setCompareRuns(show_box_->currentData().toBool()); });
  connect(run_box_, &QComboBox::activated, this, [this] { setRun(run_box_->currentData().toLongLong()); });
  connect(layer_box_, &QComboBox::activated, this, [this] { setLayer(layer_box_->currentData().toInt()); });
  connect(head_box_, &QComboBox::activated, this, [this] { setHead(head_box_->currentData().toInt()); });
  connect(kind_box_, &QComboBox::activated, this, [this] { setKind(kind_box_->currentData().toString()); });
  connect(log_box_, &QCheckBox::toggled, this, [this](bool on) { setLogColor(on); });
  connect(slider_, &QSlider::valueChanged, this, [this](int v) {
    if (v != frame_) setFrame(v);
  });
  connect(play_, &QPushButton::clicked, this, [this] { setPlaying(!play_timer_.isActive()); });
  play_timer_.setInterval(kPlayMs);
  connect(&play_timer_, &QTimer::timeout, this, [this] { tick(); });

  heat_ = new PlotView;
  heat_->setInteractions({});  // cells are read by hovering; zoom would misalign the panels
  heat_->setMinimumHeight(300);
  row_ = new HeatmapRow(heat_, "attention probability");
  setPlotTitle(heat_, "Attention maps");
  connect(heat_, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) { hover(e); });

  distance_ = new PlotView;
  entropy_ = new PlotView;
  sink_ = new PlotView;
  setPlotTitle(distance_, "Attention mass vs distance");
  setPlotTitle(entropy_, "Entropy vs query position");
  setPlotTitle(sink_, "Sink mass vs query position");
  setLogX(distance_->xAxis);
  distance_->xAxis->setLabel("query − key distance (tokens)");
  distance_->yAxis->setLabel("share of attention");
  entropy_->xAxis->setLabel("query position");
  entropy_->yAxis->setLabel("entropy (nats)");
  sink_->xAxis->setLabel("query position");
  sink_->yAxis->setLabel("mass on the first tokens");
  for (auto* p : {distance_, entropy_, sink_}) {
    p->setMinimumSize(260, 200);
    p->legend->setVisible(true);
  }
  distance_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignRight | Qt::AlignTop);
  entropy_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignRight | Qt::AlignBottom);
  sink_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignRight | Qt::AlignTop);

  profiles_ = new QWidget;
  auto* lower = new QHBoxLayout(profiles_);
  lower->setContentsMargins(0, 0, 0, 0);
  lower->addWidget(distance_);
  lower->addWidget(entropy_);
  lower->addWidget(sink_);
  compare_ = new AttentionCompare(cache, this);
  compare_->hide();
  connect(compare_, &AttentionCompare::changed, this, [this] { scheduleRedraw(); });
  auto* v = new QVBoxLayout(this);
  v->addLayout(bar);
  v->addLayout(steps);
  v->addWidget(heat_, 3);
  v->addWidget(hover_);
  v->addWidget(profiles_, 2);
  v->addWidget(compare_, 5);
}

void AttentionTab::setCompareRuns(bool on) {
  if (on && play_timer_.isActive()) setPlaying(false);
  compare_mode_ = on;
  show_box_->setCurrentIndex(show_box_->findData(on));
  scheduleRedraw();
}

void AttentionTab::showCompare(bool on) {
  compare_->setVisible(on);
  for (QWidget* w : single_only_) w->setVisible(!on);
  heat_->setVisible(!on);
  hover_->setVisible(!on);
  if (on) profiles_->hide();
}

void AttentionTab::redrawCompare(const std::vector<int64_t>& runs) {
  AttentionCompare::View view{layer_, head_, kind_, log_color_};
  const auto drawn = compare_->draw(runs, view);
  layer_ = view.layer;
  complete_ = drawn.complete;
  const bool any = !drawn.layers.empty();
  for (QWidget* w : std::initializer_list<QWidget*>{layer_box_, head_box_, kind_box_, log_box_}) w->setEnabled(any);
  {
    QSignalBlocker block(layer_box_);
    layer_box_->clear();
    for (int l : drawn.layers) layer_box_->addItem(QString("layer %1").arg(l), l);
    layer_box_->setCurrentIndex(layer_box_->findData(layer_));
  }
  if (drawn.heads > 0) syncHeadBox(drawn.heads);
}

void AttentionTab::setRun(qint64 run) {
  user_picked_run_ = true;
  if (run == run_) return;
  run_ = run;
  frame_ = -1;
  follow_latest_ = true;
  scheduleRedraw();
}
void AttentionTab::setLayer(int layer) {
  layer_ = layer;
  scheduleRedraw();
}
void AttentionTab::setHead(int head) {
  head_ = head;
  scheduleRedraw();
}
void AttentionTab::setKind(const QString& kind) {
  kind_ = kind;
  scheduleRedraw();
}
void AttentionTab::setLogColor(bool log) {
  log_color_ = log;
  if (log_box_->isChecked() != log) log_box_->setChecked(log);
  scheduleRedraw();
}
void AttentionTab::setFrame(int index) {
  frame_ = index;
  follow_latest_ = index >= static_cast<int>(frames_.size()) - 1;
  scheduleRedraw();
}

QCPColorMap* AttentionTab::colorMap(int64_t length) const {
  for (size_t k = 0; k < panels_.size() && static_cast<int>(k) < row_->panelCount(); ++k)
    if (panels_[k].length == length && !panels_[k].values.empty()) return row_->map(static_cast<int>(k));
  return nullptr;
}

QCPRange AttentionTab::colorRange() const { return row_->scale()->dataRange(); }

QString AttentionTab::tileText(int64_t length, int i, int j) const { return tileLines(length, i, j).join(" · "); }

QStringList AttentionTab::tileLines(int64_t length, int i, int j) const {
  for (const auto& p : panels_) {
    if (p.length != length || p.values.empty() || i < 0 || j < 0 || i >= p.tiles || j >= p.tiles) continue;
    const auto [q0, q1] = tileRange(i, length, p.tiles);
    const auto [k0, k1] = tileRange(j, length, p.tiles);
    auto range = [&p](const char* what, int64_t a, int64_t b) {
      QString s = QString("%1 tokens [%2, %3)").arg(what).arg(a).arg(b);
      if (p.tokens) {
        const QString text = tokenSpanText(*p.tokens, a, b);
        if (!text.isEmpty()) s += " “" + text + "”";
      }
      return s;
    };
    const float v = p.values[static_cast<size_t>(i) * static_cast<size_t>(p.tiles) + static_cast<size_t>(j)];
    const QString head = head_ < 0 ? QString("mean over heads") : QString("head %1").arg(head_);
    QStringList lines{QString("L=%1").arg(length), range("query", q0, q1), range("key", k0, k1),
                      QString("%1 p = %2 (%3, step %4)").arg(kind_).arg(static_cast<double>(v), 0, 'g', 4).arg(head).arg(p.step)};
    if (j > i) lines << "future keys, masked";
    return lines;
  }
  return {};
}

void AttentionTab::hover(QMouseEvent* e) {
  const auto hit = row_->hitTest(e->position());
  if (hit.panel < 0 || hit.panel >= static_cast<int>(panels_.size())) {
    hover_->clear();
    QToolTip::hideText();
    return;
  }
  // Colour-map keys are key tiles (x), values are query tiles (y).
  const QStringList lines = tileLines(panels_[static_cast<size_t>(hit.panel)].length, hit.value, hit.key);
  hover_->setText(lines.join(" · "));
  if (!lines.isEmpty()) QToolTip::showText(e->globalPosition().toPoint(), lines.join("\n"), heat_);
}

std::shared_ptr<const std::vector<std::string>> AttentionTab::tokensOf(const ArtifactPtr& blob) {
  if (!blob) return nullptr;
  auto it = token_texts_.find(blob.get());
  if (it != token_texts_.end() && it->second.first == blob) return it->second.second;
  if (token_texts_.size() > 32) token_texts_.clear();  // a few lengths × steps; never grows with playback
  auto texts = std::make_shared<const std::vector<std::string>>(tokenTexts(*blob));
  token_texts_[blob.get()] = {blob, texts};
  return texts;
}

void AttentionTab::setPlaying(bool on) {
  if (on && !play_timer_.isActive()) {
    if (frame_ >= static_cast<int>(frames_.size()) - 1) setFrame(0);
    play_timer_.start();
  } else if (!on) {
    play_timer_.stop();
  }
  play_->setText(play_timer_.isActive() ? "❚❚ Pause" : "▶ Play");
}

void AttentionTab::tick() {
  if (!complete_) return;  // wait for the frame on screen before moving on
  if (frame_ + 1 >= static_cast<int>(frames_.size())) return setPlaying(false);
  setFrame(frame_ + 1);
  redrawNow();
}

ArtifactPtr AttentionTab::fetch(const RunDetail& d, const std::string& name, int64_t frame_step) {
  auto it = d.artifact_steps.find(name);
  if (it == d.artifact_steps.end() || it->second.empty()) return nullptr;
  const int64_t step = stepAtOrBefore(it->second, frame_step);
  if (auto b = d.blob(name, step)) return b;
  cache()->requestArtifact(run_, name, step);
  complete_ = false;
  return nullptr;
}

void AttentionTab::syncRunBox(const std::vector<int64_t>& runs) {
  QSignalBlocker block(run_box_);
  run_box_->clear();
  for (int64_t r : runs) {
    const auto* s = cache()->summary(r);
    run_box_->addItem(runLabel(r, s ? s->run.name : std::string()), QVariant::fromValue<qlonglong>(r));
  }
  // Until the user picks one, show the first selected run that has captures (a selection often
  // mixes runs with and without them).
  int64_t preferred = runs.empty() ? -1 : runs.front();
  for (int64_t r : runs) {
    const RunDetail* d = cache()->detail(r);
    if (d && std::any_of(d->artifact_steps.begin(), d->artifact_steps.end(),
                         [](const auto& kv) { return kv.first.rfind("attention/", 0) == 0; })) {
      preferred = r;
      break;
    }
  }
  const bool gone = std::find(runs.begin(), runs.end(), run_) == runs.end();
  if (gone || (!user_picked_run_ && run_ != preferred)) {
    if (gone) user_picked_run_ = false;
    run_ = preferred;
    frame_ = -1;
    follow_latest_ = true;
  }
  run_box_->setCurrentIndex(run_box_->findData(QVariant::fromValue<qlonglong>(run_)));
}

void AttentionTab::syncLayerAndFrames(const AttentionIndex& idx) {
  if (!idx.layers.count(layer_)) layer_ = *idx.layers.begin();
  {
    QSignalBlocker block(layer_box_);
    layer_box_->clear();
    for (int l : idx.layers) layer_box_->addItem(QString("layer %1").arg(l), l);
    layer_box_->setCurrentIndex(layer_box_->findData(layer_));
  }
  const int64_t was = frame_ >= 0 && frame_ < static_cast<int>(frames_.size()) ? frames_[static_cast<size_t>(frame_)] : -1;
  frames_ = idx.frames(layer_);
  if (follow_latest_ || was < 0) {
    frame_ = static_cast<int>(frames_.size()) - 1;
  } else {
    // Keep the step the user is looking at when captures are added or the layer changes.
    frame_ = static_cast<int>(std::lower_bound(frames_.begin(), frames_.end(), was) - frames_.begin());
    frame_ = std::min(frame_, static_cast<int>(frames_.size()) - 1);
  }
  QSignalBlocker block(slider_);
  slider_->setRange(0, std::max(0, static_cast<int>(frames_.size()) - 1));
  slider_->setValue(frame_);
  slider_->setEnabled(frames_.size() > 1);
  play_->setEnabled(frames_.size() > 1);
  step_label_->setText(frames_.empty() ? QString() : QString("step %1 (%2/%3)").arg(frames_[static_cast<size_t>(frame_)])
                                                         .arg(frame_ + 1).arg(frames_.size()));
}

void AttentionTab::syncHeadBox(int heads) {
  if (head_ >= heads) head_ = -1;
  QSignalBlocker block(head_box_);
  if (head_box_->count() != heads + 1) {
    head_box_->clear();
    head_box_->addItem("mean over heads", -1);
    for (int h = 0; h < heads; ++h) head_box_->addItem(QString("head %1").arg(h), h);
  }
  head_box_->setCurrentIndex(head_box_->findData(head_));
  QSignalBlocker block2(kind_box_);
  kind_box_->setCurrentIndex(kind_box_->findData(kind_));
}

void AttentionTab::drawEmpty(const QString& why) {
  panels_.clear();
  frames_.clear();
  row_->setPanelCount(0);
  heat_->setEmptyMessage(why);
  heat_->replot();
  for (auto* p : {distance_, entropy_, sink_}) p->clearGraphs();
  profiles_->hide();  // one explanation over the whole tab rather than three empty axes
  for (QWidget* w : std::initializer_list<QWidget*>{layer_box_, head_box_, kind_box_, log_box_, slider_, play_})
    w->setEnabled(false);
  step_label_->clear();
  hover_->clear();
}

void AttentionTab::redraw() {
  std::vector<int64_t> runs;
  for (qint64 r : selection())
    if (cache()->summary(r)) runs.push_back(r);
  showCompare(compare_mode_);
  if (compare_mode_) return redrawCompare(runs);
  syncRunBox(runs);
  run_box_->setEnabled(!runs.empty());
  complete_ = true;
  if (run_ < 0) return drawEmpty("Select a run to see its attention maps");
  const RunDetail* d = cache()->detail(run_);
  if (!d) return drawEmpty(QString("loading run #%1…").arg(run_));
  const auto idx = indexAttention(d->artifact_steps);
  if (idx.empty())
    return drawEmpty(QString("No attention captured for run #%1.\nRun `ctxlab-cli attention --run %1`, or set "
                             "eval.attention_every in a config to capture maps during training.").arg(run_));
  for (QWidget* w : std::initializer_list<QWidget*>{layer_box_, head_box_, kind_box_, log_box_}) w->setEnabled(true);
  profiles_->show();
  syncLayerAndFrames(idx);
  std::vector<int64_t> lengths;
  for (int64_t L : idx.lengths)
    if (idx.steps.count({L, layer_})) lengths.push_back(L);
  drawMaps(*d, lengths);
  drawProfiles(*d, lengths);
  if (play_timer_.isActive() && frame_ + 1 < static_cast<int>(frames_.size())) {
    // Ask for the next frame now so the playback does not stall on the store.
    const int64_t next = frames_[static_cast<size_t>(frame_ + 1)];
    const bool was = complete_;
    for (int64_t L : lengths)
      for (const std::string& kind : {kind_.toStdString(), std::string("distance"), std::string("entropy"), std::string("sink")})
        fetch(*d, attentionName(L, layer_, kind), next);
    complete_ = was;
  }
}

void AttentionTab::drawMaps(const RunDetail& d, const std::vector<int64_t>& lengths) {
  const int64_t frame_step = frames_.empty() ? -1 : frames_[static_cast<size_t>(frame_)];
  panels_.assign(lengths.size(), Panel{});
  int heads = 0;
  for (size_t k = 0; k < lengths.size(); ++k) {
    auto& p = panels_[k];
    p.length = lengths[k];
    const std::string name = attentionName(p.length, layer_, kind_.toStdString());
    auto blob = fetch(d, name, frame_step);
    if (!blob) continue;
    try {
      if (blob->shape.size() != 3 || blob->shape[1] != blob->shape[2]) throw store::StoreError("'" + name + "' is not [H, G, G]");
      heads = std::max(heads, headCount(*blob));
      p.tiles = static_cast<int>(blob->shape[1]);
      p.step = blob->step;
      p.values = headSlice(*blob, head_ < heads ? head_ : -1);
      p.tokens = tokensOf(fetch(d, tokensName(p.length), frame_step));  // absent in older captures
    } catch (const std::exception& e) {
      p.values.clear();
      hover_->setText(QString::fromStdString(e.what()));
    }
  }
  syncHeadBox(heads);
  row_->setPanelCount(static_cast<int>(lengths.size()));
  heat_->setEmptyMessage({});
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto& p : panels_)
    for (int i = 0; i < p.tiles; ++i)
      for (int j = 0; j <= i; ++j) {  // tiles right of the diagonal hold only masked future keys
        const double v = p.values[static_cast<size_t>(i * p.tiles + j)];
        if (log_color_ && v <= 0) continue;
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
  for (size_t k = 0; k < panels_.size(); ++k) {
    const auto& p = panels_[k];
    auto* rect = row_->panel(static_cast<int>(k));
    auto* map = row_->map(static_cast<int>(k));
    const double L = static_cast<double>(p.length);
    for (auto* ax : {rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft)}) ax->setRange(0, L);
    rect->axis(QCPAxis::atLeft)->setRangeReversed(true);  // query 0 at the top, as attention maps are read
    rect->axis(QCPAxis::atBottom)->setLabel("key position");
    rect->axis(QCPAxis::atLeft)->setLabel(k == 0 ? "query position" : QString());
    rect->setBackground(QColor(236, 236, 236));  // masked (future) tiles are transparent: grey
    if (p.values.empty()) {
      row_->setTitle(static_cast<int>(k), lengthName(p.length) + " · loading…");
      continue;
    }
    row_->setTitle(static_cast<int>(k), QString("%1 · %2×%2 tiles · step %3").arg(lengthName(p.length)).arg(p.tiles).arg(p.step));
    const int G = p.tiles;
    const double half = L / (2.0 * G);
    map->data()->setSize(G, G);
    map->data()->setRange(QCPRange(half, L - half), QCPRange(half, L - half));
    for (int i = 0; i < G; ++i)
      for (int j = 0; j < G; ++j) {
        const double v = p.values[static_cast<size_t>(i * G + j)];
        map->data()->setCell(j, i, v);
        const bool hidden = j > i || (log_color_ && v <= 0);
        map->data()->setAlpha(j, i, hidden ? 0 : 255);
      }
  }
  if (!(lo <= hi)) lo = 0, hi = 1;
  if (hi <= lo) hi = lo + (log_color_ ? lo : 1e-6);
  auto* axis = row_->scale()->axis();
  row_->scale()->setDataScaleType(log_color_ ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
  if (log_color_) {
    axis->setTicker(ticks125(QCPRange(lo, hi)));
  } else {
    axis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
  }
  row_->scale()->setDataRange(QCPRange(lo, hi));
  axis->setLabel(QString("%1 attention probability").arg(kind_));
  range_ = QCPRange(lo, hi);
  setPlotTitle(heat_, QString("Attention maps · layer %1 · %2 · %3 over each tile")
                          .arg(layer_).arg(head_ < 0 ? QString("mean over heads") : QString("head %1").arg(head_)).arg(kind_));
  heat_->replot();
}

void AttentionTab::drawProfiles(const RunDetail& d, const std::vector<int64_t>& lengths) {
  const int64_t frame_step = frames_.empty() ? -1 : frames_[static_cast<size_t>(frame_)];
  for (auto* p : {distance_, entropy_, sink_}) {
    p->clearGraphs();
    p->setEmptyMessage({});
  }
  int sink_k = 0;
  for (const auto& e : d.evals_of("attention"))
    if (e.x > 0) sink_k = std::max(sink_k, nlohmann::json::parse(e.extra_json, nullptr, false).value("sink_k", 0));
  sink_->yAxis->setLabel(sink_k > 0 ? QString("mass on the first %1 tokens").arg(sink_k) : QString("mass on the first tokens"));
  bool missing = false;
  double max_len = 0;
  for (size_t k = 0; k < lengths.size(); ++k) {
    const int64_t L = lengths[k];
    const QColor col = lengthColor(k, lengths.size());
    const int head = head_;
    auto slice = [head](const ArtifactPtr& b) {
      try {
        return headSlice(*b, head < headCount(*b) ? head : -1);
      } catch (const std::exception&) {
        return std::vector<float>{};
      }
    };
    auto line = [&](PlotView* p, std::vector<double> x, std::vector<double> y, const QString& name) {
      auto* g = p->addGraph();
      g->setPen(QPen(col, 1.8));
      g->setName(name);
      g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, col, col, 4));
      p->setSeries(g, std::move(x), std::move(y));
    };
    const auto dist = fetch(d, attentionName(L, layer_, "distance"), frame_step);
    const auto edges = fetch(d, distanceEdgesName(L), frame_step);
    if (dist && edges) {
      const auto mass = slice(dist);
      const auto e = store::artifact_as_f32(*edges);
      std::vector<double> x, y;
      for (size_t b = 0; b < mass.size() && b + 1 < e.size(); ++b) {
        const double lo = e[b], hi = e[b + 1];
        // Log-spaced bins: the geometric centre; the bin from 0 sits at half its upper edge.
        x.push_back(lo > 0 ? std::sqrt(lo * hi) : std::max(0.5, hi / 2));
        y.push_back(mass[b]);
      }
      line(distance_, x, y, lengthName(L));
    } else {
      missing |= d.artifact_steps.count(attentionName(L, layer_, "distance")) > 0;
    }
    if (const auto ent = fetch(d, attentionName(L, layer_, "entropy"), frame_step)) {
      const auto v = slice(ent);
      const auto x = tileCentres(L, static_cast<int>(v.size()));
      line(entropy_, x, std::vector<double>(v.begin(), v.end()), lengthName(L));
      max_len = std::max(max_len, static_cast<double>(L));
    } else {
      missing |= d.artifact_steps.count(attentionName(L, layer_, "entropy")) > 0;
    }
    if (const auto sink = fetch(d, attentionName(L, layer_, "sink"), frame_step)) {
      const auto v = slice(sink);
      double mean = 0;
      for (float s : v) mean += s;
      mean /= std::max<size_t>(1, v.size());
      line(sink_, tileCentres(L, static_cast<int>(v.size())), std::vector<double>(v.begin(), v.end()),
           QString("%1 (mean %2)").arg(lengthName(L)).arg(mean, 0, 'f', 3));
    } else {
      missing |= d.artifact_steps.count(attentionName(L, layer_, "sink")) > 0;
    }
  }
  if (max_len > 0) {
    // What uniform attention over the causal prefix would give: ln(position + 1).
    std::vector<double> x, y;
    for (int i = 0; i <= 200; ++i) {
      x.push_back(max_len * i / 200.0);
      y.push_back(std::log(x.back() + 1));
    }
    auto* g = entropy_->addGraph();
    g->setPen(QPen(QColor(150, 150, 150), 1.2, Qt::DashLine));
    g->setName("uniform over the prefix");
    entropy_->setSeries(g, x, y);
  }
  for (auto* p : {distance_, entropy_, sink_}) {
    p->legend->setVisible(p->graphCount() > 0);
    if (p->graphCount() == 0) {
      p->setEmptyMessage(missing ? QString("loading…") : QString("not captured"));
      p->replot();
    } else {
      p->fitAndReplot();
    }
  }
}

}  // namespace ctx::gui
