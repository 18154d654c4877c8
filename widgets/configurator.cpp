// The configurator panel; see configurator.h.
#include "widgets/configurator.h"

#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QProcess>
#include <QPushButton>
#include <QRegularExpression>
#include <QScrollArea>
#include <QStackedWidget>
#include <QTemporaryFile>
#include <QVBoxLayout>

#include <functional>
#include <memory>

#include "widgets/cli_call.h"
#include "widgets/config_form.h"
#include "widgets/gpu_count.h"
#include "widgets/init_picker.h"
#include "widgets/request_field.h"
#include "widgets/rope_paste.h"

namespace ctx::gui {

using nlohmann::json;

namespace {

// The check verb reads a file: each request gets its own, removed when its answer is in.
std::shared_ptr<QTemporaryFile> writeTemp(const json& cfg) {
  auto f = std::make_shared<QTemporaryFile>(QDir::temp().filePath("ctxlab-config-XXXXXX.json"));
  if (!f->open()) return nullptr;
  f->write(QByteArray::fromStdString(cfg.dump(2)));
  f->close();
  return f;
}

// Key paths in the order a preset writes them, so the form lists the usual keys first.
QStringList keyOrder(const QByteArray& text) {
  QStringList out;
  auto j = nlohmann::ordered_json::parse(text.toStdString(), nullptr, false);
  std::function<void(const nlohmann::ordered_json&, const QString&)> walk = [&](const auto& o, const QString& prefix) {
    for (auto it = o.begin(); it != o.end(); ++it) {
      out << prefix + QString::fromStdString(it.key());
      if (it.value().is_object()) walk(it.value(), prefix + QString::fromStdString(it.key()) + ".");
    }
  };
  if (j.is_object()) walk(j, "");
  return out;
}

}  // namespace

Configurator::Configurator(const QString& preset_dir, QWidget* parent, bool fetch_now)
    : QWidget(parent), preset_dir_(preset_dir) {
  auto* root = new QVBoxLayout(this);

  auto* top = new QHBoxLayout;
  top->addWidget(new QLabel("Preset", this));
  preset_combo_ = new QComboBox(this);
  preset_combo_->setPlaceholderText("choose a preset");
  preset_combo_->setMinimumWidth(160);
  top->addWidget(preset_combo_);
  origin_ = new QLabel(this);
  origin_->setStyleSheet("color: palette(placeholder-text);");
  top->addWidget(origin_, 1);
  load_ = new QPushButton("Load JSON…", this);
  save_ = new QPushButton("Save JSON…", this);
  paste_ = new QPushButton("Paste rope_scaling…", this);
  paste_->setToolTip("Set the rope_scaling section from a Hugging Face block or config.json");
  for (auto* b : {load_, save_, paste_}) top->addWidget(b);
  root->addLayout(top);

  stack_ = new QStackedWidget(this);
  auto* msg_page = new QWidget(stack_);
  auto* mv = new QVBoxLayout(msg_page);
  message_ = new QLabel(msg_page);
  message_->setWordWrap(true);
  message_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  retry_ = new QPushButton("Retry", msg_page);
  mv->addWidget(message_);
  mv->addWidget(retry_, 0, Qt::AlignLeft);
  mv->addStretch(1);
  stack_->addWidget(msg_page);
  scroll_ = new QScrollArea(stack_);
  scroll_->setWidgetResizable(true);
  scroll_->setFrameShape(QFrame::NoFrame);
  stack_->addWidget(scroll_);
  root->addWidget(stack_, 1);

  auto* bottom = launch_row_ = new QHBoxLayout;
  validate_ = new QPushButton("Validate", this);
  validate_->setToolTip("Check the config with ctxlab-cli check (the engine's own validation)");
  status_ = new QLabel(this);
  status_->setWordWrap(true);
  status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  launch_ = new QPushButton("Launch", this);
  launch_->setToolTip("Queue a run with this config (enabled once it validated)");
  launch_->setDefault(true);
  bottom->addWidget(validate_);
  bottom->addWidget(status_, 1);
  bottom->addWidget(launch_);
  root->addLayout(bottom);

  debounce_.setSingleShot(true);
  debounce_.setInterval(kDebounceMs);
  connect(&debounce_, &QTimer::timeout, this, [this] { runCheck(false); });
  connect(validate_, &QPushButton::clicked, this, &Configurator::validate);
  connect(retry_, &QPushButton::clicked, this, &Configurator::fetchRegistry);
  connect(preset_combo_, &QComboBox::activated, this, [this](int i) { loadPreset(preset_combo_->itemText(i)); });
  connect(launch_, &QPushButton::clicked, this, [this] {
    if (isValidated()) {
      const int gpus = gpuCount();
      setStatus("✓ Sent to the run queue: " + QString::fromStdString(validated_.value("name", std::string("run"))) +
                    (gpus > 1 ? QString(" on %1 GPUs").arg(gpus) : QString()),
                "#2e7d32");
      emit launchRequested(validated_);
    }
  });
  connect(load_, &QPushButton::clicked, this, [this] {
    const QString f = QFileDialog::getOpenFileName(this, "Load config", QString(), "JSON (*.json);;All files (*)");
    QString err;
    if (!f.isEmpty() && !loadFrom(f, &err)) setStatus("✗ " + err, "#c62828");
  });
  connect(save_, &QPushButton::clicked, this, [this] {
    const QString f = QFileDialog::getSaveFileName(this, "Save config", QString(), "JSON (*.json)");
    QString err;
    if (f.isEmpty()) return;
    if (saveTo(f, &err))
      setStatus("Saved to " + f, "palette(text)");
    else
      setStatus("✗ " + err, "#c62828");
  });
  connect(paste_, &QPushButton::clicked, this, [this] {
    RopePasteDialog dlg(this);
    if (dlg.exec() == QDialog::Accepted) applyRopeScaling(dlg.block());
  });

  for (QWidget* w : std::initializer_list<QWidget*>{preset_combo_, save_, paste_, validate_, launch_}) w->setEnabled(false);
  if (fetch_now) fetchRegistry();
}

Configurator::~Configurator() {
  // A check still running: its QProcess, deleted with the children, would otherwise report back
  // into this half-destroyed panel while it kills the child.
  for (auto* p : findChildren<QProcess*>(QString(), Qt::FindDirectChildrenOnly)) {
    p->disconnect();
    delete p;
  }
}

void Configurator::fetchRegistry() {
  if (!multi_gpu_.probed && !gpu_probe_pending_) {
    gpu_probe_pending_ = true;
    probeMultiGpu(this, [this](const MultiGpu& m) {
      gpu_probe_pending_ = false;
      setMultiGpu(m);
    });
  }
  if (form_ || fetch_pending_ > 0) return;  // built, or a fetch is already under way
  stack_->setCurrentIndex(0);
  retry_->hide();
  message_->setStyleSheet("color: palette(placeholder-text);");
  message_->setText("Loading the method registry from ctxlab-cli…");
  fetch_pending_ = 2;
  fetch_error_.clear();
  auto finish = [this](const QString& error) {
    if (!error.isEmpty() && fetch_error_.isEmpty()) fetch_error_ = error;
    if (--fetch_pending_ > 0) return;
    if (!fetch_error_.isEmpty()) {
      message_->setStyleSheet("color: #c62828;");
      message_->setText("The configurator needs ctxlab-cli and could not use it (" + cliPath() +
                        "):\n" + fetch_error_ +
                        "\n\nSet CTXLAB_CLI to its path or put it beside this program; the rest of the window works without it.");
      retry_->show();
      return;
    }
    buildForm();
  };
  runCli(this, {"methods"}, [this, finish](const CliResult& r) {
    if (r.ok && r.json.is_array()) registry_ = r.json;
    finish(r.ok && r.json.is_array() ? QString() : "methods: " + (r.error.isEmpty() ? "no registry in its output" : r.error));
  });
  // The engine's defaults for every key: the resolved form of an empty config.
  auto tmp = writeTemp(json::object());
  if (!tmp) {
    finish("cannot write a temporary file in " + QDir::tempPath());
    return;
  }
  runCli(this, {"check", "--config-only", "--config", tmp->fileName()}, [this, tmp, finish](const CliResult& r) {
    const bool ok = r.ok && r.json.contains("resolved");
    if (!ok) return finish("check: " + (r.error.isEmpty() ? "no resolved config in its output" : r.error));
    defaults_ = r.json["resolved"];
    probeRequests(requestCandidates(defaults_), finish);
  });
}

void Configurator::probeRequests(const QStringList& paths, std::function<void(const QString&)> done) {
  requests_ = json::object();
  auto tmp = paths.isEmpty() ? nullptr : writeTemp(requestProbe(paths));
  if (!tmp) return done(QString());
  runCli(this, {"check", "--config-only", "--config", tmp->fileName()}, [this, tmp, paths, done](const CliResult& r) {
    if (r.json.is_object() && r.json.value("ok", false)) {
      requests_ = requestShapes(r.json["resolved"], paths);
      return done(QString());
    }
    const QString field = r.json.is_object() ? QString::fromStdString(r.json.value("field", std::string())) : QString();
    QStringList rest;
    for (const QString& p : paths)
      if (field != p && !field.startsWith(p + ".") && !field.startsWith(p + "[")) rest << p;
    if (field.isEmpty() || rest.size() == paths.size()) return done(QString());  // cannot tell which one
    probeRequests(rest, done);
  });
}

void Configurator::buildForm() {
  QDir dir(preset_dir_);
  presets_.clear();
  for (const QString& f : dir.entryList({"*.json"}, QDir::Files, QDir::Name)) presets_ << QFileInfo(f).completeBaseName();
  preset_combo_->clear();
  preset_combo_->addItems(presets_);
  const QString first = presets_.contains("quickstart") ? "quickstart" : presets_.value(0);
  QStringList order;
  if (!first.isEmpty()) {
    QFile f(dir.filePath(first + ".json"));
    if (f.open(QIODevice::ReadOnly)) order = keyOrder(f.readAll());
  }
  form_ = new ConfigForm(registry_, defaults_, order, nullptr, requests_);
  scroll_->setWidget(form_);
  stack_->setCurrentIndex(1);
  connect(form_, &ConfigForm::edited, this, &Configurator::formEdited);
  connect(form_, &ConfigForm::modelSourceChanged, this, &Configurator::showVerdict);
  placeGpuControl();
  for (QWidget* w : std::initializer_list<QWidget*>{preset_combo_, save_, paste_, validate_}) w->setEnabled(true);
  if (has_pending_) {
    has_pending_ = false;
    loadConfig(pending_, pending_origin_);
  } else if (!first.isEmpty()) {
    loadPreset(first);
  } else {
    setStatus("No presets in " + preset_dir_ + "; the form shows the engine's defaults.", "palette(text)");
    runCheck(false);
  }
  emit ready();
}

void Configurator::placeGpuControl() {
  gpus_ = new GpuCountControl(form_);
  gpus_->setMultiGpu(multi_gpu_);
  if (auto* device = form_->field("train.device")) {
    device->addBelow(gpus_);
    return;
  }
  // A form without the key (an engine that renamed it): the control goes to the launch row.
  launch_row_->insertWidget(launch_row_->indexOf(launch_), gpus_);
}

void Configurator::revealGpuControl() {
  if (!gpus_ || !form_) return;
  scroll_->ensureWidgetVisible(gpus_->parentWidget(), 20, 120);  // the train.device field
}

int Configurator::gpuCount() const {
  return gpus_ ? gpus_->count() : 1;
}

void Configurator::setMultiGpu(const MultiGpu& m) {
  multi_gpu_ = m;
  if (gpus_) gpus_->setMultiGpu(m);
  emit multiGpuChanged(m);
}

void Configurator::loadPreset(const QString& name) {
  QString err;
  if (!loadFrom(QDir(preset_dir_).filePath(name + ".json"), &err)) {
    setStatus("✗ " + err, "#c62828");
    return;
  }
  origin_text_ = "preset " + name;
  updateOrigin();
  preset_combo_->setCurrentIndex(presets_.indexOf(name));
}

bool Configurator::loadFrom(const QString& path, QString* error) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) {
    if (error) *error = "cannot open " + path + ": " + f.errorString();
    return false;
  }
  json j;
  try {
    j = json::parse(f.readAll().toStdString());
  } catch (const json::parse_error& e) {
    if (error)
      *error = QFileInfo(path).fileName() + " is not valid JSON: " +
               QString(e.what()).remove(QRegularExpression("^\\[[^\\]]*\\]\\s*"));
    return false;
  }
  if (!j.is_object()) {
    if (error) *error = QFileInfo(path).fileName() + ": a config must be a JSON object";
    return false;
  }
  loadConfig(j, QFileInfo(path).fileName());
  return true;
}

bool Configurator::saveTo(const QString& path, QString* error) {
  if (!form_) return false;
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
    if (error) *error = "cannot write " + path + ": " + f.errorString();
    return false;
  }
  f.write(QByteArray::fromStdString(form_->config().dump(2) + "\n"));
  return true;
}

void Configurator::loadConfig(const json& config, const QString& origin) {
  if (!form_) {
    pending_ = config;
    pending_origin_ = origin;
    has_pending_ = true;
    return;
  }
  check_pending_ = true;  // checked below, once the form shows it
  form_->setConfig(config);
  preset_combo_->setCurrentIndex(-1);
  origin_text_ = origin;
  edited_ = false;
  updateOrigin();
  debounce_.stop();
  runCheck(false);
}

void Configurator::applyRopeScaling(const json& block) {
  if (!form_) return;
  const QStringList dropped = form_->setRopeScaling(block);
  if (!dropped.isEmpty()) form_->showNote("From the pasted block, not in the registry's parameters, left out: " + dropped.join(", "));
  validate();
}

bool Configurator::isValidated() const {
  return form_ && !validated_.is_null() && form_->config() == validated_ && !folderBlocks();
}

bool Configurator::isBusy() const {
  if (gpu_probe_pending_) return true;
  if (!form_) return fetch_pending_ > 0;
  QString why;
  return check_pending_ || (folderBlocks(&why) && why.isEmpty());
}

bool Configurator::folderBlocks(QString* why) const {
  const InitPicker* init = form_ ? form_->initPicker() : nullptr;
  if (!init || !init->isFolder() || init->folder().isEmpty()) return false;  // an empty path fails the check
  switch (init->folderState()) {
    case InitPicker::FolderState::Ready: return false;
    case InitPicker::FolderState::Failed:
      if (why) *why = init->folderError();
      return true;
    default:
      if (why) why->clear();  // still reading
      return true;
  }
}

void Configurator::validate() {
  debounce_.stop();
  runCheck(true);
}

void Configurator::formEdited() {
  edited_ = true;
  updateOrigin();
  check_pending_ = true;
  launch_->setEnabled(false);
  setStatus("Edited; checking…", "palette(placeholder-text)");
  debounce_.start();
}

void Configurator::runCheck(bool reveal) {
  if (!form_) return;
  const json cfg = form_->config();
  const int gen = ++generation_;
  launch_->setEnabled(false);
  auto tmp = writeTemp(cfg);
  if (!tmp) {
    check_pending_ = false;
    setStatus("✗ cannot write a temporary file in " + QDir::tempPath(), "#c62828");
    return;
  }
  check_pending_ = true;
  setStatus("Checking with ctxlab-cli…", "palette(placeholder-text)");
  runCli(this, {"check", "--config-only", "--config", tmp->fileName()}, [this, tmp, gen, cfg, reveal](const CliResult& r) {
    if (gen != generation_) return;  // an edit since then asked for a newer check
    check_pending_ = false;
    form_->clearErrors();
    check_ok_ = false;
    check_message_.clear();
    check_where_.clear();
    if (r.json.is_object() && r.json.value("ok", false)) {
      check_ok_ = true;
      validated_ = cfg;
    } else if (r.json.is_object() && r.json.contains("error")) {
      const QString message = QString::fromStdString(r.json.value("error", std::string()));
      const QString key = QString::fromStdString(r.json.value("field", std::string()));
      check_message_ = message;
      check_where_ = form_->showError(key, message, reveal);
    } else {
      const QString message = "could not validate: " + r.error;
      form_->showError(QString(), message, reveal);
      check_message_ = message;
    }
    showVerdict();
  });
}

void Configurator::showVerdict() {
  if (!form_ || check_pending_) return;  // the check's answer comes back here
  QString why;
  if (!check_ok_) {
    setStatus("✗ " + check_message_ + (check_where_.isEmpty() ? QString() : "  (shown at " + check_where_ + ")"),
              "#c62828");
    launch_->setEnabled(false);
    emit validated(false, check_message_);
  } else if (folderBlocks(&why)) {
    launch_->setEnabled(false);
    if (why.isEmpty()) {
      setStatus("Reading the Hugging Face folder with ctxlab-cli hf-info…", "palette(placeholder-text)");
      return;  // the verdict comes when it has been read
    }
    setStatus("✗ " + why + "  (shown at init)", "#c62828");
    emit validated(false, why);
  } else {
    setStatus("✓ Valid: ready to launch.", "#2e7d32");
    launch_->setEnabled(true);
    emit validated(true, QString());
  }
}

void Configurator::setStatus(const QString& text, const QString& color) {
  status_->setStyleSheet("color: " + color + ";");
  status_->setText(text);
}

void Configurator::updateOrigin() {
  origin_->setText(origin_text_.isEmpty() ? QString() : "from " + origin_text_ + (edited_ ? " · edited" : ""));
}

}  // namespace ctx::gui
