// MainWindow: layout, store opening, run actions, studies, closing, screenshots; see main_window.h.
#include "app/main_window.h"

#include <QApplication>
#include <QCloseEvent>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QTimer>
#include <QToolBar>
#include <QVBoxLayout>
#include <csignal>

#include "app/evaluate_dialog.h"
#include "app/queue_panel.h"
#include "app/run_browser.h"
#include "app/run_queue.h"
#include "app/study_dialog.h"
#include "widgets/attention_tab.h"
#include "widgets/cli_call.h"
#include "widgets/compare_tab.h"
#include "widgets/configurator.h"
#include "widgets/frequencies_tab.h"
#include "widgets/perplexity_tab.h"
#include "widgets/position_loss_tab.h"
#include "widgets/positions_tab.h"
#include "widgets/retrieval_tab.h"
#include "widgets/store_follower.h"
#include "widgets/study_view.h"
#include "widgets/tasks_tab.h"
#include "widgets/training_tab.h"

// The presets and icon are compiled into the static ctxlab_app library, whose resource
// initialiser the linker would drop: registered here, at global scope as the macro requires.
static void init_resources() {
  Q_INIT_RESOURCE(ctxlab_resources);
}

namespace ctx::gui {

MainWindow::MainWindow(const QString& db_path, QWidget* parent) : QMainWindow(parent) {
  init_resources();
  setWindowIcon(QIcon(":/icons/ctxlab.svg"));
  presets_ = loadPresets();
  cache_ = new DataCache(this);
  queue_ = new RunQueue(db_path, this);
  build_ui();
  build_menus();
  openStore(db_path);
  resize(1500, 920);
}

MainWindow::~MainWindow() {
  session_.reset();  // stops the follower thread before the cache goes
}

void MainWindow::build_ui() {
  browser_ = new RunBrowser(cache_, this);
  tabs_ = new QTabWidget(this);
  tabs_->setDocumentMode(true);
  configurator_ = new Configurator(":/presets", this, false);
  tabs_->addTab(configurator_, "New run");
  auto add = [&](PlotTab* t, const QString& title) {
    plot_tabs_.push_back(t);
    tabs_->addTab(t, title);
  };
  add(new TrainingTab(cache_, this), "Training");
  add(new PerplexityTab(cache_, this), "Perplexity");
  add(new PositionLossTab(cache_, this), "Per-position loss");
  add(new PositionsTab(cache_, this), "Positions");
  add(new FrequenciesTab(cache_, this), "Frequencies");
  add(new AttentionTab(cache_, this), "Attention");
  add(new RetrievalTab(cache_, this), "Retrieval");
  add(new TasksTab(cache_, this), "Tasks");
  add(new CompareTab(cache_, this), "Compare");
  studies_ = new StudyView(cache_, ":/studies", this);
  tabs_->addTab(studies_, "Studies");

  banner_ = new QFrame(this);
  banner_text_ = new QLabel(banner_);
  banner_text_->setWordWrap(true);
  banner_text_->setTextFormat(Qt::RichText);
  banner_button_ = new QPushButton(banner_);
  auto* close = new QPushButton("×", banner_);
  close->setFlat(true);
  close->setFixedWidth(28);
  close->setToolTip("Dismiss");
  auto* bl = new QHBoxLayout(banner_);
  bl->setContentsMargins(10, 6, 6, 6);
  bl->addWidget(banner_text_, 1);
  bl->addWidget(banner_button_);
  bl->addWidget(close);
  banner_->hide();
  connect(close, &QPushButton::clicked, this, &MainWindow::hide_banner);
  connect(banner_button_, &QPushButton::clicked, this, [this] {
    if (banner_action_) banner_action_();
  });

  auto* left = new QWidget(this);
  auto* ll = new QVBoxLayout(left);
  ll->setContentsMargins(6, 6, 0, 0);
  ll->addWidget(browser_);
  auto* split = new QSplitter(Qt::Horizontal, this);
  split->addWidget(left);
  split->addWidget(tabs_);
  split->setStretchFactor(0, 0);
  split->setStretchFactor(1, 1);
  split->setSizes({560, 940});
  auto* central = new QWidget(this);
  auto* cl = new QVBoxLayout(central);
  cl->setContentsMargins(0, 0, 0, 0);
  cl->setSpacing(0);
  cl->addWidget(banner_);
  cl->addWidget(split, 1);
  setCentralWidget(central);

  queue_panel_ = new QueuePanel(queue_, this);
  auto* dock = new QDockWidget("Queue", this);
  dock->setObjectName("queue");
  dock->setWidget(queue_panel_);
  dock->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable);
  dock->setTitleBarWidget(new QWidget(dock));
  addDockWidget(Qt::BottomDockWidgetArea, dock);
  resizeDocks({dock}, {120}, Qt::Vertical);

  status_ = new QLabel(this);
  statusBar()->addPermanentWidget(status_);

  connect(browser_, &RunBrowser::selectionChanged, this, &MainWindow::on_selection);
  connect(browser_, &RunBrowser::contextMenuRequested, this, &MainWindow::run_context_menu);
  connect(browser_->model(), &RunTableModel::tagsEdited, this, &MainWindow::write_tags);
  connect(browser_->model(), &RunTableModel::noteEdited, this, &MainWindow::write_note);
  connect(queue_, &RunQueue::jobEnded, this, &MainWindow::on_job_ended);
  connect(queue_, &RunQueue::changed, this, &MainWindow::update_status);
  connect(queue_, &RunQueue::runStarted, this, [this](int job, qint64 run) {
    // The run just launched (Launch, a study's first run) is shown alone; runs the queue starts
    // later join the selection. Either once the follower lists them.
    const bool followed = job == follow_job_;
    if (followed) follow_job_ = 0;
    select_when_listed(run, !followed);
  });
  // A study shown in the Studies tab selects its runs, so their results are fetched (and every
  // plot tab shows them); "Run study" goes to the queue.
  connect(studies_, &StudyView::runsWanted, browser_, [this](const QVector<qint64>& runs) { browser_->selectRuns(runs); });
  connect(studies_, &StudyView::runRequested, this,
          [this](const nlohmann::json& study, const QString& name, const QString& device) { runStudy(study, name, device); });
  connect(queue_panel_, &QueuePanel::runActivated, this, [this](qint64 run) { browser_->selectRuns({run}); });
  connect(configurator_, &Configurator::launchRequested, this, [this](const nlohmann::json& config) {
    if (!store_) {
      statusBar()->showMessage("No store is open: open or create one first (File menu).", 8000);
      return;
    }
    const QString name = config.contains("name") && config["name"].is_string()
                             ? QString::fromStdString(config["name"].get<std::string>())
                             : QString("run");
    const int gpus = configurator_->gpuCount();
    follow(queue_->addTrain(config, name, {}, 0, 0, gpus));
    statusBar()->showMessage(QString("Queued '%1'%2: the Training tab follows it once it starts.")
                                 .arg(name)
                                 .arg(gpus > 1 ? QString(" on %1 GPUs").arg(gpus) : QString()),
                             8000);
  });
  connect(configurator_, &Configurator::multiGpuChanged, this,
          [this](const MultiGpu& m) { queue_->setTorchrun(m.torchrun); });
  connect(cache_, &DataCache::runsChanged, this, [this](const QSet<qint64>&, bool structural) {
    if (!loaded_) {
      loaded_ = true;
      // The registry fetch starts two ctxlab-cli processes (each loads LibTorch); started after
      // the table has painted, they do not delay the first view of a large store.
      QTimer::singleShot(300, configurator_, [c = configurator_] {
        if (!c->isReady()) c->fetchRegistry();
      });
      // Something to look at on open: the newest run is selected.
      if (!initial_selection_.isEmpty()) {
        browser_->selectRuns(initial_selection_);
      } else if (!cache_->runIds().empty() && browser_->selectedRuns().isEmpty()) {
        browser_->selectRuns({cache_->runIds().front()});
      }
    }
    if (structural) update_status();
    if (loaded_ && cache_->runIds().empty() && store_ && !offered_quickstart_) offerQuickstartStudy();
  });
  connect(cache_, &DataCache::watchedChanged, this, [this](const QVector<qint64>& runs) {
    if (follower_) QMetaObject::invokeMethod(follower_, "setWatched", Qt::QueuedConnection, Q_ARG(QVector<qint64>, runs));
  });
  connect(cache_, &DataCache::artifactWanted, this, [this](qint64 run, const QString& name, qint64 step) {
    if (follower_)
      QMetaObject::invokeMethod(follower_, "requestArtifact", Qt::QueuedConnection, Q_ARG(qint64, run),
                                Q_ARG(QString, name), Q_ARG(qint64, step));
  });
}

bool MainWindow::openStore(const QString& path) {
  disconnect(pending_select_);
  pending_select_ = {};
  pending_selects_.clear();
  follow_job_ = 0;
  session_.reset();
  follower_ = nullptr;
  cache_->setWatched({});
  auto empty = std::make_shared<SummaryBatch>();
  empty->full = true;
  cache_->applySummaries(empty);
  loaded_ = false;  // after clearing: the next batch is the new store's first read
  store_.reset();
  db_path_ = path;
  setWindowTitle(QString("CtxLab — %1").arg(QFileInfo(path).fileName()));
  try {
    store_ = std::make_unique<store::RunStore>(path.toStdString());
  } catch (const std::exception& e) {
    if (!configurator_->isReady()) configurator_->fetchRegistry();
    // Nothing is written to a file we cannot read as ours; the window goes on without a store.
    show_banner("<b>Cannot open the run store.</b> " + QString::fromStdString(e.what()).toHtmlEscaped() +
                    "<br>The file was left untouched. Open another store or create a new one.",
                "Open another store…", [this] { open_store_dialog(); }, true);
    banner_tag_ = "store-error";
    update_status();
    return false;
  }
  hide_banner();
  queue_->setDbPath(path);
  for (auto* t : plot_tabs_)
    if (auto* f = qobject_cast<FrequenciesTab*>(t)) f->setStorePath(path);
  session_ = std::make_unique<QObject>();
  follower_ = startFollower(path, session_.get());
  connect(follower_, &StoreFollower::summariesReady, cache_, &DataCache::applySummaries);
  connect(follower_, &StoreFollower::detailsReady, cache_, &DataCache::applyDetails);
  connect(follower_, &StoreFollower::artifactReady, cache_, &DataCache::applyArtifact);
  connect(follower_, &StoreFollower::failed, this,
          [this](const QString& msg) { statusBar()->showMessage("Store: " + msg, 10000); });
  update_status();
  return true;
}

void MainWindow::show_banner(const QString& html, const QString& button, std::function<void()> action, bool error) {
  banner_text_->setText(html);
  banner_button_->setText(button);
  banner_button_->setVisible(!button.isEmpty());
  banner_action_ = std::move(action);
  banner_->setStyleSheet(error ? "QFrame { background: #fdecea; border-bottom: 1px solid #e0a8a0; }"
                               : "QFrame { background: #e8f1fb; border-bottom: 1px solid #a8c4e0; }");
  banner_tag_.clear();
  banner_->show();
}

void MainWindow::hide_banner() {
  banner_->hide();
  banner_tag_.clear();
}

QString MainWindow::bannerText() const {
  return banner_->isVisibleTo(const_cast<MainWindow*>(this)) ? banner_text_->text() : QString();
}

void MainWindow::on_selection(const QVector<qint64>& runs) {
  cache_->setWatched(runs);
  for (auto* t : plot_tabs_) t->setSelection(runs);
  update_status();
}

void MainWindow::update_status() {
  QString s = store_ ? QString("%1 · %2 runs").arg(db_path_).arg(cache_->runIds().size()) : QString("no store open");
  const int sel = browser_->selectedRuns().size();
  if (sel) s += QString(" · %1 selected").arg(sel);
  const int running = queue_->runningCount(), waiting = queue_->waitingCount();
  if (running || waiting) s += QString(" · queue: %1 running, %2 waiting").arg(running).arg(waiting);
  status_->setText(s);
}

void MainWindow::on_job_ended(int job, bool ok, const QString& message) {
  const auto* j = queue_->job(job);
  if (!ok && store_) {
    // A child that died leaves its run marked running; say so now rather than at the next
    // heartbeat check (its pid is gone on this host).
    try {
      store_->reconcile_interrupted();
    } catch (const std::exception&) {
    }
  }
  statusBar()->showMessage(QString("%1 %2: %3").arg(j ? j->label : QString("job")).arg(ok ? "finished" : "failed", message),
                           ok ? 6000 : 15000);
  update_status();
}

void MainWindow::write_tags(qint64 run, const QStringList& tags) {
  if (!store_) return;
  try {
    const auto old = store_->tags(run);
    std::set<std::string> want;
    for (const auto& t : tags) want.insert(t.toStdString());
    store_->transaction([&] {
      for (const auto& t : old)
        if (!want.count(t)) store_->remove_tag(run, t);
      for (const auto& t : want) store_->add_tag(run, t);
    });
    if (const auto* s = cache_->summary(run)) {
      auto copy = *s;
      copy.tags.assign(want.begin(), want.end());
      cache_->patchSummary(copy);
    }
  } catch (const std::exception& e) {
    statusBar()->showMessage(QString("Tags not saved: %1").arg(e.what()), 10000);
  }
}

void MainWindow::write_note(qint64 run, const QString& note) {
  if (!store_) return;
  try {
    store_->set_note(run, note.toStdString());
    if (const auto* s = cache_->summary(run)) {
      auto copy = *s;
      copy.note = note.toStdString();
      cache_->patchSummary(copy);
    }
  } catch (const std::exception& e) {
    statusBar()->showMessage(QString("Note not saved: %1").arg(e.what()), 10000);
  }
}

void MainWindow::run_context_menu(const QPoint& pos) {
  const auto sel = browser_->selectedRuns();
  if (sel.isEmpty()) return;
  QMenu menu(this);
  menu.addAction("Stop", this, [this, sel] { stop_runs(sel); });
  menu.addAction("Resume", this, [this, sel] { resume_runs(sel); });
  menu.addAction("Re-run with edits", this, [this, sel] { rerun_with_edits(sel.front()); });
  menu.addAction("Evaluate at more lengths…", this, [this, sel] { evaluate_runs(sel); });
  menu.addAction("New study from this base…", this, [this] { new_study(); });
  menu.addSeparator();
  menu.addAction("Compare", this, [this] {
    for (int i = 0; i < tabs_->count(); ++i)
      if (tabs_->tabText(i) == "Compare") tabs_->setCurrentIndex(i);
  });
  menu.addSeparator();
  menu.addAction("Delete…", this, [this, sel] { delete_runs(sel); });
  menu.exec(pos);
}

void MainWindow::stop_runs(const QVector<qint64>& runs) {
  QStringList problems;
  for (qint64 run : runs) {
    bool queued = false;
    for (const auto& j : queue_->jobs()) {
      if (j.run == run && j.state == QueueJob::Running) {
        queue_->stop(j.id);
        queued = true;
      }
    }
    if (queued) continue;
    const auto* s = cache_->summary(run);
    if (!s || s->run.status != store::RunStatus::Running) continue;
    // Started elsewhere (a terminal, an earlier session): signal it if it runs on this host.
    if (s->run.host == store::host_name() && s->run.pid > 0 && ::kill(static_cast<pid_t>(s->run.pid), SIGTERM) == 0) continue;
    problems << QString("run %1 runs on %2 (pid %3): stop it there").arg(run).arg(QString::fromStdString(s->run.host)).arg(s->run.pid);
  }
  if (!problems.isEmpty()) QMessageBox::information(this, "Stop", problems.join('\n'));
}

void MainWindow::resume_runs(const QVector<qint64>& runs) {
  int n = 0;
  for (qint64 run : runs) {
    const auto* s = cache_->summary(run);
    if (!s || s->run.status != store::RunStatus::Interrupted) continue;
    // A run trained on several GPUs resumes on as many (the CLI refuses another world size).
    queue_->addResume(run, QString("resume #%1 %2").arg(run).arg(QString::fromStdString(s->run.name)),
                      trainedWorldSize(nlohmann::json::parse(s->run.config_json, nullptr, false)));
    ++n;
  }
  statusBar()->showMessage(n ? QString("Queued %1 resume(s).").arg(n) : "Only interrupted runs can be resumed.", 6000);
}

void MainWindow::rerun_with_edits(qint64 run) {
  const auto& cfg = cache_->config(run);
  if (cfg.empty()) return;
  configurator_->loadConfig(cfg, QString("run #%1").arg(run));
  tabs_->setCurrentWidget(configurator_);
}

void MainWindow::evaluate_runs(const QVector<qint64>& runs) {
  if (runs.isEmpty()) return;
  EvaluateDialog d(evaluateTargets(*cache_, runs), this);
  if (d.exec() != QDialog::Accepted || d.lengths().isEmpty()) return;
  const QString modes = d.modes().isEmpty() ? QString() : " (" + d.modes().join(", ") + ")";
  for (qint64 run : runs)
    queue_->addCli(evaluateArgs(run, d.lengths(), d.modes()),
                   QString("eval #%1 at %2%3").arg(run).arg(d.lengths(), modes));
}

void MainWindow::delete_runs(const QVector<qint64>& runs) {
  if (runs.isEmpty() || !store_) return;
  for (qint64 r : runs) {
    if (const auto* s = cache_->summary(r); s && s->run.status == store::RunStatus::Running) {
      QMessageBox::information(this, "Delete", QString("Run %1 is running: stop it first.").arg(r));
      return;
    }
  }
  const auto answer = QMessageBox::question(
      this, "Delete runs",
      QString("Delete %1 run(s) with their metrics, evaluations, artifacts, tags and notes? This cannot be undone.")
          .arg(runs.size()));
  if (answer != QMessageBox::Yes) return;
  for (qint64 r : runs) {
    try {
      store_->delete_run(r);
      cache_->removeRun(r);
    } catch (const std::exception& e) {
      QMessageBox::warning(this, "Delete", QString::fromStdString(e.what()));
      return;
    }
  }
}

void MainWindow::new_study() {
  if (!store_) return;
  StudyDialog d(cache_, presets_, this);
  if (d.exec() != QDialog::Accepted) return;
  launchStudy(d.plan());
}

void MainWindow::launchStudy(const StudyPlan& plan) {
  const QString study = plan.name.isEmpty() ? QString("study") : plan.name;
  int base_job = 0, first = 0;
  if (plan.base_preset) first = base_job = queue_->addTrain(plan.base_preset->config, plan.base_preset->name + " (base)", study);
  for (const auto& m : plan.methods) {
    const int job = queue_->addTrain(m.config, m.name, study, base_job, plan.base_preset ? 0 : plan.base_run);
    if (!first) first = job;
  }
  if (first) follow(first);
  statusBar()->showMessage(QString("Study '%1': %2 run(s) queued.").arg(study).arg(plan.methods.size() + (base_job ? 1 : 0)),
                           8000);
  hide_banner();
}

void MainWindow::import_hf_dialog() {
  if (!store_) {
    statusBar()->showMessage("No store is open: open or create one first (File menu).", 8000);
    return;
  }
  const QString dir = QFileDialog::getExistingDirectory(this, "Import Hugging Face model folder", last_hf_dir_);
  if (dir.isEmpty()) return;
  last_hf_dir_ = QFileInfo(dir).path();
  importHfModel(dir);
}

void MainWindow::importHfModel(const QString& folder) {
  if (!store_) {
    const QString msg = "No store is open: open or create one first (File menu).";
    statusBar()->showMessage(msg, 8000);
    emit importFinished(false, msg);
    return;
  }
  if (banner_tag_ == "import-error") hide_banner();
  statusBar()->showMessage("Importing " + folder + " …");
  // A short store write (the weights are hard-linked or copied beside the store): a background
  // call, not a queue job that would wait behind a training run.
  const QString db = db_path_;
  runCli(this, {"import", folder, "--db", db}, [this, folder, db](const CliResult& r) {
    if (!r.ok) {
      show_banner("<b>Could not import " + folder.toHtmlEscaped() + ".</b> " + r.error.toHtmlEscaped(), {}, {}, true);
      banner_tag_ = "import-error";
      statusBar()->showMessage("Import failed: " + r.error, 15000);
      emit importFinished(false, r.error);
      return;
    }
    const qint64 run = r.json.value("run_id", int64_t{0});
    QString msg = QString("Imported '%1' as run %2").arg(QString::fromStdString(r.json.value("name", std::string()))).arg(run);
    if (r.json.contains("parameters") && r.json["parameters"].is_number())
      msg += QString(" (%1, %2 parameters)")
                 .arg(QString::fromStdString(r.json.value("architecture", std::string())))
                 .arg(r.json["parameters"].get<double>(), 0, 'f', 0);
    if (db != db_path_) msg += " in " + db;  // another store was opened meanwhile
    statusBar()->showMessage(msg + ".", 10000);
    if (db == db_path_) {
      if (banner_tag_ == "quickstart") hide_banner();  // the store is no longer empty
      select_when_listed(run, false);
    }
    emit importFinished(true, msg);
  });
}

void MainWindow::select_when_listed(qint64 run, bool add) {
  pending_selects_[run] = add;
  take_pending_selects();
  if (pending_selects_.empty()) return;
  // The follower lists it at its next poll.
  if (!pending_select_) pending_select_ = connect(cache_, &DataCache::runsChanged, this, [this] { take_pending_selects(); });
}

void MainWindow::take_pending_selects() {
  for (auto it = pending_selects_.begin(); it != pending_selects_.end();) {
    if (!cache_->summary(it->first)) {
      ++it;
      continue;
    }
    auto sel = browser_->selectedRuns();
    if (!it->second) sel.clear();
    if (!sel.contains(it->first)) sel << it->first;
    browser_->selectRuns(sel);
    it = pending_selects_.erase(it);
  }
  if (pending_selects_.empty()) {
    disconnect(pending_select_);
    pending_select_ = {};
  }
}

void MainWindow::follow(int job) {
  // Launched from the form or a study: the user wants to watch it train, not the form.
  follow_job_ = job;
  for (auto* t : plot_tabs_)
    if (qobject_cast<TrainingTab*>(t)) tabs_->setCurrentWidget(t);
}

void MainWindow::offerQuickstartStudy() {
  offered_quickstart_ = true;
  show_banner(
      "<b>This store is empty.</b> Start with the <b>quickstart study</b>: pre-train a small RoPE model "
      "(4 layers, d_model 256) at 128 tokens on the built-in corpus, then fine-tune it with " +
          quickstartStudyMethods().join(", ") +
          " and evaluate each at 128–1024 tokens. About 6 minutes on 2 cores; the plots fill in as it runs.",
      "Run the quickstart study", [this] {
        StudyPlan plan;
        plan.name = "quickstart";
        if (const auto* b = findPreset(presets_, "quickstart")) plan.base_preset = *b;
        for (const auto& m : quickstartStudyMethods())
          if (const auto* p = findPreset(presets_, m)) plan.methods.push_back(*p);
        launchStudy(plan);
      });
  banner_tag_ = "quickstart";
}

void MainWindow::open_store_dialog() {
  const QString p = QFileDialog::getOpenFileName(this, "Open run store", QFileInfo(db_path_).absolutePath(),
                                                 "Run store (*.db);;All files (*)");
  if (!p.isEmpty()) openStore(p);
}

void MainWindow::closeEvent(QCloseEvent* e) {
  const int running = queue_->runningCount(), waiting = queue_->waitingCount();
  if (running + waiting == 0) return e->accept();
  QMessageBox box(this);
  box.setWindowTitle("Runs in progress");
  box.setText(QString("%1 run(s) are training and %2 are waiting in the queue.").arg(running).arg(waiting));
  box.setInformativeText(
      "Leave running: they go on without the window (reopen it to follow them); waiting jobs are dropped.\n"
      "Stop: each writes a checkpoint and is marked interrupted, to resume later.");
  auto* leave = box.addButton("Leave running", QMessageBox::AcceptRole);
  auto* stop = box.addButton("Stop them", QMessageBox::DestructiveRole);
  box.addButton(QMessageBox::Cancel);
  box.exec();
  if (box.clickedButton() == leave) return e->accept();
  if (box.clickedButton() == stop) {
    queue_->stopAll();
    return e->accept();
  }
  e->ignore();
}

}  // namespace ctx::gui
