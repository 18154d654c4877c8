// The Studies tab: the study files shipped with CtxLab (resources/studies) and the studies of the
// store in one list; for the selected one its paper, claim and checks (held, not held, not run
// yet, with the numbers compared) and the paper's figure drawn from the stored results of its runs
// (the file's "plot": perplexity against length or scale, retrieval by depth). "Run study" asks
// the window to queue `ctxlab-cli study run` on the selected file. Reads only the DataCache; a
// store study's runs are asked for (runsWanted) so that their evaluations are fetched.
#pragma once

#include <QTimer>
#include <QVector>
#include <QWidget>
#include <nlohmann/json.hpp>
#include <vector>

#include "widgets/data_cache.h"
#include "widgets/plot_view.h"
#include "widgets/study_data.h"

class QComboBox;
class QLabel;
class QPushButton;
class QTableWidget;
class QTreeWidget;
class QTreeWidgetItem;

namespace ctx::gui {

class StudyView : public QWidget {
  Q_OBJECT
 public:
  // `studies_dir`: where the study files are (":/studies" in the window).
  StudyView(DataCache* cache, const QString& studies_dir, QWidget* parent = nullptr);

  // Shows the study file of this name (and the newest store study run from it), or store study
  // `id`. False when there is no such entry.
  bool selectFile(const QString& name);
  bool selectStoreStudy(int64_t id);

  // What is shown, for tests and screenshots.
  const std::vector<StudyFileInfo>& files() const { return files_; }
  const StudyFileInfo* shownFile() const { return file_; }
  int64_t shownStudy() const { return study_; }
  const std::vector<StudyRunRef>& shownRuns() const { return runs_; }
  const std::vector<CheckRow>& shownChecks() const { return checks_; }
  PlotView* plot() const { return plot_; }
  QTableWidget* checksTable() const { return checks_table_; }
  QPushButton* runButton() const { return run_; }
  QComboBox* deviceBox() const { return device_; }
  QString headerText() const;
  // A store study is shown whose runs' evaluations have not arrived yet (screenshots wait).
  bool waitingForData() const;
  // Redraws at once (normal updates are coalesced on a short timer).
  void redrawNow();

 signals:
  // The runs of the shown store study, so that the window fetches their evaluations.
  void runsWanted(const QVector<qint64>& runs);
  // "Run study": the file (as written) to run; `device` is "" for each run's own.
  void runRequested(const nlohmann::json& study, const QString& name, const QString& device);

 protected:
  void showEvent(QShowEvent* e) override;

 private:
  void rebuild_list();
  void on_current(QTreeWidgetItem* item);
  void show_study(const StudyFileInfo* file, int64_t study);
  void schedule();
  void redraw();
  void draw_figure(const StudyFigure& f);
  void fill_checks();
  int64_t newest_store_study(const std::string& name) const;

  DataCache* cache_;
  std::vector<StudyFileInfo> files_;
  std::vector<store::Study> listed_;  // the store's studies as last listed
  const StudyFileInfo* file_ = nullptr;
  int64_t study_ = 0;
  bool following_file_ = false;  // a file is selected: show its newest store study as it appears
  std::vector<StudyRunRef> runs_;
  QVector<qint64> wanted_;
  std::vector<CheckRow> checks_;
  QList<QCPAbstractItem*> marks_;

  QTreeWidget* list_;
  QTreeWidgetItem* files_root_;
  QTreeWidgetItem* store_root_;
  QLabel* title_;
  QLabel* about_;
  QComboBox* device_;
  QPushButton* run_;
  QTableWidget* checks_table_;
  PlotView* plot_;
  QTimer timer_;
  bool dirty_ = true;
};

}  // namespace ctx::gui
