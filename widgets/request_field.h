// A nested request of the config (eval.passkey, eval.needle, eval.kvretrieval, eval.ruler, ...):
// an enable checkbox and, under it, one field per key of the request, generated from its
// structure — the engine's resolution of an enabled request (`check` of {"eval": {"passkey": {}}})
// plus any key a loaded config sets. No form is written by hand per request. Off leaves the key
// out; an empty field leaves its key out, so the engine fills in its default (shown as a hint).
#pragma once

#include <QCheckBox>
#include <QList>
#include <QStringList>

#include <nlohmann/json.hpp>

#include "widgets/config_fields.h"

class QFormLayout;

namespace ctx::gui {

// Key paths inside the config's sections whose default is null ("eval.passkey"): what may be a
// request the engine resolves into an object when enabled.
QStringList requestCandidates(const nlohmann::json& defaults);
// The config asking the engine to resolve each of `paths` as an enabled request: {} at each.
nlohmann::json requestProbe(const QStringList& paths);
// From the engine's resolution of requestProbe(paths): path -> the resolved object, for the paths
// that resolved into objects.
nlohmann::json requestShapes(const nlohmann::json& resolved, const QStringList& paths);

class RequestField : public ConfigField {
  Q_OBJECT
 public:
  RequestField(FieldSpec spec, QWidget* parent = nullptr);

  void setValue(const nlohmann::json& v) override;
  nlohmann::json value() const override;
  QWidget* editor() const override { return enable_; }

  bool isOn() const { return enable_->isChecked(); }
  void setOn(bool on);
  // The field of one key ("eval.passkey.trials"), null when the request has none.
  ConfigField* subField(const QString& path) const;
  QList<ConfigField*> subFields() const { return fields_; }

 private:
  ConfigField* addKey(const QString& key, const nlohmann::json& def);
  void updateEnabled();

  QCheckBox* enable_;
  QWidget* body_;
  QFormLayout* form_;
  QList<ConfigField*> fields_;
  nlohmann::json raw_;  // a loaded value that is not an object: passed on for the engine to judge
};

ConfigField* makeRequestField(const FieldSpec& spec, QWidget* parent);

}  // namespace ctx::gui
