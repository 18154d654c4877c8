// "Evaluate…": perplexity of the selected runs at more lengths, in the modes ticked (none ticked:
// each run's configured modes). randpos is offered only when every selected run trained at
// randomized ids (train.positions randpos), the only runs its id range exists for.
#pragma once

#include <QDialog>
#include <QStringList>
#include <vector>

class QCheckBox;
class QLabel;
class QLineEdit;

namespace ctx::gui {

class DataCache;

// What the dialog needs to know of one selected run.
struct EvaluateTarget {
  qint64 run = 0;
  bool randomized_ids = false;  // train.positions is randpos
};

std::vector<EvaluateTarget> evaluateTargets(const DataCache& cache, const QVector<qint64>& runs);

// The ctxlab-cli arguments of one run's evaluation: eval --run N --lengths L [--mode M,...].
QStringList evaluateArgs(qint64 run, const QString& lengths, const QStringList& modes);

class EvaluateDialog : public QDialog {
  Q_OBJECT
 public:
  EvaluateDialog(std::vector<EvaluateTarget> targets, QWidget* parent = nullptr);
  QString lengths() const;    // spaces removed
  QStringList modes() const;  // ticked, in the order shown
  QCheckBox* modeBox(const QString& mode) const;
  QLineEdit* lengthsEdit() const { return lengths_; }

 private:
  QLineEdit* lengths_;
  std::vector<QCheckBox*> modes_;
};

}  // namespace ctx::gui
