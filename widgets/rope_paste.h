// Pasting a Hugging Face rope_scaling block into the configurator: the block itself, a
// `"rope_scaling": {...}` line copied out of a config.json, or a whole config.json.
#pragma once

#include <QDialog>
#include <QString>

#include <optional>
#include <nlohmann/json.hpp>

class QLabel;
class QPlainTextEdit;

namespace ctx::gui {

// The rope_scaling dict in `text`, with HF's legacy "type" renamed to "rope_type"; nullopt with
// `error` set when the text is not JSON or holds no rope_scaling block.
std::optional<nlohmann::json> parseRopeScalingBlock(const QString& text, QString* error);

// A text box for the block; OK stays in the dialog and shows the parse error until it parses.
class RopePasteDialog : public QDialog {
  Q_OBJECT
 public:
  explicit RopePasteDialog(QWidget* parent = nullptr);
  const nlohmann::json& block() const { return block_; }
  QPlainTextEdit* textBox() const { return text_; }
  QLabel* errorLabel() const { return error_; }

  void accept() override;

 private:
  QPlainTextEdit* text_;
  QLabel* error_;
  nlohmann::json block_;
};

}  // namespace ctx::gui
