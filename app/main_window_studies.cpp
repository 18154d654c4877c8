// MainWindow's study-file actions: "Run study" from the Studies tab and Runs → "Run study file…"
// both queue `ctxlab-cli study run FILE --device D` (RunQueue::addStudy). The engine validates the
// file when the job starts and names its problem in the queue; the window only needs valid JSON.
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QInputDialog>
#include <QMessageBox>
#include <QStatusBar>
#include <QTabWidget>

#include "app/main_window.h"
#include "app/run_queue.h"
#include "widgets/study_view.h"

namespace ctx::gui {

int MainWindow::runStudy(const nlohmann::json& study, const QString& name, const QString& device) {
  if (!store_) {
    statusBar()->showMessage("No store is open: open or create one first (File menu).", 8000);
    return 0;
  }
  const int job = queue_->addStudy(study, "study " + name, device);
  statusBar()->showMessage(
      QString("Queued study '%1'%2: its runs join the selection as they start; the Studies tab "
              "shows its checks and figure as results arrive.")
          .arg(name, device.isEmpty() ? QString() : " on " + device),
      10000);
  return job;
}

void MainWindow::run_study_file_dialog() {
  const QString path =
      QFileDialog::getOpenFileName(this, "Run a study file", "resources/studies", "Study (*.json)");
  if (path.isEmpty()) return;
  QFile f(path);
  nlohmann::json study;
  if (f.open(QIODevice::ReadOnly))
    study = nlohmann::json::parse(f.readAll().toStdString(), nullptr, false);
  if (!study.is_object()) {
    QMessageBox::warning(this, "Run study", path + ": not a JSON object (a study file is one)");
    return;
  }
  const QStringList devices{"cpu", "cuda", "each run's own device"};
  bool ok = false;
  const QString choice = QInputDialog::getItem(this, "Run study", "Train and evaluate every run on",
                                               devices, 0, false, &ok);
  if (!ok) return;
  const QString name = study.contains("name") && study["name"].is_string()
                           ? QString::fromStdString(study["name"].get<std::string>())
                           : QFileInfo(path).completeBaseName();
  runStudy(study, name, choice == devices.back() ? QString() : choice);
  tabs_->setCurrentWidget(studies_);
  studies_->selectFile(name);
}

}  // namespace ctx::gui
