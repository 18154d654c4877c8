// The data.corpus picker; see corpus_picker.h.
#include "widgets/corpus_picker.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QPushButton>

namespace ctx::gui {

using nlohmann::json;

QString corpusKind(const QString& spec) {
  if (spec.startsWith("builtin:")) return "builtin";
  const QString lower = spec.toLower();
  if (lower.endsWith(".jsonl") || lower.endsWith(".ndjson")) return "jsonl";
  if (!spec.isEmpty() && QFileInfo(spec).isDir()) return "folder";
  return "file";
}

namespace {

struct Kind {
  const char* id;
  const char* label;
  const char* placeholder;
};
constexpr Kind kKinds[] = {{"builtin", "built-in corpus", "builtin:NAME"},
                           {"file", "text file", "a UTF-8 text file"},
                           {"folder", "folder", "a folder of text files (read recursively)"},
                           {"jsonl", "JSONL file", "one {\"text\": ...} object per line"}};

class CorpusPicker : public ConfigField {
 public:
  CorpusPicker(FieldSpec spec, QWidget* parent)
      : ConfigField(std::move(spec), parent), kind_(new QComboBox(this)), edit_(new QLineEdit(this)),
        browse_(new QPushButton("Browse…", this)) {
    for (const auto& k : kKinds) kind_->addItem(k.label, QString(k.id));
    kind_->setToolTip("how the engine reads the corpus: generated, one file, every file under a folder, or JSON lines");
    kind_->setSizePolicy(QSizePolicy::Fixed, QSizePolicy::Fixed);
    editorRow()->addWidget(kind_);
    setEditorWidget(edit_, -1);
    editorRow()->addWidget(browse_);
    connect(kind_, &QComboBox::activated, this, [this] { kindChosen(); });
    connect(edit_, &QLineEdit::textEdited, this, [this] {
      syncKind();
      emit edited();
    });
    connect(browse_, &QPushButton::clicked, this, [this] { browse(); });
    setValue(nullptr);
  }

  void setValue(const json& v) override {
    const json& shown = v.is_null() ? spec().def : v;
    edit_->setText(shown.is_string() ? QString::fromStdString(shown.get<std::string>()) : jsonToText(shown));
    syncKind();
  }
  json value() const override {
    const QString t = edit_->text().trimmed();
    return t.isEmpty() ? json() : json(t.toStdString());
  }
  QWidget* editor() const override { return edit_; }

 private:
  QString kind() const { return kind_->currentData().toString(); }

  void syncKind() {
    const QString k = edit_->text().trimmed().isEmpty() ? kind() : corpusKind(edit_->text().trimmed());
    kind_->setCurrentIndex(std::max(0, kind_->findData(k)));
    updateControls();
  }

  void updateControls() {
    for (const auto& k : kKinds)
      if (kind() == k.id) edit_->setPlaceholderText(k.placeholder);
    browse_->setVisible(kind() != "builtin");
  }

  void kindChosen() {
    const QString text = edit_->text().trimmed();
    if (kind() == "builtin") {
      if (!text.startsWith("builtin:"))
        edit_->setText(spec().def.is_string() ? QString::fromStdString(spec().def.get<std::string>()) : "builtin:");
    } else if (text.isEmpty() || corpusKind(text) != kind()) {
      edit_->clear();  // a path of another kind would only be refused by the engine
    }
    updateControls();
    emit edited();
  }

  void browse() {
    const QString start = QFileInfo(edit_->text().trimmed()).absolutePath();
    QString chosen;
    if (kind() == "folder")
      chosen = QFileDialog::getExistingDirectory(this, "Corpus folder", start);
    else if (kind() == "jsonl")
      chosen = QFileDialog::getOpenFileName(this, "JSONL corpus", start, "JSON lines (*.jsonl *.ndjson);;All files (*)");
    else
      chosen = QFileDialog::getOpenFileName(this, "Text corpus", start, "Text (*.txt *.md);;All files (*)");
    if (chosen.isEmpty()) return;
    edit_->setText(chosen);
    updateControls();
    emit edited();
  }

  QComboBox* kind_;
  QLineEdit* edit_;
  QPushButton* browse_;
};

}  // namespace

ConfigField* makeCorpusPicker(const FieldSpec& spec, QWidget* parent) { return new CorpusPicker(spec, parent); }

}  // namespace ctx::gui
