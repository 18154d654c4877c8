// StudyView: the study list, a study's checks and its paper's figure; see study_view.h.
#include "widgets/study_view.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSplitter>
#include <QTableWidget>
#include <QTreeWidget>
#include <QVBoxLayout>
#include <algorithm>
#include <set>

#include "widgets/perplexity_tab.h"
#include "widgets/plot_decor.h"
#include "widgets/training_tab.h"

namespace ctx::gui {
namespace {

enum ItemKind { kFileItem = 1, kStoreItem = 2 };
constexpr int kKindRole = Qt::UserRole;
constexpr int kKeyRole = Qt::UserRole + 1;

QString qs(const std::string& s) {
  return QString::fromStdString(s);
}

QString html(const std::string& s) {
  return qs(s).toHtmlEscaped();
}

}  // namespace

StudyView::StudyView(DataCache* cache, const QString& studies_dir, QWidget* parent)
    : QWidget(parent), cache_(cache), files_(loadStudyFiles(studies_dir)) {
  list_ = new QTreeWidget;
  list_->setHeaderHidden(true);
  list_->setRootIsDecorated(false);
  list_->setMinimumWidth(200);
  files_root_ = new QTreeWidgetItem(list_, {"Study files"});
  store_root_ = new QTreeWidgetItem(list_, {"In the store"});
  for (auto* root : {files_root_, store_root_}) {
    root->setFlags(Qt::ItemIsEnabled);
    QFont f = root->font(0);
    f.setBold(true);
    root->setFont(0, f);
  }
  for (size_t i = 0; i < files_.size(); ++i) {
    auto* item = new QTreeWidgetItem(files_root_, {qs(files_[i].name)});
    item->setData(0, kKindRole, kFileItem);
    item->setData(0, kKeyRole, static_cast<qint64>(i));
    item->setToolTip(0, qs(files_[i].json.value("claim", std::string())));
  }
  list_->expandAll();

  title_ = new QLabel;
  QFont tf = title_->font();
  tf.setPointSizeF(tf.pointSizeF() * 1.3);
  tf.setBold(true);
  title_->setFont(tf);
  about_ = new QLabel;
  about_->setWordWrap(true);
  about_->setTextFormat(Qt::RichText);
  about_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  device_ = new QComboBox;
  device_->addItem("cpu", "cpu");
  device_->addItem("cuda", "cuda");
  device_->addItem("each run's own device", "");
  device_->setToolTip(
      "--device of `ctxlab-cli study run`: every run of the study trains and evaluates there");
  run_ = new QPushButton("Run study");
  auto* bar = new QHBoxLayout;
  bar->addWidget(title_, 1);
  bar->addWidget(new QLabel("device"));
  bar->addWidget(device_);
  bar->addWidget(run_);

  checks_table_ = new QTableWidget(0, 3);
  checks_table_->setHorizontalHeaderLabels({"outcome", "check", "numbers"});
  checks_table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  checks_table_->setSelectionMode(QAbstractItemView::NoSelection);
  checks_table_->verticalHeader()->setVisible(false);
  checks_table_->setWordWrap(true);
  checks_table_->horizontalHeader()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
  checks_table_->horizontalHeader()->setSectionResizeMode(1, QHeaderView::Stretch);
  checks_table_->horizontalHeader()->setSectionResizeMode(2, QHeaderView::Stretch);
  checks_table_->verticalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);

  plot_ = new PlotView;
  plot_->yAxis->setLabel("perplexity");
  legend_above(plot_, 3);
  setPlotTitle(plot_, "");

  auto* split = new QSplitter(Qt::Vertical);
  split->addWidget(checks_table_);
  split->addWidget(plot_);
  split->setStretchFactor(0, 1);
  split->setStretchFactor(1, 3);
  split->setSizes({170, 520});
  split->setChildrenCollapsible(false);
  auto* right = new QWidget;
  auto* rl = new QVBoxLayout(right);
  rl->setContentsMargins(6, 0, 0, 0);
  rl->addLayout(bar);
  rl->addWidget(about_);
  rl->addWidget(split, 1);
  auto* outer = new QSplitter(Qt::Horizontal);
  outer->addWidget(list_);
  outer->addWidget(right);
  outer->setStretchFactor(1, 1);
  outer->setSizes({220, 800});
  outer->setChildrenCollapsible(false);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 4);
  layout->addWidget(outer);

  timer_.setSingleShot(true);
  timer_.setInterval(30);
  connect(&timer_, &QTimer::timeout, this, [this] {
    if (isVisible()) {
      redraw();
    } else {
      dirty_ = true;
    }
  });
  connect(list_, &QTreeWidget::currentItemChanged, this,
          [this](QTreeWidgetItem* item) { on_current(item); });
  connect(cache_, &DataCache::runsChanged, this, [this] {
    rebuild_list();
    schedule();
  });
  connect(cache_, &DataCache::detailsChanged, this, [this](const QSet<qint64>& runs) {
    for (const auto& r : runs_)
      if (runs.contains(r.run)) return schedule();
  });
  connect(run_, &QPushButton::clicked, this, [this] {
    if (file_) emit runRequested(file_->json, qs(file_->name), device_->currentData().toString());
  });
  rebuild_list();
  show_study(nullptr, 0);
}

void StudyView::showEvent(QShowEvent* e) {
  QWidget::showEvent(e);
  if (!list_->currentItem()) {
    // Open on the first file that has results in the store, else the first file.
    QTreeWidgetItem* pick = files_root_->childCount() ? files_root_->child(0) : nullptr;
    for (int i = 0; i < files_root_->childCount(); ++i)
      if (newest_store_study(files_[static_cast<size_t>(i)].name)) {
        pick = files_root_->child(i);
        break;
      }
    if (pick) list_->setCurrentItem(pick);
  }
  if (dirty_) redraw();
  // Back on the tab: the shown study's runs are selected again if the selection moved meanwhile.
  const auto watched = cache_->watched();
  if (!wanted_.isEmpty() &&
      !std::all_of(wanted_.begin(), wanted_.end(), [&](qint64 id) { return watched.contains(id); }))
    emit runsWanted(wanted_);
}

void StudyView::schedule() {
  if (!timer_.isActive()) timer_.start();
}

void StudyView::redrawNow() {
  redraw();
}

int64_t StudyView::newest_store_study(const std::string& name) const {
  int64_t best = 0;
  for (const auto& s : cache_->studies())
    if (s.id > best && (s.name == name || s.name.rfind(name + " #", 0) == 0)) best = s.id;
  return best;
}

void StudyView::rebuild_list() {
  const auto& now = cache_->studies();
  auto same = [&] {
    if (now.size() != listed_.size()) return false;
    for (size_t i = 0; i < now.size(); ++i)
      if (now[i].id != listed_[i].id || now[i].name != listed_[i].name) return false;
    return true;
  };
  if (same()) return;
  listed_ = now;
  const bool was_store =
      list_->currentItem() && list_->currentItem()->data(0, kKindRole).toInt() == kStoreItem;
  const qint64 was_key = was_store ? list_->currentItem()->data(0, kKeyRole).toLongLong() : 0;
  QSignalBlocker block(list_);
  bool kept = false;
  qDeleteAll(store_root_->takeChildren());
  std::vector<store::Study> sorted = now;
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.id > b.id; });
  for (const auto& s : sorted) {
    int n = 0;
    for (int64_t id : cache_->runIds())
      if (const auto* r = cache_->summary(id); r && r->run.study && *r->run.study == s.id) ++n;
    auto* item = new QTreeWidgetItem(
        store_root_,
        {QString("%1  (id %2, %3 run%4)").arg(qs(s.name)).arg(s.id).arg(n).arg(n == 1 ? "" : "s")});
    item->setData(0, kKindRole, kStoreItem);
    item->setData(0, kKeyRole, static_cast<qint64>(s.id));
    item->setToolTip(0, qs(s.description));
    if (was_store && s.id == was_key) {
      list_->setCurrentItem(item);
      kept = true;
    }
  }
  store_root_->setExpanded(true);
  block.unblock();
  // The store study shown is gone (deleted, or another store was opened): show nothing.
  if (was_store && !kept) {
    list_->setCurrentItem(nullptr);
    show_study(nullptr, 0);
  }
}

bool StudyView::selectFile(const QString& name) {
  for (int i = 0; i < files_root_->childCount(); ++i)
    if (files_root_->child(i)->text(0) == name) {
      list_->setCurrentItem(files_root_->child(i));
      return true;
    }
  return false;
}

bool StudyView::selectStoreStudy(int64_t id) {
  rebuild_list();
  for (int i = 0; i < store_root_->childCount(); ++i)
    if (store_root_->child(i)->data(0, kKeyRole).toLongLong() == id) {
      list_->setCurrentItem(store_root_->child(i));
      return true;
    }
  return false;
}

void StudyView::on_current(QTreeWidgetItem* item) {
  const int kind = item ? item->data(0, kKindRole).toInt() : 0;
  if (kind == kFileItem) {
    const auto& f = files_[static_cast<size_t>(item->data(0, kKeyRole).toLongLong())];
    following_file_ = true;
    show_study(&f, newest_store_study(f.name));
  } else if (kind == kStoreItem) {
    const int64_t id = item->data(0, kKeyRole).toLongLong();
    const auto* s = cache_->study(id);
    following_file_ = false;
    show_study(s ? fileOfStudy(files_, s->name) : nullptr, id);
  }
}

void StudyView::show_study(const StudyFileInfo* file, int64_t study) {
  file_ = file;
  study_ = study;
  wanted_.clear();
  redraw();
  // An explicit choice fetches the study's results even while the tab is being set up.
  if (!wanted_.isEmpty()) emit runsWanted(wanted_);
}

bool StudyView::waitingForData() const {
  if (study_ <= 0) return false;
  for (const auto& r : runs_)
    if (!cache_->detail(r.run)) return true;
  return false;
}

QString StudyView::headerText() const {
  return title_->text() + "\n" + about_->text();
}

void StudyView::redraw() {
  dirty_ = false;
  if (following_file_ && file_) study_ = newest_store_study(file_->name);
  runs_ = study_ > 0 ? studyRuns(*cache_, study_, file_) : std::vector<StudyRunRef>{};
  QVector<qint64> ids;
  for (const auto& r : runs_) ids << r.run;
  std::sort(ids.begin(), ids.end());
  const bool changed = ids != wanted_;
  wanted_ = ids;
  // While shown, a run that joins the study (a study being run) is fetched too; a selection the
  // user makes in the run browser meanwhile is left alone.
  if (isVisible() && !ids.isEmpty() && changed) emit runsWanted(ids);

  const store::Study* st = study_ > 0 ? cache_->study(study_) : nullptr;
  QString about;
  if (file_) {
    title_->setText(qs(file_->name));
    const auto& j = file_->json;
    auto field = [&](const char* key, const char* label) {
      if (j.contains(key) && j[key].is_string() && !j[key].get<std::string>().empty())
        about += QString("<b>%1:</b> %2<br>").arg(label, html(j[key].get<std::string>()));
    };
    field("paper", "Paper");
    field("claim", "Claim");
    field("figure", "Figure");
    field("setup", "Setup");
    if (!file_->plot_error.isEmpty())
      about += QString(
                   "<span style='color:#a00'>%1 (the engine refuses to run this file; the figure "
                   "is derived)</span><br>")
                   .arg(file_->plot_error.toHtmlEscaped());
  } else if (st) {
    title_->setText(qs(st->name));
    if (!st->description.empty())
      about += QString("<b>Claim:</b> %1<br>").arg(html(st->description));
    about +=
        "<span style='color:#666'>No study file of this name in resources/studies: perplexity of "
        "its runs, "
        "and any check outcomes stored for it.</span><br>";
  } else {
    title_->setText("Studies");
    about = "<span style='color:#666'>Pick a study on the left.</span>";
  }
  if (st) {
    QStringList names;
    for (const auto& r : runs_) {
      const auto* s = cache_->summary(r.run);
      const std::string name = s ? s->run.name : std::string();
      names << QString("#%1 %2").arg(r.run).arg(
          html(r.role == name ? name : name + " (" + r.role + ")"));
    }
    about += QString("<span style='color:#555'>Results of store study <b>%1</b> (id %2): %3</span>")
                 .arg(html(st->name))
                 .arg(st->id)
                 .arg(names.isEmpty() ? QString("no runs yet") : names.join(", "));
  } else if (file_) {
    about += "<span style='color:#555'>Not run in this store yet.</span>";
  }
  about_->setText(about);
  run_->setEnabled(file_ != nullptr && file_->plot_error.isEmpty());
  device_->setEnabled(run_->isEnabled());
  run_->setToolTip(
      file_ ? QString("Queue `ctxlab-cli study run %1.json --device DEVICE`: trains the base "
                      "(unless a finished one with the same config exists) and the runs, "
                      "evaluates them and stores each check's outcome")
                  .arg(qs(file_->name))
            : QString("No study file of this name in resources/studies to run again"));

  checks_ = studyChecks(*cache_, file_, study_, runs_);
  if (waitingForData()) {
    const auto watched = cache_->watched();
    const bool all_watched =
        std::all_of(ids.begin(), ids.end(), [&](qint64 id) { return watched.contains(id); });
    for (auto& c : checks_)
      if (c.state == CheckState::NotRun)
        c.detail = all_watched ? "reading the runs' results from the store…"
                               : "the study's runs are no longer selected: pick the study again to "
                                 "read its outcomes";
  }
  fill_checks();

  StudyPlot plot = file_ ? file_->plot : StudyPlot{};
  if (!file_) plot.derived = true;
  draw_figure(studyFigure(*cache_, plot, runs_));
}

void StudyView::fill_checks() {
  checks_table_->setRowCount(static_cast<int>(checks_.size()));
  for (int row = 0; row < static_cast<int>(checks_.size()); ++row) {
    const auto& c = checks_[static_cast<size_t>(row)];
    const QString text = c.state == CheckState::Held      ? "held"
                         : c.state == CheckState::NotHeld ? "not held"
                                                          : "not run yet";
    const QColor bg = c.state == CheckState::Held      ? QColor(214, 240, 214)
                      : c.state == CheckState::NotHeld ? QColor(248, 215, 218)
                                                       : QColor(236, 236, 236);
    auto* outcome = new QTableWidgetItem(text);
    outcome->setBackground(bg);
    outcome->setTextAlignment(Qt::AlignCenter);
    checks_table_->setItem(row, 0, outcome);
    auto* what = new QTableWidgetItem(c.description);
    what->setToolTip(c.description);
    checks_table_->setItem(row, 1, what);
    auto* detail = new QTableWidgetItem(c.detail);
    detail->setToolTip(c.detail);
    if (c.state == CheckState::NotRun) detail->setForeground(QColor(110, 110, 110));
    checks_table_->setItem(row, 2, detail);
  }
  checks_table_->setVisible(!checks_.empty());
}

void StudyView::draw_figure(const StudyFigure& f) {
  plot_->clearGraphs();
  remove_items(plot_, marks_);
  setPlotTitle(plot_, f.title);
  plot_->xAxis->setLabel(f.x_label);
  plot_->yAxis->setLabel(f.y_label);
  plot_->xAxis->setScaleType(f.log_x ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
  plot_->yAxis->setScaleType(f.log_y ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
  if (f.log_x) {
    use_pow2_log_ticks(plot_->xAxis);
  } else {
    plot_->xAxis->setTicker(QSharedPointer<QCPAxisTicker>::create());
    plot_->xAxis->setNumberFormat("g");
    plot_->xAxis->setNumberPrecision(3);
  }
  if (f.log_y) {
    plot_->yAxis->setTicker(QSharedPointer<LogTicker125>::create());
  } else {
    plot_->yAxis->setTicker(QSharedPointer<QCPAxisTicker>::create());
  }
  for (size_t i = 0; i < f.lines.size(); ++i) {
    const auto& l = f.lines[i];
    const QColor color = runColor(static_cast<int>(i));
    auto* g = plot_->addGraph();
    g->setName(l.x.empty() ? l.label + "  (no result)" : l.label);
    g->setPen(l.x.empty() ? QPen(color, 1.2, Qt::DotLine) : QPen(color, 1.8));
    g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, color, Qt::white, 7));
    g->setData(QVector<double>(l.x.begin(), l.x.end()), QVector<double>(l.y.begin(), l.y.end()),
               true);
  }
  std::vector<LengthMark> marks;
  for (const auto& m : f.marks)
    marks.push_back({m.x, m.line >= 0 ? runColor(m.line) : QColor(90, 90, 90), m.text});
  marks_ = add_length_marks(plot_, marks);
  plot_->legend->setVisible(!f.lines.empty());
  const bool points = f.points();
  if (points) {
    plot_->setEmptyMessage("");
  } else if (study_ <= 0) {
    plot_->setEmptyMessage(
        file_ ? "Not run in this store yet: “Run study” trains and evaluates its runs, and this "
                "figure is drawn from their stored results"
              : "Pick a study on the left");
  } else if (waitingForData()) {
    plot_->setEmptyMessage("Reading the study's results from the store…");
  } else {
    plot_->setEmptyMessage(
        "No results for this figure stored yet: they are written as the study's runs are "
        "evaluated");
  }
  if (!points) {
    plot_->xAxis->setRange(f.log_x ? QCPRange(100, 1300) : QCPRange(0, 1));
    plot_->yAxis->setRange(f.log_y ? QCPRange(1, 100) : QCPRange(0, 1));
  }
  plot_->fitAndReplot();
  if (points) {
    QCPRange xr = plot_->xAxis->range();
    if (f.log_x) {
      for (const auto& m : marks) {
        xr.lower = std::min(xr.lower, m.x / 1.15);
        xr.upper = std::max(xr.upper, m.x * 1.15);
      }
    } else {
      // Positions and depths: the whole scale, so the middle reads as the middle.
      if (f.x_full > 0) xr = QCPRange(std::min(xr.lower, 0.0), std::max(xr.upper, f.x_full));
      const double pad = 0.03 * xr.size();
      xr = QCPRange(xr.lower - pad, xr.upper + pad);
    }
    plot_->xAxis->setRange(xr);
    if (!f.log_y)
      plot_->yAxis->setRange(-0.04, 1.04);  // accuracy: the whole scale, 0 and 1 visible
    plot_->replot(QCustomPlot::rpQueuedReplot);
  }
}

}  // namespace ctx::gui
