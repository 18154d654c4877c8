// PlotTab: selection, coalesced redraws; see plot_tab.h.
#include "widgets/plot_tab.h"

namespace ctx::gui {

PlotTab::PlotTab(DataCache* cache, QWidget* parent) : QWidget(parent), cache_(cache) {
  timer_.setSingleShot(true);
  timer_.setInterval(kCoalesceMs);
  connect(&timer_, &QTimer::timeout, this, [this] {
    if (!isVisible()) return;  // showEvent redraws
    dirty_ = false;
    safe_redraw();
  });
  auto touches = [this](const QSet<qint64>& runs) {
    for (qint64 r : selection_)
      if (runs.contains(r)) return true;
    return false;
  };
  connect(cache_, &DataCache::detailsChanged, this, [this, touches](const QSet<qint64>& runs) {
    if (touches(runs)) scheduleRedraw();
  });
  connect(cache_, &DataCache::runsChanged, this, [this, touches](const QSet<qint64>& runs, bool) {
    if (touches(runs)) scheduleRedraw();
  });
}

QString PlotTab::preferredMode(const QStringList& present, const QString& current) const {
  if (present.contains(current)) return current;
  for (qint64 run : selection_) {
    const auto& ev = cache_->config(run).value("eval", nlohmann::json::object());
    const auto mv = ev.is_object() && ev.contains("mode") ? ev["mode"] : nlohmann::json();
    const auto& first = mv.is_array() && !mv.empty() ? mv[0] : mv;
    const QString m = first.is_string() ? QString::fromStdString(first.get<std::string>()) : QString();
    if (present.contains(m)) return m;
  }
  return present.isEmpty() ? QString() : present.front();
}

void PlotTab::setSelection(const QVector<qint64>& runs) {
  if (runs == selection_) return;
  selection_ = runs;
  scheduleRedraw();
}

void PlotTab::redrawNow() {
  timer_.stop();
  dirty_ = false;
  safe_redraw();
}

void PlotTab::safe_redraw() {
  // A run written by another engine version may hold values of unexpected types: one tab
  // failing to draw it must not take the window (and the user's queue) down.
  try {
    redraw();
  } catch (const std::exception& e) {
    qWarning("%s: redraw failed: %s", metaObject()->className(), e.what());
  }
}

void PlotTab::scheduleRedraw() {
  dirty_ = true;
  if (!timer_.isActive()) timer_.start();
}

void PlotTab::showEvent(QShowEvent* e) {
  QWidget::showEvent(e);
  if (dirty_) scheduleRedraw();
}

}  // namespace ctx::gui
