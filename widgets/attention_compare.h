// The attention tab's comparison of runs: two or more runs' pooled maps at the same layer, head and
// length side by side on one colour scale (each run's latest capture), and the difference A − B of
// two of them on a diverging scale centred on zero. Blobs are fetched on demand, as the tab does.
#pragma once

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QWidget>

#include <map>
#include <set>
#include <vector>

#include "widgets/attention_data.h"
#include "widgets/data_cache.h"
#include "widgets/heatmap_row.h"

namespace ctx::gui {

// a − b element by element; throws std::invalid_argument when the sizes differ.
std::vector<float> differenceMap(const std::vector<float>& a, const std::vector<float>& b);
// Blue (negative), white (zero), red (positive): for differences on a symmetric range.
QCPColorGradient divergingGradient();

class AttentionCompare : public QWidget {
  Q_OBJECT
 public:
  explicit AttentionCompare(DataCache* cache, QWidget* parent = nullptr);

  // What the tab's pickers say; draw() corrects a layer the runs did not capture.
  struct View {
    int layer = -1;
    int head = -1;  // -1: mean over heads
    QString kind = "mean";
    bool log = false;
  };
  struct Drawn {
    std::set<int> layers;  // captured by any of the runs
    int heads = 0;
    bool complete = true;  // every blob on screen has arrived
  };
  Drawn draw(const std::vector<int64_t>& runs, View& view);

  void setLength(int64_t length);
  int64_t length() const { return length_; }
  void setPair(qint64 a, qint64 b);  // the difference shown is a − b
  qint64 pairA() const { return a_; }
  qint64 pairB() const { return b_; }

  PlotView* mapsPlot() const { return maps_; }
  PlotView* diffPlot() const { return diff_; }
  QList<PlotView*> plots() const { return {maps_, diff_}; }
  // The colour map of a run (null when it has no map drawn), the shared range, the difference map
  // (null when none is drawn) and the values each shows (row-major query × key tiles).
  QCPColorMap* colorMap(qint64 run) const;
  QCPRange colorRange() const { return row_->scale()->dataRange(); }
  QCPColorMap* differenceColorMap() const;
  std::vector<float> values(qint64 run) const;
  const std::vector<float>& differenceValues() const { return diff_values_; }
  QString noteText() const { return note_->text(); }

 signals:
  void changed();  // the length or the pair was picked: the tab redraws

 private:
  struct Panel {
    qint64 run = 0;
    int tiles = 0;
    int64_t step = -1;
    std::vector<float> values;
  };
  void drawMaps(const View& view);
  void drawDifference();
  void hover(PlotView* plot, QMouseEvent* e);

  DataCache* cache_;
  int64_t length_ = 0;
  qint64 a_ = -1, b_ = -1;
  std::vector<Panel> panels_;
  std::vector<float> diff_values_;
  int diff_tiles_ = 0;
  QComboBox *length_box_, *a_box_, *b_box_;
  QLabel *note_, *hover_, *minus_;
  PlotView *maps_, *diff_;
  QHBoxLayout* plots_layout_;
  HeatmapRow *row_, *diff_row_;
};

}  // namespace ctx::gui
