// One editable config key of the configurator form: its key path, the editor generated from its
// type (registry parameter type or the JSON type of the engine's default), and its error line.
#pragma once

#include <QLabel>
#include <QString>
#include <QStringList>
#include <QWidget>

#include <memory>
#include <optional>
#include <nlohmann/json.hpp>

class QHBoxLayout;

namespace ctx::gui {

enum class FieldType { Int, Float, Bool, Choice, String, IntList, FloatList, StringList, Json, Corpus, Init, Request };

struct FieldSpec {
  QString path;   // "model.heads", "rope_scaling.factor", "train.positions.alpha"
  QString label;  // the last key, as the engine names it in its messages
  FieldType type = FieldType::String;
  nlohmann::json def;  // engine or registry default; null = required / none
  std::optional<double> min, max;
  QStringList choices;
  QString doc;
  // The default is a hint (placeholder text) and an empty editor means "leave the key out", so
  // the engine fills it in (the keys inside a nested request).
  bool default_as_hint = false;
  nlohmann::json shape;  // Request: the resolved structure of an enabled request
};

// A registry parameter ({key, type, default, min, max, choices, doc}) as a spec under `prefix`.
FieldSpec specFromParam(const QString& prefix, const nlohmann::json& param);
// A generic key from the JSON type of its resolved default value.
FieldSpec specFromDefault(const QString& path, const nlohmann::json& def);

// Base of every field: the editor on top, the engine's message in red under it.
class ConfigField : public QWidget {
  Q_OBJECT
 public:
  const FieldSpec& spec() const { return spec_; }
  const QString& path() const { return spec_.path; }
  // null = the default (shown explicitly when there is one, empty when the key is required).
  virtual void setValue(const nlohmann::json& v) = 0;
  // null = leave the key out. Text that does not parse is passed on as a string, so the engine's
  // check names the problem in its own words.
  virtual nlohmann::json value() const = 0;
  virtual QWidget* editor() const = 0;

  void showError(const QString& message);
  void clearError();
  // Puts `w` on a line under the editor, above the error line: a control that belongs with this
  // key (the GPU count under train.device).
  void addBelow(QWidget* w);
  QLabel* errorLabel() const { return error_; }

 signals:
  void edited();

 protected:
  ConfigField(FieldSpec spec, QWidget* parent);
  // Puts the editor in the top row: `width` > 0 fixes its width (numbers stay compact), 0 keeps its
  // own size, < 0 lets it take the whole row.
  void setEditorWidget(QWidget* w, int width = 0);
  QHBoxLayout* editorRow() const { return row_; }
  QString tooltipText() const;

 private:
  FieldSpec spec_;
  QHBoxLayout* row_;
  QLabel* error_;
};

// Builds the field for a spec (Corpus and Init get their pickers).
ConfigField* makeField(const FieldSpec& spec, QWidget* parent = nullptr);

// Number and list text <-> JSON, shared by the fields and their tests.
QString jsonToText(const nlohmann::json& v);
nlohmann::json textToNumber(const QString& text, bool integer);  // "" -> null; bad -> the text
nlohmann::json textToList(const QString& text, FieldType elem);  // "128, 256" -> [128, 256]

}  // namespace ctx::gui
