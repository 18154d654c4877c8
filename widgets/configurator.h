// The configurator panel: a preset picker, the generated config form, load/save as JSON, pasting
// a Hugging Face rope_scaling block, validation through `ctxlab-cli check` (on demand and shortly
// after each edit), and Launch, enabled only for the config that validated (and, with init from a
// Hugging Face folder, only once `hf-info` has read that folder without error). Under
// train.device, the GPU count of the next launch (gpu_count.h), from `ctxlab-cli devices` and PATH.
#pragma once

#include <QString>
#include <QStringList>
#include <QTimer>
#include <QWidget>

#include <functional>
#include <nlohmann/json.hpp>

#include "widgets/multi_gpu.h"

class QComboBox;
class QHBoxLayout;
class QLabel;
class QPushButton;
class QScrollArea;
class QStackedWidget;

namespace ctx::gui {

class ConfigForm;
class GpuCountControl;

class Configurator : public QWidget {
  Q_OBJECT
 public:
  // Presets are the *.json files of `preset_dir` (the compiled-in ":/presets" in the window).
  // `fetch_now` false: the window starts the registry fetch itself (fetchRegistry) once the run
  // list is shown, so the two ctxlab-cli starts do not compete with opening a large store.
  explicit Configurator(const QString& preset_dir = ":/presets", QWidget* parent = nullptr, bool fetch_now = true);
  ~Configurator() override;

  ConfigForm* form() const { return form_; }  // null until the registry has arrived
  bool isReady() const { return form_ != nullptr; }
  // The current form is the config that last passed `check`, and its Hugging Face folder (if
  // any) was read without error.
  bool isValidated() const;
  // Waiting for ctxlab-cli: the registry, a check, or the Hugging Face folder's description.
  bool isBusy() const;
  QStringList presetNames() const { return presets_; }
  QComboBox* presetCombo() const { return preset_combo_; }
  QPushButton* validateButton() const { return validate_; }
  QPushButton* launchButton() const { return launch_; }
  QLabel* statusLabel() const { return status_; }
  QLabel* messageLabel() const { return message_; }  // loading line or the CLI's error
  // How many GPUs the next launch trains on (1 unless several can be used and were chosen).
  int gpuCount() const;
  GpuCountControl* gpuControl() const { return gpus_; }  // null until the form is built
  const MultiGpu& multiGpu() const { return multi_gpu_; }
  void revealGpuControl();  // scrolls the form to train.device and the GPU count (screenshots)

  static constexpr int kDebounceMs = 400;

 public slots:
  // Shows a config (a stored run's for "re-run with edits", a file, a preset); `origin` says where
  // it came from. Kept until the registry arrives when called before.
  void loadConfig(const nlohmann::json& config, const QString& origin);
  void loadPreset(const QString& name);
  void applyRopeScaling(const nlohmann::json& block);
  void validate();  // runs `check` now and shows its message beside the field it names
  bool saveTo(const QString& path, QString* error = nullptr);
  bool loadFrom(const QString& path, QString* error = nullptr);
  void fetchRegistry();  // (re)reads the registry and defaults from ctxlab-cli
  // What the machine offers for several GPUs (fetchRegistry asks ctxlab-cli devices once; tests
  // set it directly).
  void setMultiGpu(const MultiGpu& m);

 signals:
  void ready();
  void validated(bool ok, const QString& message);
  void launchRequested(const nlohmann::json& config);  // on gpuCount() GPUs
  void multiGpuChanged(const ctx::gui::MultiGpu& m);

 private:
  void buildForm();
  void placeGpuControl();
  // Asks the engine what each candidate request resolves to when enabled ({} in a check); a
  // candidate it refuses is dropped and the rest asked again. Calls `done` once, with no error:
  // without shapes, requests are edited as JSON text.
  void probeRequests(const QStringList& paths, std::function<void(const QString&)> done);
  void runCheck(bool reveal);
  void formEdited();
  void showVerdict();  // status, Launch and validated() from the check's answer and the folder's
  bool folderBlocks(QString* why = nullptr) const;
  void setStatus(const QString& text, const QString& color);
  void updateOrigin();

  QString preset_dir_;
  QStringList presets_;
  nlohmann::json registry_, defaults_;
  nlohmann::json requests_ = nlohmann::json::object();  // key path -> resolved structure of the request
  int fetch_pending_ = 0;
  QString fetch_error_;
  bool has_pending_ = false;
  nlohmann::json pending_;
  QString pending_origin_;

  ConfigForm* form_ = nullptr;
  QStackedWidget* stack_;
  QLabel* message_;
  QPushButton* retry_;
  QScrollArea* scroll_;
  QComboBox* preset_combo_;
  QLabel* origin_;
  QPushButton* load_;
  QPushButton* save_;
  QPushButton* paste_;
  QPushButton* validate_;
  QPushButton* launch_;
  QLabel* status_;
  QTimer debounce_;
  int generation_ = 0;
  nlohmann::json validated_;  // the config of the last successful check
  bool check_pending_ = false;
  bool check_ok_ = false;
  QString check_message_;  // the last check's message when it failed
  QString check_where_;    // the field it is shown at ("" = the banner)
  QString origin_text_;
  bool edited_ = false;
  QHBoxLayout* launch_row_;
  GpuCountControl* gpus_ = nullptr;
  MultiGpu multi_gpu_;
  bool gpu_probe_pending_ = false;
};

}  // namespace ctx::gui
