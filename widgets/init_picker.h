// The "init" field: train from scratch, or start from a stored run (by id or by name), a
// checkpoint file or a Hugging Face model folder — {"run": N}, {"run_named": NAME},
// {"checkpoint": PATH}, {"hf": FOLDER} in the config. A folder is described under the field from
// `ctxlab-cli hf-info FOLDER --json`, read in the background; a bad folder shows the engine's line.
#pragma once

#include <QTimer>

#include "widgets/config_fields.h"

class QComboBox;
class QLineEdit;
class QPushButton;

namespace ctx::gui {

class InitPicker : public ConfigField {
  Q_OBJECT
 public:
  enum class FolderState { None, Reading, Ready, Failed };

  InitPicker(FieldSpec spec, QWidget* parent = nullptr);

  void setValue(const nlohmann::json& v) override;
  nlohmann::json value() const override;
  QWidget* editor() const override;

  bool isFolder() const;   // "Hugging Face model folder" is chosen
  QString folder() const;  // its path as typed or picked ("" when another kind is chosen)
  // As picking `path` in the folder dialog: chooses the kind, reads the folder, reports an edit.
  void setFolder(const QString& path);
  FolderState folderState() const { return state_; }
  const nlohmann::json& folderInfo() const { return info_; }  // hf-info's answer once Ready
  QString folderError() const { return folder_error_; }       // the engine's line once Failed
  QLabel* folderLabel() const { return info_label_; }

  static constexpr int kTypingDelayMs = 500;  // a typed path is read once typing pauses

 signals:
  void folderInfoChanged();

 private:
  void chooseFolder();  // the dialog, from the kind combo or Browse…
  void updateControls();
  void readFolder();
  void showFolder();

  QComboBox* kind_;
  QLineEdit* edit_;
  QPushButton* browse_;
  QLabel* info_label_;
  QTimer typing_;
  int last_kind_ = 0;
  FolderState state_ = FolderState::None;
  QString read_path_;  // the folder the state describes
  nlohmann::json info_;
  QString folder_error_;
  int generation_ = 0;
};

ConfigField* makeInitPicker(const FieldSpec& spec, QWidget* parent);

}  // namespace ctx::gui
