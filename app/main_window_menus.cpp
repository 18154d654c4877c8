// MainWindow::build_menus: the File and Runs menus and the runs toolbar (their actions call the
// window's run actions in main_window.cpp).
#include <QFile>
#include <QFileDialog>
#include <QMenuBar>
#include <QMessageBox>
#include <QToolBar>

#include "app/main_window.h"
#include "app/run_browser.h"

namespace ctx::gui {

void MainWindow::build_menus() {
  auto* file = menuBar()->addMenu("&File");
  file->addAction("&Open store…", QKeySequence::Open, this, &MainWindow::open_store_dialog);
  file->addAction("&New store…", this, [this] {
    const QString p = QFileDialog::getSaveFileName(this, "New run store", "experiments.db", "Run store (*.db)");
    if (!p.isEmpty()) openStore(p);
  });
  file->addSeparator();
  file->addAction("Export run list as CSV…", this, [this] {
    const QString p = QFileDialog::getSaveFileName(this, "Export run list", "runs.csv", "CSV (*.csv)");
    if (p.isEmpty()) return;
    QFile f(p);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
      QMessageBox::warning(this, "Export", "Cannot write " + p);
      return;
    }
    auto* m = browser_->proxy();
    QStringList head;
    for (int c = 0; c < m->columnCount(); ++c) head << m->headerData(c, Qt::Horizontal).toString();
    f.write((head.join(',') + '\n').toUtf8());
    for (int r = 0; r < m->rowCount(); ++r) {
      QStringList row;
      for (int c = 0; c < m->columnCount(); ++c) {
        QString v = m->index(r, c).data().toString();
        if (v.contains(',') || v.contains('"')) v = '"' + v.replace('"', "\"\"") + '"';
        row << v;
      }
      f.write((row.join(',') + '\n').toUtf8());
    }
  });
  file->addSeparator();
  file->addAction("&Quit", QKeySequence::Quit, this, &QWidget::close);

  auto* runs = menuBar()->addMenu("&Runs");
  runs->addAction("New &study…", this, &MainWindow::new_study);
  runs->addAction("&Quickstart study", this, &MainWindow::offerQuickstartStudy);
  runs->addAction("Run study &file…", this, &MainWindow::run_study_file_dialog)
      ->setToolTip("Queue `ctxlab-cli study run` on a study file (resources/studies/*.json or your own)");
  auto* import = runs->addAction("&Import Hugging Face model…", this, &MainWindow::import_hf_dialog);
  import->setIconText("Import HF model…");
  import->setToolTip("Store a Hugging Face model folder (config.json, safetensors, tokenizer) as a finished run, "
                     "to evaluate or fine-tune");
  runs->addSeparator();
  runs->addAction("&Stop selected", this, [this] { stop_runs(browser_->selectedRuns()); });
  runs->addAction("&Resume selected", this, [this] { resume_runs(browser_->selectedRuns()); });
  runs->addAction("Re-run with &edits", this, [this] {
    auto sel = browser_->selectedRuns();
    if (!sel.isEmpty()) rerun_with_edits(sel.front());
  });
  runs->addAction("E&valuate at more lengths…", this, [this] { evaluate_runs(browser_->selectedRuns()); });
  runs->addSeparator();
  runs->addAction("&Delete selected…", QKeySequence::Delete, this, [this] { delete_runs(browser_->selectedRuns()); });

  auto* tb = addToolBar("Runs");
  tb->setObjectName("runs-toolbar");
  tb->setMovable(false);
  tb->addAction("New study…", this, &MainWindow::new_study);
  tb->addAction(import);
  tb->addAction("Stop", this, [this] { stop_runs(browser_->selectedRuns()); });
  tb->addAction("Resume", this, [this] { resume_runs(browser_->selectedRuns()); });
  tb->addAction("Re-run with edits", this, [this] {
    auto sel = browser_->selectedRuns();
    if (!sel.isEmpty()) rerun_with_edits(sel.front());
  });
  tb->addAction("Evaluate…", this, [this] { evaluate_runs(browser_->selectedRuns()); });
  tb->addAction("Delete…", this, [this] { delete_runs(browser_->selectedRuns()); });
}

}  // namespace ctx::gui
