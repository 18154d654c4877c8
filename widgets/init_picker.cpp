// The "init" picker; see init_picker.h.
#include "widgets/init_picker.h"

#include <QComboBox>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QPushButton>

namespace ctx::gui {

using nlohmann::json;

namespace {

// Combo entries: the config's key for each way to start, and what the text box then holds.
struct Kind {
  const char* key;
  const char* label;
  const char* placeholder;
};
constexpr Kind kKinds[] = {{"scratch", "from scratch", ""},
                           {"run", "from run id", "run id, e.g. 12"},
                           {"run_named", "from latest run named", "run name, e.g. quickstart"},
                           {"checkpoint", "from checkpoint file", "path to a checkpoint"}};

class InitPicker : public ConfigField {
 public:
  InitPicker(FieldSpec spec, QWidget* parent)
      : ConfigField(std::move(spec), parent), kind_(new QComboBox(this)), edit_(new QLineEdit(this)),
        browse_(new QPushButton("Browse…", this)) {
    for (const auto& k : kKinds) kind_->addItem(k.label, QString(k.key));
    kind_->setSizePolicy(QSizePolicy::Fixed, QSizePolicy::Fixed);  // the text box takes the rest
    editorRow()->addWidget(kind_);
    setEditorWidget(edit_, -1);
    editorRow()->addWidget(browse_);
    connect(kind_, &QComboBox::activated, this, [this] {
      edit_->clear();
      updateControls();
      emit edited();
    });
    connect(edit_, &QLineEdit::textEdited, this, &ConfigField::edited);
    connect(browse_, &QPushButton::clicked, this, [this] {
      const QString f = QFileDialog::getOpenFileName(this, "Checkpoint", edit_->text());
      if (f.isEmpty()) return;
      edit_->setText(f);
      emit edited();
    });
    setValue(nullptr);
  }

  void setValue(const json& v) override {
    QString key = "scratch", text;
    if (v.is_object() && !v.empty()) {
      key = QString::fromStdString(v.begin().key());
      text = jsonToText(v.begin().value());
    } else if (v.is_string() && v != "scratch") {
      key = "run_named";  // not a form the engine takes; shown so its check can say so
      text = QString::fromStdString(v.get<std::string>());
    }
    kind_->setCurrentIndex(std::max(0, kind_->findData(key)));
    edit_->setText(text);
    updateControls();
  }

  json value() const override {
    const QString key = kind_->currentData().toString();
    if (key == "scratch") return "scratch";
    const QString t = edit_->text().trimmed();
    if (key == "run") return json{{"run", textToNumber(t, true)}};
    return json{{key.toStdString(), t.toStdString()}};
  }
  QWidget* editor() const override { return kind_; }

 private:
  void updateControls() {
    const QString key = kind_->currentData().toString();
    edit_->setVisible(key != "scratch");
    for (const auto& k : kKinds)
      if (key == k.key) edit_->setPlaceholderText(k.placeholder);
    browse_->setVisible(key == "checkpoint");
  }

  QComboBox* kind_;
  QLineEdit* edit_;
  QPushButton* browse_;
};

}  // namespace

ConfigField* makeInitPicker(const FieldSpec& spec, QWidget* parent) { return new InitPicker(spec, parent); }

}  // namespace ctx::gui
