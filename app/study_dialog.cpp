// StudyDialog; see study_dialog.h.
#include "app/study_dialog.h"

#include <QComboBox>
#include <QDateTime>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QRadioButton>
#include <QVBoxLayout>

namespace ctx::gui {

StudyDialog::StudyDialog(const DataCache* cache, std::vector<Preset> presets, QWidget* parent)
    : QDialog(parent), cache_(cache), presets_(std::move(presets)) {
  setWindowTitle("New study");
  name_ = new QLineEdit(QString("study-%1").arg(QDateTime::currentDateTime().toString("yyyyMMdd-HHmm")), this);
  pretrain_ = new QRadioButton("Pre-train a new base from preset", this);
  existing_ = new QRadioButton("Fine-tune from a finished run", this);
  base_preset_ = new QComboBox(this);
  for (const auto& p : presets_)
    if (p.base.isEmpty()) base_preset_->addItem(p.name + "  —  " + p.summary, p.name);
  base_run_ = new QComboBox(this);
  for (int64_t id : cache_->runIds()) {
    const auto* s = cache_->summary(id);
    if (!s || s->run.status != store::RunStatus::Finished) continue;
    base_run_->addItem(QString("#%1 %2 — %3").arg(id).arg(QString::fromStdString(s->run.name),
                                                          QString::fromStdString(s->run.method)),
                       QVariant::fromValue<qint64>(id));
  }
  existing_->setEnabled(base_run_->count() > 0);
  (base_run_->count() > 0 ? existing_ : pretrain_)->setChecked(true);
  methods_ = new QListWidget(this);
  methods_->setMinimumHeight(260);
  note_ = new QLabel(this);
  note_->setWordWrap(true);
  note_->setStyleSheet("color: #555;");

  auto* form = new QFormLayout;
  form->addRow("Study name", name_);
  auto* base_box = new QVBoxLayout;
  auto* row1 = new QHBoxLayout;
  row1->addWidget(pretrain_);
  row1->addWidget(base_preset_, 1);
  auto* row2 = new QHBoxLayout;
  row2->addWidget(existing_);
  row2->addWidget(base_run_, 1);
  base_box->addLayout(row1);
  base_box->addLayout(row2);
  form->addRow("Base", base_box);
  form->addRow("Methods", methods_);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  buttons->button(QDialogButtonBox::Ok)->setText("Launch study");
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addWidget(note_);
  layout->addWidget(buttons);
  connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  for (auto* w : {static_cast<QObject*>(pretrain_), static_cast<QObject*>(existing_)})
    connect(static_cast<QRadioButton*>(w), &QRadioButton::toggled, this, &StudyDialog::refresh_methods);
  connect(base_preset_, qOverload<int>(&QComboBox::currentIndexChanged), this, &StudyDialog::refresh_methods);
  connect(base_run_, qOverload<int>(&QComboBox::currentIndexChanged), this, &StudyDialog::refresh_methods);
  connect(methods_, &QListWidget::itemChanged, this, [this, buttons] {
    int n = 0;
    for (int i = 0; i < methods_->count(); ++i) n += methods_->item(i)->checkState() == Qt::Checked;
    buttons->button(QDialogButtonBox::Ok)->setEnabled(n > 0 || pretrain_->isChecked());
  });
  setBasePreset("quickstart");
  refresh_methods();
  resize(640, 560);
}

QString StudyDialog::base_position() const {
  if (pretrain_->isChecked()) {
    const auto* p = findPreset(presets_, base_preset_->currentData().toString());
    return p ? p->position() : "rope";
  }
  return positionOf(cache_->config(base_run_->currentData().toLongLong()));
}

void StudyDialog::refresh_methods() {
  QStringList checked;
  for (int i = 0; i < methods_->count(); ++i)
    if (methods_->item(i)->checkState() == Qt::Checked) checked << methods_->item(i)->data(Qt::UserRole).toString();
  base_preset_->setEnabled(pretrain_->isChecked());
  base_run_->setEnabled(existing_->isChecked());
  // A fine-tune keeps its base's position scheme: only presets of that scheme are offered.
  const QString pos = base_position();
  QSignalBlocker block(methods_);
  methods_->clear();
  int hidden = 0;
  for (const auto& p : presets_) {
    if (p.base.isEmpty()) continue;
    if (p.position() != pos) {
      ++hidden;
      continue;
    }
    auto* item = new QListWidgetItem(p.name + "  —  " + p.summary, methods_);
    item->setData(Qt::UserRole, p.name);
    item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
    item->setCheckState(checked.contains(p.name) ? Qt::Checked : Qt::Unchecked);
  }
  note_->setText(QString("Each ticked method fine-tunes the base and evaluates it at its preset's lengths; the runs "
                         "are grouped as one study. %1 preset(s) of another position scheme than the base (%2) are "
                         "not listed.")
                     .arg(hidden)
                     .arg(pos));
}

void StudyDialog::setChecked(const QStringList& methods) {
  for (int i = 0; i < methods_->count(); ++i) {
    auto* item = methods_->item(i);
    item->setCheckState(methods.contains(item->data(Qt::UserRole).toString()) ? Qt::Checked : Qt::Unchecked);
  }
}

void StudyDialog::setBasePreset(const QString& name) {
  const int idx = base_preset_->findData(name);
  if (idx >= 0) base_preset_->setCurrentIndex(idx);
}

StudyPlan StudyDialog::plan() const {
  StudyPlan p;
  p.name = name_->text().trimmed();
  if (pretrain_->isChecked()) {
    if (const auto* b = findPreset(presets_, base_preset_->currentData().toString())) p.base_preset = *b;
  } else {
    p.base_run = base_run_->currentData().toLongLong();
  }
  for (int i = 0; i < methods_->count(); ++i) {
    if (methods_->item(i)->checkState() != Qt::Checked) continue;
    if (const auto* m = findPreset(presets_, methods_->item(i)->data(Qt::UserRole).toString())) p.methods.push_back(*m);
  }
  return p;
}

}  // namespace ctx::gui
