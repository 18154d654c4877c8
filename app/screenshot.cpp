// MainWindow::screenshotWhenReady, for `ctxlab --screenshot`: waits for the store, the selected
// runs' data and what each tab still waits for (attention blobs, rope queries, a study's results),
// then saves PNGs.
#include <QApplication>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QTabWidget>
#include <QThread>
#include <QTimer>

#include <algorithm>
#include <memory>

#include "app/main_window.h"
#include "app/run_browser.h"
#include "widgets/configurator.h"
#include "widgets/plot_tab.h"
#include "widgets/study_view.h"

namespace ctx::gui {

void MainWindow::screenshotWhenReady(const QString& path, const QString& tab, bool every_tab, int timeout_ms,
                                     std::function<void(const QString&)> done) {
  auto* timer = new QTimer(this);
  auto clock = std::make_shared<QElapsedTimer>();
  clock->start();
  auto settled = std::make_shared<qint64>(-1);
  connect(timer, &QTimer::timeout, this, [=] {
    bool ready = !store_ || loaded_;
    if (ready && store_) {
      if (browser_->selectedRuns().isEmpty() && !cache_->runIds().empty()) {
        // Show up to five of the newest finished runs side by side.
        QVector<qint64> pick;
        for (int64_t id : cache_->runIds()) {
          const auto* s = cache_->summary(id);
          if (s && s->run.status == store::RunStatus::Finished) pick << id;
          if (pick.size() == 5) break;
        }
        if (pick.isEmpty()) pick << cache_->runIds().front();
        browser_->selectRuns(pick);
      }
      for (qint64 r : browser_->selectedRuns()) ready = ready && cache_->detail(r) != nullptr;
    }
    if (ready && *settled < 0) *settled = clock->elapsed();
    // Tabs fetch some things asynchronously (ctxlab-cli rope, attention blobs): give them a moment.
    const bool go = (ready && clock->elapsed() - *settled > 2500) || clock->elapsed() > timeout_ms;
    if (!go) return;
    timer->stop();
    timer->deleteLater();
    QString err;
    auto shoot = [&](int index, const QString& file) {
      tabs_->setCurrentIndex(index);
      if (auto* t = qobject_cast<PlotTab*>(tabs_->widget(index))) {
        // Blobs the redraw asks for arrive from the follower thread within a few polls; rope
        // queries (ctxlab-cli, two at a time) take seconds each. An answer schedules a redraw
        // that may ask for more (CLEX's scales): redraw and wait again until nothing is pending,
        // so the picture never says "computing…". Each tab may wait up to the time given.
        QElapsedTimer wait;
        wait.start();
        const qint64 budget = std::max(5000, timeout_ms);
        for (;;) {
          t->redrawNow();
          if (!t->waitingForData() || wait.elapsed() >= budget) break;
          while (t->waitingForData() && wait.elapsed() < budget) {
            QApplication::processEvents(QEventLoop::AllEvents, 50);
            QThread::msleep(10);
          }
        }
      } else if (tabs_->widget(index) == studies_) {
        // Shown, the tab picks a study and selects its runs; their evaluations arrive from the
        // follower within a few polls.
        QElapsedTimer wait;
        wait.start();
        do {
          QApplication::processEvents(QEventLoop::AllEvents, 50);
          QThread::msleep(10);
        } while ((studies_->waitingForData() || wait.elapsed() < 300) && wait.elapsed() < std::max(5000, timeout_ms));
        studies_->redrawNow();
      } else if (tabs_->widget(index) == configurator_) {
        // The form comes from ctxlab-cli (registry, check, a Hugging Face folder's description).
        if (!configurator_->isReady()) configurator_->fetchRegistry();
        QElapsedTimer wait;
        wait.start();
        while (configurator_->isBusy() && wait.elapsed() < std::max(20000, timeout_ms)) {
          QApplication::processEvents(QEventLoop::AllEvents, 50);
          QThread::msleep(10);
        }
        // The form scrolled to its launch settings: train.device and the GPU count beside it.
        configurator_->revealGpuControl();
      }
      QApplication::processEvents();
      if (!grab().save(file)) err = "cannot write " + file;
    };
    int chosen = 1;
    for (int i = 0; i < tabs_->count(); ++i)
      if (!tab.isEmpty() && tabs_->tabText(i).compare(tab, Qt::CaseInsensitive) == 0) chosen = i;
    if (every_tab) {
      const QFileInfo fi(path);
      for (int i = 0; i < tabs_->count(); ++i) {
        const QString slug = tabs_->tabText(i).toLower().replace(' ', '-');
        shoot(i, fi.path() + "/" + fi.completeBaseName() + "-" + slug + ".png");
      }
    }
    shoot(chosen, path);
    done(err);
  });
  timer->start(100);
}

}  // namespace ctx::gui
