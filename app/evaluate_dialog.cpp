// EvaluateDialog: lengths and modes for `ctxlab-cli eval`, one queued job per selected run.
#include "app/evaluate_dialog.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <algorithm>

#include "widgets/data_cache.h"

namespace ctx::gui {

std::vector<EvaluateTarget> evaluateTargets(const DataCache& cache, const QVector<qint64>& runs) {
  std::vector<EvaluateTarget> out;
  for (qint64 r : runs) {
    const auto& c = cache.config(r);
    bool randomized = false;
    if (c.contains("train") && c["train"].contains("positions")) {
      const auto& p = c["train"]["positions"];
      randomized = (p.is_object() && p.value("type", "") == "randpos") ||
                   (p.is_string() && p.get<std::string>() == "randpos");
    }
    out.push_back({r, randomized});
  }
  return out;
}

QStringList evaluateArgs(qint64 run, const QString& lengths, const QStringList& modes) {
  QStringList args = {"eval", "--run", QString::number(run), "--lengths", lengths};
  if (!modes.isEmpty()) args << "--mode" << modes.join(',');
  return args;
}

EvaluateDialog::EvaluateDialog(std::vector<EvaluateTarget> targets, QWidget* parent)
    : QDialog(parent) {
  setWindowTitle("Evaluate");
  lengths_ = new QLineEdit("128,256,512,1024,2048");
  lengths_->setToolTip("Comma-separated evaluation lengths in tokens");
  lengths_->setMinimumWidth(300);
  const bool all_randomized =
      !targets.empty() && std::all_of(targets.begin(), targets.end(),
                                      [](const EvaluateTarget& t) { return t.randomized_ids; });
  auto* modes = new QHBoxLayout;
  const std::pair<const char*, const char*> kModes[] = {
      {"nonoverlap", "non-overlapping windows, each scored whole"},
      {"sliding", "sliding windows (the run's eval.stride), each token scored once"},
      {"randpos",
       "non-overlapping windows at ids drawn from the run's randomized-position range, sorted: how "
       "randomized positional encodings are tested"}};
  for (const auto& [name, tip] : kModes) {
    auto* box = new QCheckBox(name);
    box->setObjectName(name);
    box->setToolTip(tip);
    if (QString(name) == "randpos" && !all_randomized) {
      box->setEnabled(false);
      box->setToolTip(QString(tip) +
                      ". Needs every selected run trained with train.positions randpos.");
    }
    modes->addWidget(box);
    modes_.push_back(box);
  }
  modes->addStretch();
  auto* note = new QLabel("None ticked: each run's configured modes.");
  note->setEnabled(false);
  auto* form = new QFormLayout;
  form->addRow("Lengths", lengths_);
  form->addRow("Modes", modes);
  form->addRow("", note);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
  buttons->button(QDialogButtonBox::Ok)
      ->setText(targets.size() == 1 ? "Evaluate run"
                                    : QString("Evaluate %1 runs").arg(targets.size()));
  connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  connect(lengths_, &QLineEdit::textChanged, this, [this, buttons] {
    buttons->button(QDialogButtonBox::Ok)->setEnabled(!lengths().isEmpty());
  });
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addWidget(buttons);
}

QString EvaluateDialog::lengths() const {
  return lengths_->text().simplified().remove(' ');
}

QStringList EvaluateDialog::modes() const {
  QStringList out;
  for (auto* b : modes_)
    if (b->isEnabled() && b->isChecked()) out << b->objectName();
  return out;
}

QCheckBox* EvaluateDialog::modeBox(const QString& mode) const {
  for (auto* b : modes_)
    if (b->objectName() == mode) return b;
  return nullptr;
}

}  // namespace ctx::gui
