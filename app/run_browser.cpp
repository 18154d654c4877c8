// RunBrowser: filter box, study picker and the run table; see run_browser.h.
#include "app/run_browser.h"

#include <QAction>
#include <QComboBox>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QTableView>
#include <QVBoxLayout>

#include <iterator>

namespace ctx::gui {

RunBrowser::RunBrowser(DataCache* cache, QWidget* parent) : QWidget(parent), cache_(cache) {
  model_ = new RunTableModel(cache, this);
  proxy_ = new RunFilterProxy(this);
  proxy_->setSourceModel(model_);

  filter_ = new QLineEdit(this);
  filter_->setPlaceholderText("Filter: yarn   status:finished   tag:best   base:llama   rope_scaling.factor=8   train.steps>100");
  filter_->setClearButtonEnabled(true);
  filter_->setToolTip(
      "All terms must match.\n"
      "word: name, method, status, tags, note, study or base model contain it\n"
      "status:running  method:  tag:  study:  name:  note:  base:  — that field contains the text\n"
      "base:llama — the Hugging Face model the run descends from\n"
      "key=value — a config key equals the value (model.position.type=rope, rope_scaling.factor=8)\n"
      "key>value, key<value — numeric comparison on a config key (train.steps>100)");
  study_ = new QComboBox(this);
  study_->setToolTip("Show one study's runs (a study is a group of runs launched together)");
  study_->setMinimumContentsLength(14);
  count_ = new QLabel(this);
  count_->setStyleSheet("color: #666;");

  view_ = new QTableView(this);
  view_->setModel(proxy_);
  view_->setSortingEnabled(true);
  view_->sortByColumn(RunTableModel::Id, Qt::DescendingOrder);
  view_->setSelectionBehavior(QAbstractItemView::SelectRows);
  view_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  view_->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed);
  view_->setAlternatingRowColors(true);
  view_->setWordWrap(false);
  view_->verticalHeader()->setVisible(false);
  view_->verticalHeader()->setDefaultSectionSize(view_->fontMetrics().height() + 6);
  view_->horizontalHeader()->setStretchLastSection(true);
  view_->horizontalHeader()->setHighlightSections(false);
  view_->setContextMenuPolicy(Qt::CustomContextMenu);
  const int widths[] = {44, 110, 74, 150, 90, 90, 90, 110, 60, 56, 74, 96, 80, 100};
  static_assert(std::size(widths) == RunTableModel::ColumnCount);
  for (int c = 0; c < RunTableModel::ColumnCount; ++c) view_->setColumnWidth(c, widths[c]);
  // Narrow by default; the header's context menu shows the rest.
  // The device also shows in the status's tooltip.
  for (int c : {RunTableModel::Device, RunTableModel::Created, RunTableModel::Note}) view_->setColumnHidden(c, true);
  view_->horizontalHeader()->setContextMenuPolicy(Qt::CustomContextMenu);
  connect(view_->horizontalHeader(), &QWidget::customContextMenuRequested, this, [this](const QPoint& p) {
    QMenu menu(this);
    for (int c = 0; c < RunTableModel::ColumnCount; ++c) {
      auto* a = menu.addAction(model_->headerData(c, Qt::Horizontal, Qt::DisplayRole).toString());
      a->setCheckable(true);
      a->setChecked(!view_->isColumnHidden(c));
      connect(a, &QAction::toggled, this, [this, c](bool on) { view_->setColumnHidden(c, !on); });
    }
    menu.exec(view_->horizontalHeader()->mapToGlobal(p));
  });
  connect(view_, &QWidget::customContextMenuRequested, this,
          [this](const QPoint& p) { emit contextMenuRequested(view_->viewport()->mapToGlobal(p)); });

  auto* top = new QHBoxLayout;
  top->addWidget(filter_, 1);
  top->addWidget(study_);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(top);
  layout->addWidget(view_, 1);
  layout->addWidget(count_);

  connect(filter_, &QLineEdit::textChanged, this, [this](const QString& t) {
    proxy_->setFilterText(t);
    update_count();
  });
  connect(study_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int i) {
    proxy_->setStudy(i < 0 ? 0 : study_->itemData(i).toLongLong());
    update_count();
  });
  connect(view_->selectionModel(), &QItemSelectionModel::selectionChanged, this,
          [this] { emit selectionChanged(selectedRuns()); });
  connect(cache_, &DataCache::runsChanged, this, [this](const QSet<qint64>&, bool structural) {
    if (structural) {
      refresh_studies();
      update_count();
    }
  });
  refresh_studies();
  update_count();
}

void RunBrowser::refresh_studies() {
  const qint64 current = study_->currentData().toLongLong();
  std::map<int64_t, int> counts;
  for (int64_t id : cache_->runIds())
    if (const auto* s = cache_->summary(id); s && s->run.study) counts[*s->run.study]++;
  QSignalBlocker block(study_);
  study_->clear();
  study_->addItem(QString("All runs (%1)").arg(cache_->runIds().size()), QVariant::fromValue<qint64>(0));
  for (const auto& st : cache_->studies()) {
    study_->addItem(QString("%1 (%2)").arg(QString::fromStdString(st.name)).arg(counts[st.id]),
                    QVariant::fromValue<qint64>(st.id));
  }
  const int idx = study_->findData(QVariant::fromValue<qint64>(current));
  study_->setCurrentIndex(idx < 0 ? 0 : idx);
  if (idx < 0 && current != 0) proxy_->setStudy(0);
}

void RunBrowser::update_count() {
  const int shown = proxy_->rowCount(), total = model_->rowCount();
  count_->setText(shown == total ? QString("%1 runs").arg(total) : QString("%1 of %2 runs shown").arg(shown).arg(total));
}

int RunBrowser::visibleRows() const {
  return proxy_->rowCount();
}

QVector<qint64> RunBrowser::selectedRuns() const {
  QVector<qint64> out;
  auto rows = view_->selectionModel()->selectedRows();
  std::sort(rows.begin(), rows.end(), [](const QModelIndex& a, const QModelIndex& b) { return a.row() < b.row(); });
  for (const auto& idx : rows) out << idx.data(RunTableModel::RunIdRole).toLongLong();
  return out;
}

void RunBrowser::selectRuns(const QVector<qint64>& runs) {
  QItemSelection sel;
  for (qint64 r : runs) {
    const int row = model_->rowOf(r);
    if (row < 0) continue;
    const auto idx = proxy_->mapFromSource(model_->index(row, 0));
    if (idx.isValid()) sel.select(idx, idx.siblingAtColumn(RunTableModel::ColumnCount - 1));
  }
  view_->selectionModel()->select(sel, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
  if (!sel.isEmpty()) view_->scrollTo(sel.indexes().first());
}

void RunBrowser::setFilterText(const QString& text) {
  filter_->setText(text);
}

}  // namespace ctx::gui
