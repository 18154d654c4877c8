// Nested request forms generated from the engine's resolved structure; see request_field.h.
#include "widgets/request_field.h"

#include <QFormLayout>
#include <QLineEdit>
#include <QVBoxLayout>

namespace ctx::gui {

using nlohmann::json;

QStringList requestCandidates(const json& defaults) {
  QStringList out;
  if (!defaults.is_object()) return out;
  for (auto sec = defaults.begin(); sec != defaults.end(); ++sec) {
    if (!sec.value().is_object()) continue;
    for (auto it = sec.value().begin(); it != sec.value().end(); ++it)
      if (it.value().is_null()) out << QString::fromStdString(sec.key() + "." + it.key());
  }
  return out;
}

json requestProbe(const QStringList& paths) {
  json cfg = json::object();
  for (const QString& p : paths) cfg[p.section('.', 0, 0).toStdString()][p.section('.', 1).toStdString()] = json::object();
  return cfg;
}

json requestShapes(const json& resolved, const QStringList& paths) {
  json out = json::object();
  for (const QString& p : paths) {
    const std::string sec = p.section('.', 0, 0).toStdString(), key = p.section('.', 1).toStdString();
    if (!resolved.is_object() || !resolved.contains(sec) || !resolved[sec].is_object()) continue;
    const json& v = resolved[sec].value(key, json());
    if (v.is_object()) out[p.toStdString()] = v;
  }
  return out;
}

RequestField::RequestField(FieldSpec spec, QWidget* parent) : ConfigField(std::move(spec), parent) {
  enable_ = new QCheckBox("enabled", this);
  setEditorWidget(enable_);
  body_ = new QWidget(this);
  form_ = new QFormLayout(body_);
  form_->setContentsMargins(14, 0, 0, 2);  // indented under the checkbox: these keys belong to it
  form_->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
  form_->setLabelAlignment(Qt::AlignRight);
  static_cast<QVBoxLayout*>(layout())->insertWidget(1, body_);
  const json& shape = this->spec().shape;
  if (shape.is_object())
    for (auto it = shape.begin(); it != shape.end(); ++it) addKey(QString::fromStdString(it.key()), it.value());
  connect(enable_, &QCheckBox::toggled, this, [this] {
    raw_ = nullptr;
    updateEnabled();
    emit edited();
  });
  updateEnabled();
}

ConfigField* RequestField::addKey(const QString& key, const json& def) {
  FieldSpec s = specFromDefault(path() + "." + key, def);
  // An empty list says nothing of its elements: requests hold numbers (lengths, depths).
  if (def.is_array() && def.empty()) s.type = FieldType::FloatList;
  if (s.type == FieldType::Json && def.is_null()) s.type = FieldType::String;
  s.default_as_hint = true;
  auto* f = makeField(s, body_);
  form_->addRow(key, f);
  fields_ << f;
  connect(f, &ConfigField::edited, this, [this] {
    raw_ = nullptr;
    emit edited();
  });
  return f;
}

void RequestField::updateEnabled() { body_->setVisible(enable_->isChecked()); }

void RequestField::setOn(bool on) { enable_->setChecked(on); }

ConfigField* RequestField::subField(const QString& p) const {
  for (auto* f : fields_)
    if (f->path() == p) return f;
  return nullptr;
}

void RequestField::setValue(const json& v) {
  QSignalBlocker block(enable_);
  raw_ = nullptr;
  enable_->setChecked(!v.is_null());
  for (auto* f : fields_) f->setValue(nullptr);
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      const QString key = QString::fromStdString(it.key());
      ConfigField* f = subField(path() + "." + key);
      // A key the engine's structure did not show (a depth list left empty there, a newer key):
      // it gets a field of its own, typed from the value, so the config keeps it.
      if (!f) f = addKey(key, it.value());
      f->setValue(it.value());
    }
  } else if (!v.is_null()) {
    raw_ = v;  // not an object: the engine's check says what is wrong with it
  }
  updateEnabled();
}

json RequestField::value() const {
  if (!enable_->isChecked()) return nullptr;
  if (!raw_.is_null()) return raw_;
  json out = json::object();
  for (auto* f : fields_) {
    json v = f->value();
    if (!v.is_null()) out[f->path().section('.', -1).toStdString()] = std::move(v);
  }
  return out;
}

ConfigField* makeRequestField(const FieldSpec& spec, QWidget* parent) { return new RequestField(spec, parent); }

}  // namespace ctx::gui
