// The workbench window: run browser on the left, configurator and plot tabs on the right, the
// queue below. It owns one read-write store connection for the user's edits (tags, notes,
// deletions); live data comes from a StoreFollower thread into the DataCache.
#pragma once

#include <QMainWindow>
#include <QPointer>

#include <map>
#include <memory>

#include "app/presets.h"
#include "store/run_store.h"
#include "widgets/data_cache.h"

class QLabel;
class QTabWidget;
class QFrame;
class QPushButton;

namespace ctx::gui {

class Configurator;
class PlotTab;
class QueuePanel;
class RunBrowser;
class RunQueue;
class StoreFollower;
class StudyView;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(const QString& db_path, QWidget* parent = nullptr);
  ~MainWindow() override;

  // Opens (or creates) a store; on failure the window keeps working and says why in a banner.
  bool openStore(const QString& path);
  QString storePath() const { return db_path_; }
  bool storeOpen() const { return store_ != nullptr; }

  DataCache* cache() const { return cache_; }
  RunBrowser* browser() const { return browser_; }
  RunQueue* queue() const { return queue_; }
  QTabWidget* tabs() const { return tabs_; }
  Configurator* configurator() const { return configurator_; }
  StudyView* studies() const { return studies_; }
  const std::vector<PlotTab*>& plotTabs() const { return plot_tabs_; }
  QString bannerText() const;

  // Screenshot mode: waits until the store is read and the selected runs' data has arrived
  // (at most `timeout_ms`), then renders the window (and, with `every_tab`, one PNG per tab
  // beside `path`) and calls `done` with an empty string or the error.
  void screenshotWhenReady(const QString& path, const QString& tab, bool every_tab, int timeout_ms,
                           std::function<void(const QString&)> done);

  // Selects these runs once the store has been read (command line --select).
  void selectWhenLoaded(const QVector<qint64>& runs) { initial_selection_ = runs; }

  // Launches a study plan through the queue (the base first when it is pre-trained).
  void launchStudy(const struct StudyPlan& plan);
  void offerQuickstartStudy();
  // Queues `ctxlab-cli study run` on a study file's JSON (named `name`) on `device` ("" = each
  // run's own); its runs join the selection as they start, the Studies tab follows the results.
  int runStudy(const nlohmann::json& study, const QString& name, const QString& device);

  // Stores a Hugging Face model folder as a finished run (`ctxlab-cli import FOLDER`), in the
  // background; the new run is selected once listed, an error is shown in the banner.
  void importHfModel(const QString& folder);

 signals:
  void importFinished(bool ok, const QString& message);

 protected:
  void closeEvent(QCloseEvent* e) override;

 private:
  void build_ui();
  void build_menus();
  void show_banner(const QString& html, const QString& button = {}, std::function<void()> action = {},
                   bool error = false);
  void hide_banner();
  void on_selection(const QVector<qint64>& runs);
  void on_job_ended(int job, bool ok, const QString& message);
  void run_context_menu(const QPoint& pos);
  void stop_runs(const QVector<qint64>& runs);
  void resume_runs(const QVector<qint64>& runs);
  void delete_runs(const QVector<qint64>& runs);
  void rerun_with_edits(qint64 run);
  void evaluate_runs(const QVector<qint64>& runs);
  void new_study();
  void run_study_file_dialog();
  void import_hf_dialog();
  // Selects `run` (alone, or added to the selection) once the follower lists it.
  void select_when_listed(qint64 run, bool add);
  void take_pending_selects();
  // Shows the Training tab and selects the run of queue job `job` alone once it starts.
  void follow(int job);
  void open_store_dialog();
  void update_status();
  void write_tags(qint64 run, const QStringList& tags);
  void write_note(qint64 run, const QString& note);

  QString db_path_;
  std::unique_ptr<store::RunStore> store_;
  std::unique_ptr<QObject> session_;  // owns the follower thread of the open store
  QPointer<StoreFollower> follower_;
  DataCache* cache_ = nullptr;
  RunQueue* queue_ = nullptr;
  RunBrowser* browser_ = nullptr;
  QueuePanel* queue_panel_ = nullptr;
  Configurator* configurator_ = nullptr;
  StudyView* studies_ = nullptr;
  QTabWidget* tabs_ = nullptr;
  std::vector<PlotTab*> plot_tabs_;
  QFrame* banner_ = nullptr;
  QLabel* banner_text_ = nullptr;
  QPushButton* banner_button_ = nullptr;
  std::function<void()> banner_action_;
  QString banner_tag_;  // what the banner shows: "quickstart", "import-error", "store-error"
  QMetaObject::Connection pending_select_;
  std::map<qint64, bool> pending_selects_;  // run -> added to the selection (else alone)
  int follow_job_ = 0;                      // the queue job whose run is shown once it starts
  QString last_hf_dir_;
  QLabel* status_ = nullptr;
  std::vector<Preset> presets_;
  bool loaded_ = false;
  QVector<qint64> initial_selection_;
  bool offered_quickstart_ = false;
};

}  // namespace ctx::gui
