// Training curves of the selected runs: loss, learning rate, throughput and, for CUDA runs, GPU
// memory and utilisation stacked on one shared x axis (step or tokens seen), log-y for the loss,
// TensorBoard-style EMA smoothing with the raw curve faint behind. Follows live runs until the
// user zooms; a double click follows again.
#pragma once

#include <QCheckBox>
#include <QComboBox>
#include <QLabel>
#include <QSlider>

#include <vector>

#include "widgets/plot_tab.h"

namespace ctx::gui {

// Exponential moving average as TensorBoard's smoothing slider computes it (debiased, so the
// first points are not pulled toward the first value): s_t = w s_{t-1} + (1-w) x_t, shown as
// s_t / (1 - w^n) after n finite values. Non-finite inputs come out NaN and leave the state alone.
std::vector<double> ema_smooth(const std::vector<double>& v, double weight);

// The tokens-seen value at each of `steps`, read from the run's "tokens_seen" series (same steps
// as the other metrics; linear between logged steps otherwise). NaN outside what was logged.
std::vector<double> steps_to_tokens(const Series& tokens_seen, const std::vector<double>& steps);

// Log-axis ticks a reader can use over any span: 1-2-5 per decade over one or two decades, every
// unit (2, 3, 4, ...) over less, powers of ten over more. QCPAxisTickerLog alone labels only
// powers of ten, which leaves a loss going from 3 to 8 without a single label.
class LogTicker125 : public QCPAxisTicker {
 protected:
  QVector<double> createTickVector(double tickStep, const QCPRange& range) override;
  QVector<double> createSubTickVector(int subTickCount, const QVector<double>& ticks) override;
};

// Linear ticks labelled with SI suffixes (250k, 1.25M): token counts and throughput read at a
// glance, where QCustomPlot would mix 750000 with 1.25·10^6 on one axis.
class SiTicker : public QCPAxisTicker {
 protected:
  QString getTickLabel(double tick, const QLocale& locale, QChar formatChar, int precision) override;
};

class TrainingTab : public PlotTab {
  Q_OBJECT
 public:
  enum class XKind { Step, Tokens };

  explicit TrainingTab(DataCache* cache, QWidget* parent = nullptr);

  QList<PlotView*> plots() const override { return {loss_, lr_, speed_, gpu_}; }
  PlotView* lossPlot() const { return loss_; }
  PlotView* lrPlot() const { return lr_; }
  PlotView* speedPlot() const { return speed_; }
  // Peak GPU memory since the previous log ("gpu_memory_gib", left axis) and GPU utilisation
  // ("gpu_util", percent, right axis, dashed) per run; hidden when no selected run logs them.
  PlotView* gpuPlot() const { return gpu_; }

  // The controls' state; setting it updates the controls and schedules a redraw.
  void setXKind(XKind k);
  XKind xKind() const;
  void setLogLoss(bool on);
  void setSmoothing(double weight);  // 0 (off) to 0.99
  double smoothing() const;

 protected:
  void redraw() override;

 private:
  void drawMetric(PlotView* plot, const char* metric, const QString& what, bool smooth, QStringList* missing_tokens);
  void drawGpu();
  // A run's points of `metric` against step or tokens seen (points without a tokens count are
  // dropped); false when it has none to place.
  bool pointsOf(const RunDetail* d, const char* metric, std::vector<double>& x, std::vector<double>& y) const;
  void fitShared();
  void alignMargins();
  void followAgain();

  PlotView* loss_;
  PlotView* lr_;
  PlotView* speed_;
  PlotView* gpu_;
  QComboBox* x_kind_;
  QCheckBox* log_loss_;
  QSlider* smooth_;
  QLabel* smooth_label_;
  QLabel* note_;
  bool follow_ = true;  // refit on every redraw until the user zooms or drags
  bool syncing_ = false;
  QVector<qint64> drawn_selection_;
};

}  // namespace ctx::gui
