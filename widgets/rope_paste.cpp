// Parsing and the dialog for a pasted Hugging Face rope_scaling block; see rope_paste.h.
#include "widgets/rope_paste.h"

#include <QDialogButtonBox>
#include <QFontDatabase>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QVBoxLayout>

namespace ctx::gui {

using nlohmann::json;

namespace {

// A copied line is often a fragment: `"rope_scaling": {...},` without the outer braces.
json parseLenient(QString text) {
  text = text.trimmed();
  while (text.endsWith(',')) text.chop(1);
  json j = json::parse(text.toStdString(), nullptr, false);
  if (j.is_discarded() && !text.startsWith('{')) j = json::parse(("{" + text + "}").toStdString(), nullptr, false);
  return j;
}

}  // namespace

std::optional<json> parseRopeScalingBlock(const QString& text, QString* error) {
  auto fail = [&](const QString& why) {
    if (error) *error = why;
    return std::nullopt;
  };
  if (text.trimmed().isEmpty()) return fail("Paste a rope_scaling block or a config.json.");
  json j = parseLenient(text);
  if (j.is_discarded()) {
    // Report where strict parsing stops, which is where the user has to look.
    try {
      const json strict = json::parse(text.trimmed().toStdString());
      (void)strict;
    } catch (const json::parse_error& e) {
      // Without nlohmann's "[json.exception.parse_error.101] " tag: the line and column matter.
      return fail("Not valid JSON: " + QString(e.what()).remove(QRegularExpression("^\\[[^\\]]*\\]\\s*")));
    }
    return fail("Not valid JSON.");
  }
  if (!j.is_object()) return fail("Expected a JSON object, got " + QString::fromStdString(j.type_name()) + ".");
  // A config.json (or a fragment) holds the block under "rope_scaling"; multimodal configs nest it
  // under "text_config".
  if (!j.contains("rope_type") && !j.contains("type")) {
    const json* inner = nullptr;
    if (j.contains("rope_scaling")) inner = &j["rope_scaling"];
    else if (j.contains("text_config") && j["text_config"].is_object() && j["text_config"].contains("rope_scaling"))
      inner = &j["text_config"]["rope_scaling"];
    if (!inner) return fail("No \"rope_scaling\" block and no \"rope_type\" key in the pasted text.");
    if (inner->is_null()) return fail("This config's rope_scaling is null: the model uses plain RoPE.");
    if (!inner->is_object()) return fail("\"rope_scaling\" must be an object.");
    j = *inner;
  }
  if (!j.contains("rope_type") && j.contains("type")) {
    j["rope_type"] = j["type"];  // HF's legacy key
  }
  j.erase("type");
  if (!j["rope_type"].is_string()) return fail("\"rope_type\" must be a string.");
  return j;
}

RopePasteDialog::RopePasteDialog(QWidget* parent) : QDialog(parent) {
  setWindowTitle("Paste rope_scaling");
  auto* v = new QVBoxLayout(this);
  auto* intro = new QLabel(
      "Paste a Hugging Face <b>rope_scaling</b> block, e.g. "
      "<code>{\"rope_type\": \"yarn\", \"factor\": 8.0, \"original_max_position_embeddings\": 4096}</code>, "
      "or a whole <b>config.json</b> that contains one. The legacy key <code>type</code> is accepted.",
      this);
  intro->setWordWrap(true);
  v->addWidget(intro);
  text_ = new QPlainTextEdit(this);
  text_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  text_->setPlaceholderText("{\"rope_type\": \"yarn\", \"factor\": 8.0, \"original_max_position_embeddings\": 4096}");
  v->addWidget(text_, 1);
  error_ = new QLabel(this);
  error_->setWordWrap(true);
  error_->setStyleSheet("color: #c62828;");
  error_->hide();
  v->addWidget(error_);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  buttons->button(QDialogButtonBox::Ok)->setText("Apply");
  connect(buttons, &QDialogButtonBox::accepted, this, &RopePasteDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, this, &RopePasteDialog::reject);
  v->addWidget(buttons);
  resize(560, 320);
}

void RopePasteDialog::accept() {
  QString err;
  auto block = parseRopeScalingBlock(text_->toPlainText(), &err);
  if (!block) {
    error_->setText(err);
    error_->show();
    return;
  }
  block_ = *block;
  QDialog::accept();
}

}  // namespace ctx::gui
