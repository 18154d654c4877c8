// QueuePanel; see queue_panel.h.
#include "app/queue_panel.h"

#include <QApplication>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPainter>
#include <QPushButton>
#include <QSpinBox>
#include <QStyledItemDelegate>
#include <QTableWidget>
#include <QVBoxLayout>

namespace ctx::gui {
namespace {

enum Col { ColJob, ColLabel, ColState, ColRun, ColProgress, ColMessage, ColCount };

// Draws a progress bar in a cell from the value in Qt::UserRole (0..1, negative = none).
class ProgressDelegate : public QStyledItemDelegate {
 public:
  using QStyledItemDelegate::QStyledItemDelegate;
  void paint(QPainter* p, const QStyleOptionViewItem& opt, const QModelIndex& idx) const override {
    const double v = idx.data(Qt::UserRole).toDouble();
    if (v < 0) return QStyledItemDelegate::paint(p, opt, idx);
    QStyleOptionProgressBar bar;
    bar.rect = opt.rect.adjusted(2, 3, -2, -3);
    bar.minimum = 0;
    bar.maximum = 1000;
    bar.progress = static_cast<int>(v * 1000);
    bar.text = QString("%1%").arg(static_cast<int>(v * 100));
    bar.textVisible = true;
    QApplication::style()->drawControl(QStyle::CE_ProgressBar, &bar, p);
  }
};

QColor state_color(QueueJob::State s) {
  switch (s) {
    case QueueJob::Waiting: return QColor(120, 120, 120);
    case QueueJob::Running: return QColor(31, 119, 180);
    case QueueJob::Finished: return QColor(44, 140, 44);
    case QueueJob::Failed: return QColor(200, 30, 30);
    case QueueJob::Stopped: return QColor(214, 120, 0);
  }
  return {};
}

}  // namespace

QueuePanel::QueuePanel(RunQueue* queue, QWidget* parent) : QWidget(parent), queue_(queue) {
  table_ = new QTableWidget(0, ColCount, this);
  table_->setHorizontalHeaderLabels({"#", "Job", "State", "Run", "Progress", "Message"});
  table_->verticalHeader()->setVisible(false);
  table_->verticalHeader()->setDefaultSectionSize(table_->fontMetrics().height() + 8);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->horizontalHeader()->setStretchLastSection(true);
  table_->setItemDelegateForColumn(ColProgress, new ProgressDelegate(table_));
  const int widths[] = {34, 170, 70, 50, 120};
  for (int c = 0; c < ColMessage; ++c) table_->setColumnWidth(c, widths[c]);

  auto* stop = new QPushButton("Stop", this);
  stop->setToolTip("Running: write a checkpoint and stop (the run can be resumed). Waiting: cancel.");
  auto* stop_all = new QPushButton("Stop all", this);
  auto* clear = new QPushButton("Clear ended", this);
  parallel_ = new QSpinBox(this);
  parallel_->setRange(1, 16);
  parallel_->setValue(queue_->maxParallel());
  parallel_->setToolTip("How many runs train at once (each uses every core: 1 is fastest on a small machine)");
  auto* buttons = new QHBoxLayout;
  buttons->addWidget(new QLabel("<b>Queue</b>", this));
  buttons->addStretch(1);
  buttons->addWidget(new QLabel("at once:", this));
  buttons->addWidget(parallel_);
  buttons->addWidget(stop);
  buttons->addWidget(stop_all);
  buttons->addWidget(clear);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 2, 4, 2);
  layout->addLayout(buttons);
  layout->addWidget(table_, 1);

  connect(queue_, &RunQueue::changed, this, &QueuePanel::refresh);
  connect(parallel_, qOverload<int>(&QSpinBox::valueChanged), queue_, &RunQueue::setMaxParallel);
  connect(stop, &QPushButton::clicked, this, [this] {
    for (const auto& idx : table_->selectionModel()->selectedRows()) queue_->stop(table_->item(idx.row(), ColJob)->text().toInt());
  });
  connect(stop_all, &QPushButton::clicked, queue_, &RunQueue::stopAll);
  connect(clear, &QPushButton::clicked, queue_, &RunQueue::clearEnded);
  connect(table_, &QTableWidget::cellDoubleClicked, this, [this](int row, int) {
    const qint64 run = table_->item(row, ColRun)->text().toLongLong();
    if (run > 0) emit runActivated(run);
  });
  refresh();
}

void QueuePanel::refresh() {
  const auto& jobs = queue_->jobs();
  table_->setRowCount(static_cast<int>(jobs.size()));
  for (size_t i = 0; i < jobs.size(); ++i) {
    const auto& j = jobs[i];
    const int row = static_cast<int>(i);
    auto set = [&](int col, const QString& text) {
      auto* item = table_->item(row, col);
      if (!item) {
        item = new QTableWidgetItem;
        table_->setItem(row, col, item);
      }
      if (item->text() != text) item->setText(text);
      return item;
    };
    set(ColJob, QString::number(j.id));
    const QString label = j.gpus > 1 ? QString("%1 · %2 GPUs").arg(j.label).arg(j.gpus) : j.label;
    set(ColLabel, label)->setToolTip(j.command.isEmpty() ? "ctxlab-cli " + j.args.join(' ') : j.command);
    set(ColState, stateName(j.state))->setForeground(state_color(j.state));
    set(ColRun, j.run > 0 ? QString::number(j.run) : QString());
    auto* prog = set(ColProgress, QString());
    const double p = j.state == QueueJob::Finished ? 1.0 : j.progress();
    prog->setData(Qt::UserRole, j.state == QueueJob::Running || j.state == QueueJob::Finished ? p : -1.0);
    set(ColMessage, j.message)->setToolTip(j.message);
  }
}

}  // namespace ctx::gui
