// Registry-generated method fields; see method_panel.h.
#include "widgets/method_panel.h"

#include <QFormLayout>
#include <QLabel>

namespace ctx::gui {

using nlohmann::json;

namespace {
constexpr const char* kNone = "none";
}

MethodPanel::MethodPanel(const QString& title, MethodSlot slot, const json& registry, QWidget* parent)
    : QGroupBox(title, parent), slot_(std::move(slot)) {
  if (registry.is_array())
    for (const auto& m : registry)
      if (m.value("kind", std::string()) == slot_.kind.toStdString()) {
        methods_.push_back(m);
        names_ << QString::fromStdString(m.value("name", std::string()));
      }
  form_ = new QFormLayout(this);
  form_->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
  form_->setLabelAlignment(Qt::AlignRight);

  FieldSpec ts;
  ts.path = slot_.path + "." + slot_.type_key;
  ts.label = slot_.type_key;
  ts.type = FieldType::Choice;
  ts.choices = names_;
  if (slot_.allow_none) ts.choices.prepend(kNone);
  ts.def = ts.choices.isEmpty() ? json() : json(ts.choices.front().toStdString());
  ts.doc = "the " + slot_.kind + " method; its parameters below come from ctxlab-cli's method registry";
  type_ = makeField(ts, this);
  form_->addRow(slot_.type_key, type_);
  doc_ = new QLabel(this);
  doc_->setWordWrap(true);
  doc_->setStyleSheet("color: palette(placeholder-text);");
  form_->addRow(doc_);
  connect(type_, &ConfigField::edited, this, [this] {
    const QString chosen = QString::fromStdString(type_->value().get<std::string>());
    setMethod(chosen == kNone ? QString() : chosen);
    emit edited();
  });
  rebuild(slot_.allow_none || names_.isEmpty() ? QString() : names_.front(), json::object());
}

QString MethodPanel::method() const { return current_; }

const json* MethodPanel::entry(const QString& name) const {
  for (const auto& m : methods_)
    if (QString::fromStdString(m.value("name", std::string())) == name) return &m;
  return nullptr;
}

json MethodPanel::paramValues() const {
  json out = json::object();
  for (auto* f : params_) {
    json v = f->value();
    if (!v.is_null()) out[f->spec().label.toStdString()] = std::move(v);
  }
  return out;
}

void MethodPanel::setMethod(const QString& name) {
  if (name == current_) return;
  if (!current_.isEmpty()) edits_[current_] = paramValues();
  rebuild(name, edits_.value(name, json::object()));
  emit methodChanged(current_);
}

void MethodPanel::rebuild(const QString& name, const json& values) {
  while (form_->rowCount() > 2) form_->removeRow(2);
  params_.clear();
  current_ = name;
  type_->setValue(name.isEmpty() ? json(kNone) : json(name.toStdString()));
  const json* m = entry(name);
  doc_->setText(m ? QString::fromStdString(m->value("doc", std::string()))
                  : name.isEmpty() ? QString("No %1.").arg(slot_.path)
                                   : QString("'%1' is not in ctxlab-cli's registry.").arg(name));
  if (!m || !m->contains("params")) return;
  for (const auto& p : (*m)["params"]) {
    auto* f = makeField(specFromParam(slot_.path, p), this);
    const std::string key = p.value("key", std::string());
    if (values.contains(key)) f->setValue(values[key]);
    connect(f, &ConfigField::edited, this, &MethodPanel::edited);
    form_->addRow(f->spec().label, f);
    params_ << f;
  }
}

QStringList MethodPanel::setValue(const json& v) {
  edits_.clear();
  QString name;
  json params = json::object();
  if (v.is_string()) {
    name = QString::fromStdString(v.get<std::string>());
  } else if (v.is_object()) {
    params = v;
    for (const std::string& k : {slot_.type_key.toStdString(), std::string("type")}) {
      if (params.contains(k) && params[k].is_string()) {
        name = QString::fromStdString(params[k].get<std::string>());
        params.erase(k);
        break;
      }
    }
    params.erase(slot_.type_key.toStdString());
    params.erase("type");
  } else if (!slot_.allow_none && !names_.isEmpty()) {
    name = names_.front();
  }
  rebuild(name, params);
  emit methodChanged(current_);
  QStringList dropped;
  const json* m = entry(name);
  for (auto it = params.begin(); it != params.end(); ++it) {
    bool known = false;
    if (m && m->contains("params"))
      for (const auto& p : (*m)["params"]) known = known || p.value("key", std::string()) == it.key();
    if (!known) dropped << slot_.path + "." + QString::fromStdString(it.key());
  }
  return dropped;
}

json MethodPanel::value() const {
  if (current_.isEmpty()) return nullptr;
  json out = paramValues();
  out[slot_.type_key.toStdString()] = current_.toStdString();
  return out;
}

QList<ConfigField*> MethodPanel::fields() const { return QList<ConfigField*>{type_} + params_; }

}  // namespace ctx::gui
