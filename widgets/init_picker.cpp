// The "init" picker and its Hugging Face folder summary; see init_picker.h.
#include "widgets/init_picker.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QPushButton>
#include <QVBoxLayout>

#include "widgets/cli_call.h"
#include "widgets/hf_summary.h"

namespace ctx::gui {

using nlohmann::json;

namespace {

// Combo entries: the config's key for each way to start, and what the text box then holds.
struct Kind {
  const char* key;
  const char* label;
  const char* placeholder;
};
constexpr Kind kKinds[] = {
    {"scratch", "from scratch", ""},
    {"run", "from run id", "run id, e.g. 12"},
    {"run_named", "from latest run named", "run name, e.g. quickstart"},
    {"checkpoint", "from checkpoint file", "path to a checkpoint"},
    {"hf", "from HF model folder…", "folder with config.json, safetensors, tokenizer"}};

QString summaryHtml(const json& info) {
  QString html = "<table cellspacing=\"0\" cellpadding=\"1\">";
  for (const auto& [label, value] : hfSummaryRows(info))
    html += "<tr><td style=\"color: #666; padding-right: 10px;\">" + label.toHtmlEscaped() +
            "</td><td>" + value.toHtmlEscaped() + "</td></tr>";
  return html + "</table>";
}

}  // namespace

InitPicker::InitPicker(FieldSpec spec, QWidget* parent)
    : ConfigField(std::move(spec), parent),
      kind_(new QComboBox(this)),
      edit_(new QLineEdit(this)),
      browse_(new QPushButton("Browse…", this)),
      info_label_(new QLabel(this)) {
  for (const auto& k : kKinds) kind_->addItem(k.label, QString(k.key));
  // Short in the combo, so the Run section stays narrow; spelled out where it is pointed at.
  kind_->setItemData(kind_->findData(QString("hf")),
                     "Start from a Hugging Face model folder (config.json, safetensors weights, "
                     "tokenizer): opens a folder picker",
                     Qt::ToolTipRole);
  kind_->setSizePolicy(QSizePolicy::Fixed, QSizePolicy::Fixed);  // the text box takes the rest
  editorRow()->addWidget(kind_);
  setEditorWidget(edit_, -1);
  edit_->setMinimumWidth(110);  // a folder's name stays legible
  editorRow()->addWidget(browse_);
  info_label_->setObjectName("hfFolderInfo");
  info_label_->setWordWrap(true);
  info_label_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  qobject_cast<QVBoxLayout*>(layout())->addWidget(info_label_);
  typing_.setSingleShot(true);
  typing_.setInterval(kTypingDelayMs);
  connect(&typing_, &QTimer::timeout, this, &InitPicker::readFolder);

  connect(kind_, &QComboBox::activated, this, [this](int i) {
    if (kind_->itemData(i).toString() == "hf") {
      // The folder is the point of this choice: ask for it at once. Cancelled, nothing changes.
      kind_->setCurrentIndex(last_kind_);
      chooseFolder();
      return;
    }
    last_kind_ = i;
    edit_->clear();
    updateControls();
    emit edited();  // first: the check it asks for is pending when the folder state changes
    readFolder();
  });
  connect(edit_, &QLineEdit::textEdited, this, [this] {
    emit edited();
    if (!isFolder()) return;
    // What was read described another path: until the typed one is read, it counts as reading.
    ++generation_;
    read_path_ = folder();
    info_ = nullptr;
    folder_error_.clear();
    state_ = FolderState::Reading;
    showFolder();
    emit folderInfoChanged();
    typing_.start();
  });
  connect(browse_, &QPushButton::clicked, this, [this] {
    if (isFolder()) return chooseFolder();
    const QString f = QFileDialog::getOpenFileName(this, "Checkpoint", edit_->text());
    if (f.isEmpty()) return;
    edit_->setText(f);
    emit edited();
  });
  setValue(nullptr);
}

void InitPicker::setValue(const json& v) {
  QString key = "scratch", text;
  if (v.is_object() && !v.empty()) {
    key = QString::fromStdString(v.begin().key());
    text = jsonToText(v.begin().value());
  } else if (v.is_string() && v != "scratch") {
    key = "run_named";  // not a form the engine takes; shown so its check can say so
    text = QString::fromStdString(v.get<std::string>());
  }
  last_kind_ = std::max(0, kind_->findData(key));
  kind_->setCurrentIndex(last_kind_);
  edit_->setText(text);
  updateControls();
  // The same folder again (a config saved and loaded back): what was read still holds.
  if (!isFolder() || folder() != read_path_ || state_ == FolderState::None ||
      state_ == FolderState::Failed)
    readFolder();
}

json InitPicker::value() const {
  const QString key = kind_->currentData().toString();
  if (key == "scratch") return "scratch";
  const QString t = edit_->text().trimmed();
  if (key == "run") return json{{"run", textToNumber(t, true)}};
  return json{{key.toStdString(), t.toStdString()}};
}

QWidget* InitPicker::editor() const {
  return kind_;
}

bool InitPicker::isFolder() const {
  return kind_->currentData().toString() == "hf";
}

QString InitPicker::folder() const {
  return isFolder() ? edit_->text().trimmed() : QString();
}

void InitPicker::setFolder(const QString& path) {
  last_kind_ = kind_->findData(QString("hf"));
  kind_->setCurrentIndex(last_kind_);
  edit_->setText(path);
  updateControls();
  emit edited();  // first: the check it asks for is pending when the folder state changes
  readFolder();   // picked again: read again (the folder may have been fixed meanwhile)
}

void InitPicker::chooseFolder() {
  QString start = folder();
  if (start.isEmpty() && kind_->currentData().toString() == "checkpoint")
    start = QFileInfo(edit_->text()).path();
  const QString dir = QFileDialog::getExistingDirectory(this, "Hugging Face model folder", start);
  if (!dir.isEmpty()) setFolder(dir);
}

void InitPicker::updateControls() {
  const QString key = kind_->currentData().toString();
  edit_->setVisible(key != "scratch");
  for (const auto& k : kKinds)
    if (key == k.key) edit_->setPlaceholderText(k.placeholder);
  browse_->setVisible(key == "checkpoint" || key == "hf");
  browse_->setToolTip(key == "hf" ? "Choose the Hugging Face model folder"
                                  : "Choose a checkpoint file");
}

void InitPicker::readFolder() {
  typing_.stop();
  const int gen = ++generation_;  // an answer for an earlier path is dropped
  const FolderState was = state_;
  read_path_ = folder();
  info_ = nullptr;
  folder_error_.clear();
  if (read_path_.isEmpty()) {
    state_ = FolderState::None;
    showFolder();
    if (was != state_) emit folderInfoChanged();
    return;
  }
  state_ = FolderState::Reading;
  showFolder();
  emit folderInfoChanged();
  runCli(this, {"hf-info", read_path_}, [this, gen](const CliResult& r) {
    if (gen != generation_) return;
    if (r.ok && r.json.is_object()) {
      state_ = FolderState::Ready;
      info_ = r.json;
    } else {
      state_ = FolderState::Failed;
      folder_error_ = r.error.isEmpty()
                          ? QString("ctxlab-cli hf-info gave no description of the folder")
                          : r.error;
    }
    showFolder();
    emit folderInfoChanged();
  });
}

void InitPicker::showFolder() {
  info_label_->setVisible(isFolder());
  switch (state_) {
    case FolderState::None:
      info_label_->setTextFormat(Qt::PlainText);
      info_label_->setStyleSheet("color: palette(placeholder-text);");
      info_label_->setText(
          "Choose a folder holding config.json, the safetensors weights and the tokenizer.");
      break;
    case FolderState::Reading:
      info_label_->setTextFormat(Qt::PlainText);
      info_label_->setStyleSheet("color: palette(placeholder-text);");
      info_label_->setText("Reading the folder with ctxlab-cli hf-info…");
      break;
    case FolderState::Ready:
      info_label_->setTextFormat(Qt::RichText);
      info_label_->setStyleSheet(QString());
      info_label_->setText(summaryHtml(info_));
      break;
    case FolderState::Failed:
      info_label_->setTextFormat(Qt::PlainText);
      info_label_->setStyleSheet("color: #c62828;");  // as the form's validation messages
      info_label_->setText(folder_error_);
      break;
  }
}

ConfigField* makeInitPicker(const FieldSpec& spec, QWidget* parent) {
  return new InitPicker(spec, parent);
}

}  // namespace ctx::gui
