// The frequencies tab: for the selected runs' RoPE, θ'_j per pair, wavelengths against the training
// and target lengths, the ratio θ'_j/θ_j (with YaRN's ramp), and CLEX's frequencies over its scale
// t. Numbers come from `ctxlab-cli rope --run N --length L`, run off the GUI thread and cached.
#pragma once

#include <QComboBox>
#include <QLabel>
#include <QPushButton>

#include <functional>
#include <map>

#include "widgets/cli_call.h"
#include "widgets/plot_tab.h"
#include "widgets/rope_curves.h"

namespace ctx::gui {

class FrequenciesTab : public PlotTab {
  Q_OBJECT
 public:
  // Starts a ctxlab-cli query; the callback runs later on `context`'s thread (runCli by default).
  using CliRunner = std::function<void(QObject* context, const QStringList& args, std::function<void(const CliResult&)>)>;

  explicit FrequenciesTab(DataCache* cache, QWidget* parent = nullptr);

  QList<PlotView*> plots() const override { return {inv_, wave_, ratio_, clex_}; }
  void setCliRunner(CliRunner runner) { runner_ = std::move(runner); }
  void setStorePath(const QString& path) { db_ = path; }
  // The evaluated length shown (0 until a run is selected); setting it pins the picker.
  int64_t length() const { return length_; }
  void setLength(int64_t L);
  // The curves of (run, length), once the query has answered successfully.
  const RopeCurves* curves(int64_t run, int64_t length) const;
  QString statusText() const { return status_->text(); }
  // A rope query for what is shown has not answered yet (screenshots wait for it).
  bool waitingForData() const override;
  // Per pair and run: θ, θ', ratio, wavelength, ramp — what the plots show, as CSV.
  QString csv() const;

  static constexpr int kMaxInFlight = 2;  // rope --run loads a checkpoint: keep the cores for the window

 protected:
  void redraw() override;

 private:
  struct Entry {
    enum State { Pending, Done, Failed } state = Pending;
    RopeCurves curves;
    QString error;
    std::string run_status;  // the run's status when asked: a finished run's checkpoint differs
  };
  using Key = std::pair<int64_t, int64_t>;  // (run, length)
  const Entry* want(int64_t run, int64_t length);
  void pump();
  void refreshLengthChoices(const std::vector<int64_t>& runs);
  void draw(const std::vector<int64_t>& runs);
  void drawClex(const std::vector<int64_t>& runs);

  CliRunner runner_;
  QString db_;
  std::map<Key, Entry> results_;
  std::vector<Key> queue_;
  int in_flight_ = 0;
  int64_t length_ = 0;
  bool pinned_ = false;
  QComboBox* length_box_;
  QLabel* status_;
  QPushButton* export_;
  PlotView *inv_, *wave_, *ratio_, *clex_;
};

}  // namespace ctx::gui
