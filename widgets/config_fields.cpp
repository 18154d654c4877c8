// The generic field editors of the configurator form; see config_fields.h.
#include "widgets/config_fields.h"

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QRegularExpression>
#include <QVBoxLayout>

#include "widgets/corpus_picker.h"
#include "widgets/init_picker.h"
#include "widgets/request_field.h"

namespace ctx::gui {

using nlohmann::json;

namespace {

std::optional<double> optNumber(const json& p, const char* key) {
  if (p.contains(key) && p[key].is_number()) return p[key].get<double>();
  return std::nullopt;
}

QString fromStd(const std::string& s) { return QString::fromStdString(s); }

// Numbers, strings and lists in one line edit; the engine judges what is typed.
class TextField : public ConfigField {
 public:
  TextField(FieldSpec spec, QWidget* parent) : ConfigField(std::move(spec), parent), edit_(new QLineEdit(this)) {
    const auto t = this->spec().type;
    const bool number = t == FieldType::Int || t == FieldType::Float;
    // Per-pair factor lists can be long; everything else stays compact.
    setEditorWidget(edit_, number ? 130 : t == FieldType::FloatList ? -1 : t == FieldType::Json ? 220 : 200);
    if (this->spec().def.is_null())
      edit_->setPlaceholderText(t == FieldType::Json ? "none" : "required");
    else
      edit_->setPlaceholderText((this->spec().default_as_hint ? "engine default: " : "default ") + jsonToText(this->spec().def));
    connect(edit_, &QLineEdit::textEdited, this, &ConfigField::edited);
    setValue(nullptr);
  }
  void setValue(const json& v) override {
    const json& shown = v.is_null() && !spec().default_as_hint ? spec().def : v;
    if (spec().type == FieldType::Json)
      edit_->setText(shown.is_null() ? QString() : fromStd(shown.dump()));
    else
      edit_->setText(jsonToText(shown));
    edit_->setCursorPosition(0);
  }
  json value() const override {
    const QString text = edit_->text().trimmed();
    switch (spec().type) {
      case FieldType::Int: return textToNumber(text, true);
      case FieldType::Float: return textToNumber(text, false);
      case FieldType::IntList: return textToList(text, FieldType::Int);
      case FieldType::FloatList: return textToList(text, FieldType::Float);
      case FieldType::StringList: return textToList(text, FieldType::String);
      case FieldType::Json: {
        if (text.isEmpty()) return nullptr;
        json j = json::parse(text.toStdString(), nullptr, false);
        return j.is_discarded() ? json(text.toStdString()) : j;
      }
      default: return text.isEmpty() ? json() : json(text.toStdString());
    }
  }
  QWidget* editor() const override { return edit_; }

 private:
  QLineEdit* edit_;
};

class BoolField : public ConfigField {
 public:
  BoolField(FieldSpec spec, QWidget* parent) : ConfigField(std::move(spec), parent), box_(new QCheckBox(this)) {
    setEditorWidget(box_);
    // With the default as a hint, the third state means "the engine's default" (left out).
    box_->setTristate(this->spec().default_as_hint);
    connect(box_, &QCheckBox::stateChanged, this, &ConfigField::edited);
    setValue(nullptr);
  }
  void setValue(const json& v) override {
    QSignalBlocker block(box_);
    if (v.is_null() && spec().default_as_hint) {
      box_->setCheckState(Qt::PartiallyChecked);
      return;
    }
    const json& shown = v.is_null() ? spec().def : v;
    box_->setChecked(shown.is_boolean() && shown.get<bool>());
  }
  json value() const override {
    if (box_->checkState() == Qt::PartiallyChecked) return nullptr;
    return box_->isChecked();
  }
  QWidget* editor() const override { return box_; }

 private:
  QCheckBox* box_;
};

class ChoiceField : public ConfigField {
 public:
  ChoiceField(FieldSpec spec, QWidget* parent) : ConfigField(std::move(spec), parent), combo_(new QComboBox(this)) {
    combo_->addItems(this->spec().choices);
    combo_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    combo_->setMinimumWidth(130);
    setEditorWidget(combo_);
    connect(combo_, &QComboBox::activated, this, &ConfigField::edited);
    setValue(nullptr);
  }
  void setValue(const json& v) override {
    const json& shown = v.is_null() ? spec().def : v;
    const QString s = shown.is_string() ? fromStd(shown.get<std::string>()) : jsonToText(shown);
    if (s.isEmpty() && combo_->count() > 0) {
      combo_->setCurrentIndex(0);
      return;
    }
    // A value the registry does not list stays visible, and the engine's check says why it is wrong.
    if (combo_->findText(s) < 0) combo_->addItem(s);
    combo_->setCurrentIndex(combo_->findText(s));
  }
  json value() const override { return combo_->currentText().toStdString(); }
  QWidget* editor() const override { return combo_; }

 private:
  QComboBox* combo_;
};

}  // namespace

FieldSpec specFromParam(const QString& prefix, const json& p) {
  FieldSpec s;
  s.label = fromStd(p.value("key", std::string()));
  s.path = prefix.isEmpty() ? s.label : prefix + "." + s.label;
  s.def = p.value("default", json());
  s.min = optNumber(p, "min");
  s.max = optNumber(p, "max");
  s.doc = fromStd(p.value("doc", std::string()));
  if (p.contains("choices") && p["choices"].is_array())
    for (const auto& c : p["choices"]) s.choices << (c.is_string() ? fromStd(c.get<std::string>()) : fromStd(c.dump()));
  const std::string t = p.value("type", std::string());
  if (t == "int") s.type = FieldType::Int;
  else if (t == "float") s.type = FieldType::Float;
  else if (t == "bool") s.type = FieldType::Bool;
  else if (t == "choice") s.type = FieldType::Choice;
  else if (t == "string") s.type = FieldType::String;
  else if (t == "float_list") s.type = FieldType::FloatList;
  else if (t == "int_list") s.type = FieldType::IntList;
  else if (t == "string_list") s.type = FieldType::StringList;
  else s.type = FieldType::Json;  // a type this window does not know yet: edited as JSON text
  if (s.type == FieldType::Choice && s.choices.isEmpty()) s.type = FieldType::String;
  return s;
}

FieldSpec specFromDefault(const QString& path, const json& def) {
  FieldSpec s;
  s.path = path;
  s.label = path.section('.', -1);
  s.def = def;
  if (def.is_boolean()) s.type = FieldType::Bool;
  else if (def.is_number_integer()) s.type = FieldType::Int;
  else if (def.is_number()) s.type = FieldType::Float;
  else if (def.is_string()) s.type = FieldType::String;
  else if (def.is_array() && !def.empty()) {
    bool ints = true, numbers = true, strings = true;
    for (const auto& e : def) {
      ints = ints && e.is_number_integer();
      numbers = numbers && e.is_number();
      strings = strings && e.is_string();
    }
    s.type = ints ? FieldType::IntList : numbers ? FieldType::FloatList : strings ? FieldType::StringList : FieldType::Json;
  } else {
    s.type = FieldType::Json;  // empty lists, lists of objects (train.stages), objects
  }
  return s;
}

ConfigField::ConfigField(FieldSpec spec, QWidget* parent) : QWidget(parent), spec_(std::move(spec)) {
  auto* v = new QVBoxLayout(this);
  v->setContentsMargins(0, 0, 0, 0);
  v->setSpacing(2);
  row_ = new QHBoxLayout;
  row_->setContentsMargins(0, 0, 0, 0);
  v->addLayout(row_);
  error_ = new QLabel(this);
  error_->setWordWrap(true);
  error_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  error_->setStyleSheet("color: #c62828;");
  error_->setObjectName("fieldError");
  error_->hide();
  v->addWidget(error_);
}

void ConfigField::setEditorWidget(QWidget* w, int width) {
  if (width > 0) w->setFixedWidth(width);
  w->setToolTip(tooltipText());
  row_->addWidget(w, width < 0 ? 1 : 0);
  if (width >= 0) row_->addStretch(1);
}

void ConfigField::addBelow(QWidget* w) {
  static_cast<QVBoxLayout*>(layout())->insertWidget(1, w);
}

QString ConfigField::tooltipText() const {
  QString t = "<b>" + spec_.path.toHtmlEscaped() + "</b>";
  if (!spec_.doc.isEmpty()) t += "<br>" + spec_.doc.toHtmlEscaped();
  t += "<br><i>default: " + (spec_.def.is_null() ? QString("required") : jsonToText(spec_.def).toHtmlEscaped());
  if (spec_.min || spec_.max)
    t += QString(" · range [%1, %2]")
             .arg(spec_.min ? QString::number(*spec_.min, 'g', 12) : QString("-inf"))
             .arg(spec_.max ? QString::number(*spec_.max, 'g', 12) : QString("inf"));
  return t + "</i>";
}

void ConfigField::showError(const QString& message) {
  error_->setText(message);
  error_->show();
}

void ConfigField::clearError() {
  error_->clear();
  error_->hide();
}

ConfigField* makeField(const FieldSpec& spec, QWidget* parent) {
  switch (spec.type) {
    case FieldType::Bool: return new BoolField(spec, parent);
    case FieldType::Choice: return new ChoiceField(spec, parent);
    case FieldType::Corpus: return makeCorpusPicker(spec, parent);
    case FieldType::Init: return makeInitPicker(spec, parent);
    case FieldType::Request: return makeRequestField(spec, parent);
    default: return new TextField(spec, parent);
  }
}

QString jsonToText(const json& v) {
  if (v.is_null()) return QString();
  if (v.is_number_integer()) return QString::number(v.get<qlonglong>());
  if (v.is_number()) return QString::number(v.get<double>(), 'g', 15);
  if (v.is_string()) return fromStd(v.get<std::string>());
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_array()) {
    QStringList parts;
    for (const auto& e : v) parts << (e.is_structured() ? fromStd(e.dump()) : jsonToText(e));
    return parts.join(", ");
  }
  return fromStd(v.dump());
}

json textToNumber(const QString& text, bool integer) {
  const QString t = text.trimmed();
  if (t.isEmpty()) return nullptr;
  bool ok = false;
  if (integer) {
    const qlonglong i = t.toLongLong(&ok);
    if (ok) return static_cast<int64_t>(i);
  }
  const double d = t.toDouble(&ok);
  if (ok) return d;
  return t.toStdString();
}

json textToList(const QString& text, FieldType elem) {
  if (text.trimmed().isEmpty()) return nullptr;
  json out = json::array();
  static const QRegularExpression sep("[,\\s]+");
  for (const QString& part : text.split(sep, Qt::SkipEmptyParts)) {
    if (elem == FieldType::String)
      out.push_back(part.toStdString());
    else
      out.push_back(textToNumber(part, elem == FieldType::Int));
  }
  return out;
}

}  // namespace ctx::gui
