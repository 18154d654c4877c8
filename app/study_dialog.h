// "New study": pick a base run (or pre-train one from a preset), tick the methods, launch one
// fine-tune + evaluation per method, all grouped under one study name in the store.
#pragma once

#include <QDialog>

#include <nlohmann/json.hpp>
#include <optional>

#include "app/presets.h"
#include "widgets/data_cache.h"

class QButtonGroup;
class QComboBox;
class QLineEdit;
class QListWidget;
class QRadioButton;
class QLabel;

namespace ctx::gui {

struct StudyPlan {
  QString name;
  std::optional<Preset> base_preset;  // pre-train this first ...
  qint64 base_run = 0;                // ... or fine-tune from this stored run
  std::vector<Preset> methods;
};

class StudyDialog : public QDialog {
  Q_OBJECT
 public:
  StudyDialog(const DataCache* cache, std::vector<Preset> presets, QWidget* parent = nullptr);
  StudyPlan plan() const;
  void setChecked(const QStringList& methods);
  void setBasePreset(const QString& name);

 private:
  void refresh_methods();
  QString base_position() const;
  const DataCache* cache_;
  std::vector<Preset> presets_;
  QLineEdit* name_;
  QRadioButton* pretrain_;
  QRadioButton* existing_;
  QComboBox* base_preset_;
  QComboBox* base_run_;
  QListWidget* methods_;
  QLabel* note_;
};

}  // namespace ctx::gui
