// The generated configuration form; see config_form.h.
#include "widgets/config_form.h"

#include <QDir>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QResizeEvent>
#include <QScrollArea>
#include <QTimer>
#include <QVBoxLayout>

#include <QPointer>

#include <algorithm>
#include <climits>
#include <functional>

#include "widgets/hf_summary.h"
#include "widgets/init_picker.h"
#include "widgets/request_field.h"

namespace ctx::gui {

using nlohmann::json;

namespace {

// Where each registry kind lives in the config (the engine's contract, DESIGN.md "Config").
const MethodSlot kPosition{"position", "model.position", "type", false};
const MethodSlot kRope{"rope_scaling", "rope_scaling", "rope_type", true};
const MethodSlot kSampler{"sampler", "train.positions", "type", false};

QString sectionTitle(const QString& key) {
  if (key == "model") return "Model";
  if (key == "data") return "Data";
  if (key == "train") return "Training";
  if (key == "eval") return "Evaluation";
  return key.left(1).toUpper() + key.mid(1);
}

const json* getAt(const json& root, const QString& path) {
  const json* cur = &root;
  for (const QString& part : path.split('.')) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(part.toStdString());
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur;
}

void setAt(json& root, const QString& path, json v) {
  json* cur = &root;
  for (const QString& part : path.split('.')) {
    if (!cur->is_object()) *cur = json::object();
    cur = &(*cur)[part.toStdString()];
  }
  *cur = std::move(v);
}

QFormLayout* newForm(QWidget* box) {
  auto* form = new QFormLayout(box);
  form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
  form->setLabelAlignment(Qt::AlignRight);
  return form;
}

}  // namespace

ConfigForm::ConfigForm(const json& registry, const json& defaults, const QStringList& key_order, QWidget* parent,
                       const json& requests)
    : QWidget(parent) {
  // Section titles in bold, everything inside them as usual.
  setStyleSheet("QGroupBox[section=\"true\"] { font-weight: bold; } "
                "QGroupBox[section=\"true\"] QWidget { font-weight: normal; }");
  auto* root = new QVBoxLayout(this);
  banner_ = new QLabel(this);
  banner_->setWordWrap(true);
  banner_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  banner_->setObjectName("formBanner");
  banner_->hide();
  root->addWidget(banner_);
  columns_ = new QHBoxLayout;
  root->addLayout(columns_);
  root->addStretch(1);

  auto rank = [&](const QString& path) {
    const int i = key_order.indexOf(path);
    return i < 0 ? key_order.size() : i;
  };
  auto addFields = [&](QFormLayout* form, QStringList paths, const json& values) {
    std::stable_sort(paths.begin(), paths.end(), [&](const QString& a, const QString& b) { return rank(a) < rank(b); });
    for (const QString& p : paths) {
      FieldSpec spec = specFromDefault(p, *getAt(values, p));
      if (p == "data.corpus") spec.type = FieldType::Corpus;
      if (p == "init") spec.type = FieldType::Init;
      if (requests.is_object() && requests.contains(p.toStdString()) && requests[p.toStdString()].is_object()) {
        spec.type = FieldType::Request;
        spec.shape = requests[p.toStdString()];
      }
      auto* f = makeField(spec, form->parentWidget());
      connect(f, &ConfigField::edited, this, &ConfigForm::fieldEdited);
      if (auto* init = qobject_cast<InitPicker*>(f)) {
        init_ = init;
        connect(init, &InitPicker::folderInfoChanged, this, &ConfigForm::updateModelSource);
      }
      form->addRow(spec.label, f);
      generic_.insert(p, f);
      generic_order_ << p;
    }
  };
  auto addPanel = [&](const QString& title, const MethodSlot& slot, QWidget* parent_box) {
    auto* panel = new MethodPanel(title, slot, registry, parent_box);
    connect(panel, &MethodPanel::edited, this, &ConfigForm::fieldEdited);
    panels_ << panel;
    return panel;
  };

  // Run: the top-level keys that are neither sections nor methods (name, seed, init).
  QStringList top;
  for (auto it = defaults.begin(); it != defaults.end(); ++it)
    if (!it.value().is_object() && QString::fromStdString(it.key()) != kRope.path)
      top << QString::fromStdString(it.key());
  if (!top.isEmpty()) {
    auto* box = new QGroupBox("Run", this);
    addFields(newForm(box), top, defaults);
    addSection("", box);
  }
  // One section per object in the defaults; the method slots inside become method panels.
  // Training before data: in three columns that gives model | training | data + evaluation.
  const QStringList preferred = {"model", "rope_scaling", "train", "data", "eval"};
  QStringList keys;
  for (auto it = defaults.begin(); it != defaults.end(); ++it) keys << QString::fromStdString(it.key());
  std::stable_sort(keys.begin(), keys.end(), [&](const QString& a, const QString& b) {
    auto r = [&](const QString& k) { return preferred.contains(k) ? preferred.indexOf(k) : preferred.size(); };
    return r(a) < r(b);
  });
  for (const QString& key : keys) {
    if (key == kRope.path) {
      rope_ = addPanel("RoPE scaling (rope_scaling)", kRope, this);
      addSection(key, rope_);
      continue;
    }
    const json& sec = defaults[key.toStdString()];
    if (!sec.is_object()) continue;
    auto* box = new QGroupBox(sectionTitle(key), this);
    if (key == "model") model_box_ = box;
    auto* form = newForm(box);
    QStringList paths;
    for (auto it = sec.begin(); it != sec.end(); ++it) {
      const QString p = key + "." + QString::fromStdString(it.key());
      if (p != kPosition.path && p != kSampler.path) paths << p;
    }
    addFields(form, paths, defaults);
    if (key + ".position" == kPosition.path && sec.contains("position")) {
      position_ = addPanel("position scheme (model.position)", kPosition, box);
      form->addRow(position_);
    }
    if (key + ".positions" == kSampler.path && sec.contains("positions"))
      form->addRow(addPanel("training positions (train.positions)", kSampler, box));
    addSection(key, box);
  }
  if (position_ && rope_) connect(position_, &MethodPanel::methodChanged, this, [this] { updateRopeEnabled(); });
  if (rope_) connect(rope_, &MethodPanel::methodChanged, this, [this] { updateRopeEnabled(); });
  updateRopeEnabled();
  reflow(true);
}

void ConfigForm::addSection(const QString&, QWidget* box) {
  box->setProperty("section", true);
  sections_ << box;
}

void ConfigForm::resizeEvent(QResizeEvent* e) {
  QWidget::resizeEvent(e);
  scheduleReflow();
}

void ConfigForm::showEvent(QShowEvent* e) {
  QWidget::showEvent(e);
  if (viewport_) return;
  for (QWidget* w = parentWidget(); w; w = w->parentWidget())
    if (auto* area = qobject_cast<QScrollArea*>(w)) {
      viewport_ = area->viewport();
      viewport_->installEventFilter(this);
      scheduleReflow();
      break;
    }
}

bool ConfigForm::eventFilter(QObject* watched, QEvent* e) {
  if (watched == viewport_ && e->type() == QEvent::Resize) scheduleReflow();
  return QWidget::eventFilter(watched, e);
}

int ConfigForm::availableWidth() const { return viewport_ ? viewport_->width() : width(); }

void ConfigForm::scheduleReflow() {
  // Not from inside the resize: moving sections between layouts resizes them again.
  if (columnsFor(availableWidth()) != column_count_) QTimer::singleShot(0, this, [this] { reflow(false); });
}

QList<int> ConfigForm::partition(int columns) const {
  // Contiguous split of the sections over the columns with the shortest tallest column; ties go
  // to the most even split. A handful of sections: trying every split is instant.
  const int n = sections_.size();
  QList<int> h;
  for (auto* s : sections_) h << s->sizeHint().height();
  QList<int> best_cuts;
  long long best = LLONG_MAX;
  std::function<void(int, int, QList<int>)> search = [&](int start, int left, QList<int> cuts) {
    if (left == 1) {
      cuts << n;
      long long tallest = 0, squares = 0;
      int from = 0;
      for (int c : cuts) {
        long long sum = 0;
        for (int i = from; i < c; ++i) sum += h[i];
        tallest = std::max(tallest, sum);
        squares += sum * sum;
        from = c;
      }
      const long long score = tallest * 100000000LL + squares / 1000;
      if (score < best) {
        best = score;
        best_cuts = cuts;
      }
      return;
    }
    for (int c = start + 1; c <= n - left + 1; ++c) search(c, left - 1, cuts + QList<int>{c});
  };
  search(0, std::clamp(columns, 1, std::max(1, n)), {});
  return best_cuts;
}

int ConfigForm::columnsFor(int width) const {
  // As many columns (up to three) as fit side by side without squeezing any section.
  const int spacing = columns_->spacing() > 0 ? columns_->spacing() : 6;
  const auto m = layout()->contentsMargins();
  for (int cols = 3; cols > 1; --cols) {
    int total = m.left() + m.right() + spacing * (cols - 1), from = 0;
    for (int c : partition(cols)) {
      int widest = 0;
      for (int i = from; i < c; ++i) widest = std::max(widest, sections_[i]->minimumSizeHint().width());
      total += widest;
      from = c;
    }
    if (total <= width) return cols;
  }
  return 1;
}

void ConfigForm::reflow(bool force) {
  const int columns = columnsFor(availableWidth());
  if (columns == column_count_ && !force) return;
  column_count_ = columns;
  while (auto* item = columns_->takeAt(0)) {
    if (auto* l = item->layout())
      while (auto* inner = l->takeAt(0)) delete inner;  // sections stay; only the layout items go
    delete item;
  }
  int from = 0;
  for (int c : partition(columns)) {
    auto* col = new QVBoxLayout;
    for (int i = from; i < c; ++i) col->addWidget(sections_[i]);
    col->addStretch(1);
    columns_->addLayout(col, 1);
    from = c;
  }
}

void ConfigForm::updateRopeEnabled() {
  if (!rope_) return;
  const bool rope = position_ && position_->method() == "rope";
  rope_->setEnabled(rope);
  QString title = "RoPE scaling (rope_scaling)";
  if (!rope) {
    title += " — only with position rope";
  } else if (hf_mode_ && init_ && init_->folderState() == InitPicker::FolderState::Ready) {
    // A block set here replaces the folder's own; none leaves the folder's in force.
    const auto own = init_->folderInfo().value("rope_scaling", nlohmann::json());
    if (!own.is_object())
      title += " — the folder has none";
    else
      title += (rope_->method().isEmpty() ? " — none here: the folder's " : " — replaces the folder's ") + ropeScalingText(own);
  }
  rope_->setTitle(title);
}

void ConfigForm::fieldEdited() {
  if (quiet_ == 0) emit edited();
  if (sender() == init_) updateModelSource();  // switched to or from a folder
}

json ConfigForm::modelValues() const {
  json m = json::object();
  for (const QString& p : generic_order_)
    if (p.startsWith("model.")) {
      json v = generic_[p]->value();
      if (!v.is_null()) setAt(m, p.mid(6), std::move(v));
    }
  if (position_) m["position"] = position_->value();
  return m;
}

void ConfigForm::setModelValues(const json& model) {
  ++quiet_;  // the form's own doing, not an edit
  for (const QString& p : generic_order_)
    if (p.startsWith("model.")) {
      const json* v = getAt(model, p.mid(6));
      generic_[p]->setValue(v ? *v : json());
    }
  if (position_) position_->setValue(model.is_object() ? model.value("position", json()) : json());
  --quiet_;
}

void ConfigForm::updateModelSource() {
  if (applying_ || !init_) return;
  const bool hf = init_->isFolder();
  if (hf && !hf_mode_) {
    saved_model_ = modelValues();
    hf_mode_ = true;
  } else if (!hf && hf_mode_) {
    hf_mode_ = false;
    given_model_ = nullptr;
    setModelValues(saved_model_);  // the section as the user left it
  }
  const auto state = init_->folderState();
  if (model_box_) {
    // From a folder, the section shows the folder's model read-only; until the folder has been
    // read (or when it cannot be), there is no model to show.
    model_box_->setEnabled(!hf_mode_);
    model_box_->setVisible(!hf_mode_ || state == InitPicker::FolderState::Ready);
    model_box_->setTitle(sectionTitle("model") + (hf_mode_ ? " — from the Hugging Face folder (read-only)" : ""));
  }
  if (hf_mode_ && state == InitPicker::FolderState::Ready) {
    const json& folder_model = init_->folderInfo().value("model", json::object());
    setModelValues(folder_model);
    if (given_model_.is_object()) {
      // A loaded config that also set model keys: say which of them the folder overrides.
      QStringList differ;
      std::function<void(const json&, const json&, const QString&)> cmp = [&](const json& g, const json& f, const QString& at) {
        for (auto it = g.begin(); it != g.end(); ++it) {
          const QString p = at + QString::fromStdString(it.key());
          const auto fv = f.is_object() ? f.find(it.key()) : f.end();
          if (it.value().is_object() && fv != f.end() && fv->is_object())
            cmp(it.value(), *fv, p + ".");
          else if (fv == f.end() || *fv != it.value())
            differ << p;
        }
      };
      cmp(given_model_, folder_model, "model.");
      if (!differ.isEmpty())
        showNote("The model comes from the Hugging Face folder (init.hf); left out of the config: " + differ.join(", "));
      given_model_ = nullptr;
    }
  }
  // The picker states a folder it cannot read itself; the same line beside it again is noise.
  if (state == InitPicker::FolderState::Failed) init_->clearError();
  updateRopeEnabled();
  scheduleReflow();
  emit modelSourceChanged();
}

QStringList ConfigForm::setConfig(const json& cfg) {
  clearErrors();
  banner_->setProperty("notes", QStringList());
  applying_ = true;  // the init picker reports a folder before the model keys are shown
  for (const QString& p : generic_order_) {
    const json* v = getAt(cfg, p);
    generic_[p]->setValue(v ? *v : json());
  }
  applying_ = false;
  QStringList dropped;
  for (auto* panel : panels_) {
    const json* v = getAt(cfg, panel->slot().path);
    dropped << panel->setValue(v ? *v : json());
  }
  // Keys the form has no field for: reported, since config() will not carry them.
  std::function<void(const json&, const QString&)> walk = [&](const json& obj, const QString& prefix) {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      const QString p = prefix + QString::fromStdString(it.key());
      if (generic_.contains(p) || methodPanel(p)) continue;
      const bool section = std::any_of(generic_order_.begin(), generic_order_.end(),
                                       [&](const QString& g) { return g.startsWith(p + "."); });
      if (section && it.value().is_object())
        walk(it.value(), p + ".");
      else
        dropped << p;
    }
  };
  if (cfg.is_object()) walk(cfg, "");
  if (rope_ && !rope_->isEnabled() && !rope_->method().isEmpty())
    dropped << QString("rope_scaling (%1 is not rope)").arg(kPosition.path + ".type");
  if (!dropped.isEmpty()) showNote("Not in the form, left out: " + dropped.join(", "));
  // With init from a folder, the section shown (the config's or the defaults) is what returns
  // when init is switched away from the folder again.
  hf_mode_ = false;
  const json* model = getAt(cfg, "model");
  given_model_ = init_ && init_->isFolder() && model && model->is_object() ? *model : json();
  updateModelSource();
  reflow(true);  // another config, other sections' heights; edits by hand never move sections
  return dropped;
}

json ConfigForm::config() const {
  json c = json::object();
  for (const QString& p : generic_order_) {
    if (hf_mode_ && p.startsWith("model.")) continue;  // the folder sets the model
    json v = generic_[p]->value();
    if (!v.is_null()) setAt(c, p, std::move(v));
  }
  for (auto* panel : panels_) {
    if (!panel->isEnabled()) continue;  // rope_scaling under another position scheme
    if (hf_mode_ && panel == position_) continue;
    json v = panel->value();
    if (!v.is_null()) setAt(c, panel->slot().path, std::move(v));
  }
  return c;
}

QStringList ConfigForm::setRopeScaling(const json& block) {
  if (!rope_) return {"rope_scaling"};
  if (position_ && position_->method() != "rope") position_->setMethod("rope");
  QStringList dropped = rope_->setValue(block);
  updateRopeEnabled();
  emit edited();
  return dropped;
}

ConfigField* ConfigForm::field(const QString& path) const {
  if (auto* f = generic_.value(path)) return f;
  for (auto* f : generic_)
    if (auto* r = qobject_cast<RequestField*>(f))
      if (auto* sub = r->subField(path)) return sub;
  for (auto* panel : panels_)
    for (auto* f : panel->fields())
      if (f->path() == path) return f;
  return nullptr;
}

QStringList ConfigForm::fieldPaths() const {
  QStringList out = generic_order_;
  for (auto* panel : panels_)
    for (auto* f : panel->fields()) out << f->path();
  return out;
}

MethodPanel* ConfigForm::methodPanel(const QString& path) const {
  for (auto* panel : panels_)
    if (panel->slot().path == path) return panel;
  return nullptr;
}

ConfigField* ConfigForm::fieldForKey(const QString& key) const {
  QString k = key.section('[', 0, 0).trimmed();  // "eval.lengths[2]" is about eval.lengths
  while (!k.isEmpty()) {
    if (auto* f = field(k)) return f;
    for (auto* panel : panels_)
      if (k == panel->slot().path || k == panel->slot().path + ".type") return panel->typeField();
    k = k.contains('.') ? k.section('.', 0, -2) : QString();
  }
  return nullptr;
}

QString ConfigForm::showError(const QString& key, const QString& message, bool reveal) {
  QString k = key;
  if (init_ && init_->isFolder() && !k.isEmpty()) {
    // The engine names a folder it cannot use by its path ("FOLDER/config.json: ..."): that is
    // about init.
    const QString folder = init_->folder();
    const QString abs = folder.isEmpty() ? QString() : QDir(folder).absolutePath();
    auto under = [&](const QString& f) { return !f.isEmpty() && (k == f || k.startsWith(f + "/")); };
    if (under(folder) || under(abs)) {
      if (init_->folderState() == InitPicker::FolderState::Failed) return init_->path();  // the picker says so already
      k = init_->path();
    }
  }
  auto* f = fieldForKey(k);
  if (f && f->isEnabled() && f->isVisibleTo(this)) {
    f->showError(message);
    if (reveal) {
      for (QWidget* w = parentWidget(); w; w = w->parentWidget())
        if (auto* area = qobject_cast<QScrollArea*>(w)) {
          // After the error line is laid out, so the whole of it comes into view.
          QTimer::singleShot(0, area, [area, f = QPointer<ConfigField>(f)] {
            if (f) area->ensureWidgetVisible(f, 20, 40);
          });
          break;
        }
    }
    return f->path();
  }
  QStringList errors = banner_->property("errors").toStringList();
  errors << message;
  banner_->setProperty("errors", errors);
  showNote(QString());
  return QString();
}

void ConfigForm::showNote(const QString& message) {
  QStringList notes = banner_->property("notes").toStringList();
  if (!message.isEmpty()) notes << message;
  banner_->setProperty("notes", notes);
  const QStringList errors = banner_->property("errors").toStringList();
  if (errors.isEmpty() && notes.isEmpty()) {
    banner_->hide();
    return;
  }
  banner_->setText((errors + notes).join("\n"));
  banner_->setStyleSheet(errors.isEmpty()
                             ? "QLabel { background: #fff8e1; color: #5d4037; border: 1px solid #ffe082; padding: 6px; }"
                             : "QLabel { background: #fdecea; color: #b71c1c; border: 1px solid #f5c2c0; padding: 6px; }");
  banner_->show();
}

void ConfigForm::clearErrors() {
  for (auto* f : generic_) {
    f->clearError();
    if (auto* r = qobject_cast<RequestField*>(f))
      for (auto* sub : r->subFields()) sub->clearError();
  }
  for (auto* panel : panels_)
    for (auto* f : panel->fields()) f->clearError();
  banner_->setProperty("errors", QStringList());
  showNote(QString());
}

}  // namespace ctx::gui
