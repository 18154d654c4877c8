// One method slot of the config (model.position, rope_scaling, train.positions): a combo of the
// registry's methods of one kind and the parameter fields generated from the chosen method's list.
#pragma once

#include <QGroupBox>
#include <QList>
#include <QMap>
#include <QString>

#include <nlohmann/json.hpp>

#include "widgets/config_fields.h"

class QFormLayout;
class QLabel;

namespace ctx::gui {

struct MethodSlot {
  QString kind;      // registry kind: "position", "rope_scaling", "sampler"
  QString path;      // where the config holds it: "model.position"
  QString type_key;  // the key naming the method: "type", or "rope_type" for HF's rope_scaling
  bool allow_none;   // rope_scaling may be absent
};

class MethodPanel : public QGroupBox {
  Q_OBJECT
 public:
  MethodPanel(const QString& title, MethodSlot slot, const nlohmann::json& registry, QWidget* parent = nullptr);

  const MethodSlot& slot() const { return slot_; }
  QString method() const;  // empty = none
  // Chooses a method; its fields show the last values edited for it, else the registry defaults.
  void setMethod(const QString& name);
  // A method name, {type_key: name, params...} (HF's legacy "type" taken too), or null (none, or
  // the first method). Returns the key paths of parameters the method does not have (left out).
  QStringList setValue(const nlohmann::json& v);
  // {type_key: name, params...} with the parameters that are set; null when none is chosen.
  nlohmann::json value() const;
  ConfigField* typeField() const { return type_; }
  QList<ConfigField*> fields() const;  // the type field, then the parameters
  QStringList methodNames() const { return names_; }

 signals:
  void edited();
  void methodChanged(const QString& name);

 private:
  void rebuild(const QString& name, const nlohmann::json& values);
  nlohmann::json paramValues() const;
  const nlohmann::json* entry(const QString& name) const;

  MethodSlot slot_;
  nlohmann::json methods_ = nlohmann::json::array();  // the registry entries of this kind
  QStringList names_;
  QFormLayout* form_;
  ConfigField* type_;
  QLabel* doc_;
  QList<ConfigField*> params_;
  QString current_;
  QMap<QString, nlohmann::json> edits_;  // per method, what the user set before switching away
};

}  // namespace ctx::gui
