// The run configuration as a form, generated from what ctxlab-cli reports: the method registry
// (`methods --json`) for the position scheme, rope scaling and training sampler, and the engine's
// resolved defaults (`check --json` of an empty config) for every other key. No form is written
// by hand per method or per key; only data.corpus and init get pickers. With init from a Hugging
// Face folder the model section shows the folder's values read-only and config() leaves it out.
#pragma once

#include <QHash>
#include <QLabel>
#include <QList>
#include <QPointer>
#include <QStringList>
#include <QWidget>

#include <nlohmann/json.hpp>

#include "widgets/config_fields.h"
#include "widgets/method_panel.h"

class QGroupBox;
class QHBoxLayout;

namespace ctx::gui {

class InitPicker;

class ConfigForm : public QWidget {
  Q_OBJECT
 public:
  // `defaults`: a resolved config holding every key. `key_order`: key paths in the order a preset
  // writes them; those keys come first in their section (the rest follow alphabetically).
  // `requests`: key path -> the resolved structure of that nested request when enabled
  // (requestShapes): such keys get a small form (enable box + fields) instead of JSON text.
  ConfigForm(const nlohmann::json& registry, const nlohmann::json& defaults, const QStringList& key_order = {},
             QWidget* parent = nullptr, const nlohmann::json& requests = nlohmann::json::object());

  // Shows a config (keys it leaves out show the engine's defaults). Returns the key paths the form
  // has no field for, which it leaves out of config().
  QStringList setConfig(const nlohmann::json& cfg);
  nlohmann::json config() const;
  // Sets the rope_scaling section from a Hugging Face block (switching the position scheme to rope
  // when it is not). Returns the keys left out.
  QStringList setRopeScaling(const nlohmann::json& block);

  ConfigField* field(const QString& path) const;
  QStringList fieldPaths() const;
  MethodPanel* methodPanel(const QString& path) const;  // "model.position", "rope_scaling", "train.positions"
  // The field an engine message about `key` belongs to ("eval.lengths[2]" -> eval.lengths, a method
  // slot or its unknown parameter -> the method combo); null when none does.
  ConfigField* fieldForKey(const QString& key) const;

  // Puts `message` in red under the field for `key` and, with `reveal`, scrolls it into view;
  // without such a field, in the banner on top. Returns the path it went to ("" = banner).
  QString showError(const QString& key, const QString& message, bool reveal = true);
  void showNote(const QString& message);  // a neutral line in the banner (keys left out, ...)
  void clearErrors();
  QLabel* banner() const { return banner_; }

  InitPicker* initPicker() const { return init_; }
  // init is {"hf": FOLDER}: the model comes from the folder (its section read-only, left out).
  bool modelFromFolder() const { return hf_mode_; }
  QGroupBox* modelSection() const { return model_box_; }

 signals:
  void edited();
  // The model's source changed (init switched to or from a folder, or the folder was read).
  void modelSourceChanged();

 protected:
  void resizeEvent(QResizeEvent* e) override;
  void showEvent(QShowEvent* e) override;
  bool eventFilter(QObject* watched, QEvent* e) override;

 private:
  void addSection(const QString& title, QWidget* box);
  QList<int> partition(int columns) const;  // where each column's run of sections ends
  int columnsFor(int width) const;
  void reflow(bool force);
  // The width the columns may use: a scroll area's view (the form itself never gets narrower than
  // its current columns), else the form's own.
  int availableWidth() const;
  void scheduleReflow();
  void updateRopeEnabled();
  void updateModelSource();
  nlohmann::json modelValues() const;  // the model section's fields, as a "model" object
  void setModelValues(const nlohmann::json& model);
  void fieldEdited();

  QLabel* banner_;
  QHBoxLayout* columns_;
  QList<QWidget*> sections_;
  int column_count_ = 0;
  QPointer<QWidget> viewport_;
  QHash<QString, ConfigField*> generic_;  // key path -> field (method parameters live in the panels)
  QStringList generic_order_;
  QList<MethodPanel*> panels_;
  MethodPanel* position_ = nullptr;
  MethodPanel* rope_ = nullptr;
  InitPicker* init_ = nullptr;
  QGroupBox* model_box_ = nullptr;
  bool hf_mode_ = false;
  nlohmann::json saved_model_;  // the section as it was before a folder took it over
  nlohmann::json given_model_;  // a loaded config's model keys, compared with the folder's once read
  bool applying_ = false;       // inside setConfig: the model source is settled at its end
  int quiet_ = 0;               // > 0: fields set by the form itself, not edits
};

}  // namespace ctx::gui
