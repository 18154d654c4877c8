// The attention tab: one run's captured attention (issue 5's artifacts) — pooled maps per length
// side by side on one colour scale, with layer, head and map-kind pickers, a linear/log colour
// toggle and a playback over the training steps captured; below, attention mass against distance,
// entropy and sink mass against query position, one line per length. Blobs are fetched on demand.
// Hovering a tile names its query and key token ranges and, when the capture stored the probe's
// token texts, what those tokens say. "Compare runs" shows the selected runs side by side at one
// length instead, with a difference map of two of them (attention_compare.h).
#pragma once

#include <QCheckBox>
#include <QComboBox>
#include <QLabel>
#include <QPushButton>
#include <QSlider>
#include <QStringList>
#include <QTimer>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "widgets/attention_compare.h"
#include "widgets/attention_data.h"
#include "widgets/heatmap_row.h"
#include "widgets/plot_tab.h"

namespace ctx::gui {

class AttentionTab : public PlotTab {
  Q_OBJECT
 public:
  explicit AttentionTab(DataCache* cache, QWidget* parent = nullptr);

  QList<PlotView*> plots() const override {
    return {heat_, distance_, entropy_, sink_, compare_->mapsPlot(), compare_->diffPlot()};
  }

  // The pickers, for scripting and tests (each redraws through the usual timer).
  void setRun(qint64 run);
  void setLayer(int layer);
  void setHead(int head);  // -1: mean over heads
  void setKind(const QString& kind);  // "mean" | "max"
  void setLogColor(bool log);
  void setFrame(int index);  // index into frames()
  // Steps through the frames from the one shown (from the first when at the end), one per
  // kPlayMs once that frame's blobs have arrived, and stops at the last.
  void setPlaying(bool on);
  // Runs side by side at one length (true) or one run's lengths side by side (false).
  void setCompareRuns(bool on);
  bool compareRuns() const { return compare_mode_; }
  AttentionCompare* compare() const { return compare_; }
  int frame() const { return frame_; }
  qint64 run() const { return run_; }
  const std::vector<int64_t>& frames() const { return frames_; }

  // What is drawn: the colour map of length L (nullptr when not shown), the shared colour range,
  // and the hover text for query tile i, key tile j of length L (its lines joined by " · ").
  QCPColorMap* colorMap(int64_t length) const;
  QCPRange colorRange() const;
  QString tileText(int64_t length, int i, int j) const;
  QString hoverText() const { return hover_->text(); }
  bool playing() const { return play_timer_.isActive(); }
  bool waitingForData() const override { return !complete_; }

  static constexpr int kPlayMs = 600;

 protected:
  void redraw() override;

 private:
  struct Panel {
    int64_t length = 0;
    int tiles = 0;
    int64_t step = -1;
    std::vector<float> values;  // [G*G] row-major (query, key) for the chosen head; empty while loading
    std::shared_ptr<const std::vector<std::string>> tokens;  // the probe's token texts, when stored
  };
  QStringList tileLines(int64_t length, int i, int j) const;
  std::shared_ptr<const std::vector<std::string>> tokensOf(const ArtifactPtr& blob);
  void syncRunBox(const std::vector<int64_t>& runs);
  void syncLayerAndFrames(const AttentionIndex& idx);
  void syncHeadBox(int heads);
  void drawEmpty(const QString& why);
  void redrawCompare(const std::vector<int64_t>& runs);
  void showCompare(bool on);
  void drawMaps(const RunDetail& d, const std::vector<int64_t>& lengths);
  void drawProfiles(const RunDetail& d, const std::vector<int64_t>& lengths);
  ArtifactPtr fetch(const RunDetail& d, const std::string& name, int64_t frame_step);
  void hover(QMouseEvent* e);
  void tick();

  qint64 run_ = -1;
  bool user_picked_run_ = false;  // from the run box; otherwise the first run with captures
  int layer_ = -1;
  int head_ = -1;
  QString kind_ = "mean";
  bool log_color_ = false;
  int frame_ = -1;
  bool follow_latest_ = true;  // the slider tracks new captures while it sits at the end
  bool complete_ = true;       // every blob of the frame on screen has arrived
  bool compare_mode_ = false;
  std::vector<int64_t> frames_;
  std::vector<Panel> panels_;
  // Parsed token texts by blob, so hovering never parses JSON.
  std::map<const ctx::store::Artifact*, std::pair<ArtifactPtr, std::shared_ptr<const std::vector<std::string>>>> token_texts_;
  QCPRange range_{0, 1};

  QComboBox *show_box_, *run_box_, *layer_box_, *head_box_, *kind_box_;
  QCheckBox* log_box_;
  QSlider* slider_;
  QPushButton* play_;
  QLabel *step_label_, *hover_;
  QTimer play_timer_;
  PlotView *heat_, *distance_, *entropy_, *sink_;
  QWidget* profiles_;  // the three profile plots, hidden in the empty state
  QList<QWidget*> single_only_;  // controls of the one-run view (run, step slider, playback)
  AttentionCompare* compare_;
  HeatmapRow* row_;
};

}  // namespace ctx::gui
