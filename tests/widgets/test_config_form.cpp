// The configurator: forms generated from a method registry (a fixture here, the real one from
// ctxlab-cli below), config round trips through the engine's check, validation messages beside
// their field, and pasted Hugging Face rope_scaling blocks.
#include <gtest/gtest.h>

#include <QCheckBox>
#include <QComboBox>
#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QGroupBox>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QSet>
#include <QTemporaryFile>

#include <functional>
#include <nlohmann/json.hpp>

#include "widgets/cli_call.h"
#include "widgets/config_form.h"
#include "widgets/configurator.h"
#include "widgets/rope_paste.h"

using nlohmann::json;
using namespace ctx::gui;

namespace {

json fixtureRegistry() {
  return json::parse(R"([
    {"kind": "position", "name": "rope", "aliases": [], "doc": "rotary embedding",
     "params": [{"key": "theta", "type": "float", "default": 10000.0, "min": 1.0, "max": 1e12, "doc": "base of the rotation"},
                {"key": "pairing", "type": "choice", "default": "half", "choices": ["half", "interleaved"], "doc": "pair layout"}]},
    {"kind": "position", "name": "alibi", "aliases": [], "doc": "linear biases",
     "params": [{"key": "slope_scale", "type": "float", "default": 1.0, "min": 0.0, "max": 1e6, "doc": "slope multiplier"}]},
    {"kind": "rope_scaling", "name": "default", "aliases": [], "doc": "plain", "params": []},
    {"kind": "rope_scaling", "name": "yarn", "aliases": [], "doc": "NTK-by-parts",
     "params": [{"key": "factor", "type": "float", "default": null, "min": 1.0, "max": 1e6, "doc": "scale"},
                {"key": "original_max_position_embeddings", "type": "int", "default": 0, "min": 0, "max": 1e9, "doc": "L0"},
                {"key": "short_factor", "type": "float_list", "default": null, "min": 0, "max": 1e9, "doc": "per pair"}]},
    {"kind": "sampler", "name": "contiguous", "aliases": [], "doc": "ids 0..T-1",
     "params": [{"key": "keep_offset", "type": "bool", "default": false, "doc": "offset ids"}]},
    {"kind": "sampler", "name": "chunk", "aliases": [], "doc": "chunks",
     "params": [{"key": "factor", "type": "int", "default": 4, "min": 1, "max": 100, "doc": "window multiple"},
                {"key": "alpha", "type": "float", "default": 0.25, "min": 0.0, "max": 1.0, "doc": "piece fraction"}]}
  ])");
}

json fixtureDefaults() {
  return json::parse(R"({
    "name": "run", "seed": 1, "init": "scratch",
    "model": {"layers": 4, "d_model": 256, "heads": 4, "max_positions": 256,
              "position": {"type": "rope", "theta": 10000.0, "pairing": "half"}},
    "rope_scaling": null,
    "data": {"corpus": "builtin:longrange", "val_fraction": 0.1},
    "train": {"seq_len": 128, "lr": 0.0003, "stages": [], "positions": {"type": "contiguous", "keep_offset": false}},
    "eval": {"lengths": [128, 256], "mode": ["nonoverlap"], "enabled": true}
  })");
}

QLineEdit* lineEdit(ConfigField* f) { return f ? qobject_cast<QLineEdit*>(f->editor()) : nullptr; }
QComboBox* combo(ConfigField* f) { return f ? qobject_cast<QComboBox*>(f->editor()) : nullptr; }

void choose(ConfigField* f, const QString& item) {  // as a user picking from the combo
  auto* c = combo(f);
  ASSERT_NE(c, nullptr);
  const int i = c->findText(item);
  ASSERT_GE(i, 0) << item.toStdString();
  c->setCurrentIndex(i);
  emit c->activated(i);
}

bool waitFor(const std::function<bool()>& done, int ms = 30000) {
  QElapsedTimer t;
  t.start();
  while (!done() && t.elapsed() < ms) QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
  return done();
}

QString presetDir() { return CTXLAB_PRESETS; }

json readPreset(const QString& name) {
  QFile f(presetDir() + "/" + name + ".json");
  EXPECT_TRUE(f.open(QIODevice::ReadOnly)) << name.toStdString();
  return json::parse(f.readAll().toStdString());
}

// The engine's answer to `check` for a config.
json check(const json& cfg) {
  QTemporaryFile f(QDir::temp().filePath("ctxlab-test-XXXXXX.json"));
  EXPECT_TRUE(f.open());
  f.write(QByteArray::fromStdString(cfg.dump()));
  f.close();
  return runCliBlocking({"check", "--config-only", "--config", f.fileName()}).json;
}

// The form as the configurator builds it, from the real ctxlab-cli.
std::unique_ptr<ConfigForm> realForm() {
  const CliResult reg = runCliBlocking({"methods"});
  EXPECT_TRUE(reg.ok) << "ctxlab-cli (" << cliPath().toStdString() << "): " << reg.error.toStdString();
  const json defaults = check(json::object());
  EXPECT_TRUE(defaults.value("ok", false)) << defaults.dump();
  return std::make_unique<ConfigForm>(reg.json, defaults.value("resolved", json::object()));
}

}  // namespace

TEST(ConfigForm, GeneratesFieldsFromTheRegistryAndDefaults) {
  ConfigForm form(fixtureRegistry(), fixtureDefaults());
  // Method parameters: editor kind, default, range and choices from the registry.
  auto* theta = form.field("model.position.theta");
  ASSERT_NE(theta, nullptr);
  ASSERT_NE(lineEdit(theta), nullptr);
  EXPECT_EQ(lineEdit(theta)->text(), "10000");
  EXPECT_EQ(theta->spec().type, FieldType::Float);
  EXPECT_EQ(theta->spec().min.value_or(-1), 1.0);
  EXPECT_EQ(theta->spec().max.value_or(-1), 1e12);
  EXPECT_TRUE(lineEdit(theta)->toolTip().contains("base of the rotation"));
  auto* pairing = combo(form.field("model.position.pairing"));
  ASSERT_NE(pairing, nullptr);
  ASSERT_EQ(pairing->count(), 2);
  EXPECT_EQ(pairing->itemText(0), "half");
  EXPECT_EQ(pairing->itemText(1), "interleaved");
  EXPECT_EQ(pairing->currentText(), "half");
  // Method combos list the registry's names of their kind (rope_scaling also offers none).
  auto* pos = combo(form.field("model.position.type"));
  ASSERT_NE(pos, nullptr);
  EXPECT_EQ(pos->count(), 2);
  EXPECT_EQ(pos->currentText(), "rope");
  auto* rope = combo(form.field("rope_scaling.rope_type"));
  ASSERT_NE(rope, nullptr);
  EXPECT_EQ(rope->count(), 3);
  EXPECT_EQ(rope->itemText(0), "none");
  EXPECT_EQ(rope->currentText(), "none");
  auto* keep = form.field("train.positions.keep_offset");
  ASSERT_NE(keep, nullptr);
  ASSERT_NE(qobject_cast<QCheckBox*>(keep->editor()), nullptr);
  EXPECT_FALSE(qobject_cast<QCheckBox*>(keep->editor())->isChecked());
  // Generic keys, typed from the defaults' JSON.
  EXPECT_EQ(form.field("model.heads")->spec().type, FieldType::Int);
  EXPECT_EQ(lineEdit(form.field("model.heads"))->text(), "4");
  EXPECT_EQ(form.field("train.lr")->spec().type, FieldType::Float);
  EXPECT_EQ(lineEdit(form.field("train.lr"))->text(), "0.0003");
  EXPECT_EQ(form.field("eval.lengths")->spec().type, FieldType::IntList);
  EXPECT_EQ(lineEdit(form.field("eval.lengths"))->text(), "128, 256");
  EXPECT_EQ(form.field("eval.mode")->spec().type, FieldType::StringList);
  EXPECT_EQ(form.field("train.stages")->spec().type, FieldType::Json);
  EXPECT_EQ(form.field("data.corpus")->spec().type, FieldType::Corpus);
  EXPECT_EQ(form.field("init")->spec().type, FieldType::Init);
  // No field for the method objects themselves: they are panels.
  EXPECT_EQ(form.field("model.position"), nullptr);
  EXPECT_NE(form.methodPanel("train.positions"), nullptr);
}

TEST(ConfigForm, SwitchingTheMethodSwapsItsFields) {
  ConfigForm form(fixtureRegistry(), fixtureDefaults());
  lineEdit(form.field("model.position.theta"))->setText("500000");
  choose(form.field("model.position.type"), "alibi");
  EXPECT_EQ(form.field("model.position.theta"), nullptr);
  EXPECT_EQ(form.field("model.position.pairing"), nullptr);
  ASSERT_NE(form.field("model.position.slope_scale"), nullptr);
  EXPECT_EQ(lineEdit(form.field("model.position.slope_scale"))->text(), "1");
  // rope_scaling only applies to rope.
  EXPECT_FALSE(form.methodPanel("rope_scaling")->isEnabled());
  // Back to rope: the edit made before switching away is still there.
  choose(form.field("model.position.type"), "rope");
  EXPECT_EQ(lineEdit(form.field("model.position.theta"))->text(), "500000");
  EXPECT_TRUE(form.methodPanel("rope_scaling")->isEnabled());

  choose(form.field("train.positions.type"), "chunk");
  EXPECT_EQ(form.field("train.positions.keep_offset"), nullptr);
  ASSERT_NE(form.field("train.positions.factor"), nullptr);
  EXPECT_EQ(form.field("train.positions.factor")->spec().type, FieldType::Int);
  EXPECT_EQ(form.field("train.positions.factor")->spec().max.value_or(0), 100.0);
  EXPECT_EQ(lineEdit(form.field("train.positions.alpha"))->text(), "0.25");
}

TEST(ConfigForm, EditedFormGivesItsValuesAtTheirKeyPaths) {
  ConfigForm form(fixtureRegistry(), fixtureDefaults());
  lineEdit(form.field("model.heads"))->setText("8");
  lineEdit(form.field("model.position.theta"))->setText("5e5");
  choose(form.field("model.position.pairing"), "interleaved");
  choose(form.field("rope_scaling.rope_type"), "yarn");
  EXPECT_TRUE(lineEdit(form.field("rope_scaling.factor"))->text().isEmpty());  // required: no default
  lineEdit(form.field("rope_scaling.factor"))->setText("8");
  lineEdit(form.field("rope_scaling.short_factor"))->setText("1, 1.5, 2");
  choose(form.field("train.positions.type"), "chunk");
  lineEdit(form.field("train.positions.factor"))->setText("3");
  lineEdit(form.field("eval.lengths"))->setText("64, 128 512");
  lineEdit(form.field("eval.mode"))->setText("nonoverlap, sliding");

  const json c = form.config();
  EXPECT_EQ(c["model"]["heads"], json(8));
  EXPECT_TRUE(c["model"]["heads"].is_number_integer());
  EXPECT_EQ(c["model"]["position"], json({{"type", "rope"}, {"theta", 500000.0}, {"pairing", "interleaved"}}));
  EXPECT_EQ(c["rope_scaling"], json({{"rope_type", "yarn"}, {"factor", 8.0}, {"original_max_position_embeddings", 0},
                                     {"short_factor", {1.0, 1.5, 2.0}}}));
  EXPECT_EQ(c["train"]["positions"], json({{"type", "chunk"}, {"factor", 3}, {"alpha", 0.25}}));
  EXPECT_EQ(c["eval"]["lengths"], json({64, 128, 512}));
  EXPECT_EQ(c["eval"]["mode"], json({"nonoverlap", "sliding"}));
  EXPECT_EQ(c["init"], json("scratch"));
  EXPECT_EQ(c["data"]["corpus"], json("builtin:longrange"));

  // Text that does not parse goes to the engine as typed, so its check can name the problem.
  lineEdit(form.field("model.heads"))->setText("four");
  EXPECT_EQ(form.config()["model"]["heads"], json("four"));
  // A non-rope scheme leaves rope_scaling out of the config.
  choose(form.field("model.position.type"), "alibi");
  EXPECT_FALSE(form.config().contains("rope_scaling"));
}

TEST(ConfigForm, SetConfigTakesPresetShapesAndReportsUnknownKeys) {
  ConfigForm form(fixtureRegistry(), fixtureDefaults());
  const QStringList dropped = form.setConfig(json::parse(R"({
    "name": "x", "init": {"run": 12},
    "model": {"heads": 2, "position": {"type": "rope", "theta": 500000, "bogus": 1}},
    "rope_scaling": {"type": "yarn", "factor": 4},
    "train": {"positions": "chunk", "extra": true},
    "eval": {"lengths": [64]}
  })"));
  EXPECT_EQ(dropped, QStringList({"model.position.bogus", "train.extra"}));
  EXPECT_TRUE(form.banner()->isVisibleTo(&form));
  EXPECT_TRUE(form.banner()->text().contains("train.extra"));
  const json c = form.config();
  EXPECT_EQ(c["init"], json({{"run", 12}}));
  EXPECT_EQ(c["model"]["heads"], json(2));
  EXPECT_EQ(c["model"]["layers"], json(4));  // left out of the config: the default
  EXPECT_EQ(c["rope_scaling"]["rope_type"], json("yarn"));  // legacy "type"
  EXPECT_EQ(c["rope_scaling"]["factor"], json(4.0));
  EXPECT_EQ(c["train"]["positions"], json({{"type", "chunk"}, {"factor", 4}, {"alpha", 0.25}}));
  EXPECT_EQ(c["eval"]["lengths"], json({64}));
}

TEST(ConfigForm, ErrorsGoBesideTheirFieldOrToTheBanner) {
  ConfigForm form(fixtureRegistry(), fixtureDefaults());
  choose(form.field("rope_scaling.rope_type"), "yarn");
  EXPECT_EQ(form.showError("eval.lengths[1]", "eval.lengths[1]: must be an integer"), "eval.lengths");
  EXPECT_EQ(form.field("eval.lengths")->errorLabel()->text(), "eval.lengths[1]: must be an integer");
  EXPECT_EQ(form.showError("rope_scaling", "rope_scaling: needs rope"), "rope_scaling.rope_type");
  EXPECT_EQ(form.showError("model.position.bogus", "model.position.bogus: unknown key"), "model.position.type");
  EXPECT_EQ(form.showError("rope_scaling.factor", "rope_scaling.factor: required"), "rope_scaling.factor");
  EXPECT_TRUE(form.field("rope_scaling.factor")->errorLabel()->isVisibleTo(&form));
  EXPECT_FALSE(form.banner()->isVisibleTo(&form));
  EXPECT_EQ(form.showError("", "config.json: not valid JSON"), "");
  EXPECT_EQ(form.showError("nowhere.key", "nowhere.key: odd"), "");
  EXPECT_TRUE(form.banner()->isVisibleTo(&form));
  EXPECT_TRUE(form.banner()->text().contains("config.json: not valid JSON"));
  EXPECT_TRUE(form.banner()->text().contains("nowhere.key: odd"));
  form.clearErrors();
  EXPECT_FALSE(form.banner()->isVisibleTo(&form));
  for (const QString& p : form.fieldPaths()) EXPECT_FALSE(form.field(p)->errorLabel()->isVisibleTo(&form)) << p.toStdString();
}

TEST(ConfigForm, ParsesPastedHuggingFaceBlocks) {
  QString err;
  auto a = parseRopeScalingBlock(R"({"type": "yarn", "factor": 8.0, "original_max_position_embeddings": 4096})", &err);
  ASSERT_TRUE(a.has_value()) << err.toStdString();
  EXPECT_EQ(*a, json({{"rope_type", "yarn"}, {"factor", 8.0}, {"original_max_position_embeddings", 4096}}));
  auto b = parseRopeScalingBlock(R"({"architectures": ["LlamaForCausalLM"], "rope_theta": 500000.0,
      "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                       "original_max_position_embeddings": 8192, "rope_type": "llama3"}})", &err);
  ASSERT_TRUE(b.has_value()) << err.toStdString();
  EXPECT_EQ((*b)["rope_type"], json("llama3"));
  EXPECT_EQ((*b)["original_max_position_embeddings"], json(8192));
  EXPECT_FALSE(b->contains("rope_theta"));
  auto c = parseRopeScalingBlock("  \"rope_scaling\": {\"rope_type\": \"linear\", \"factor\": 2.0},\n", &err);
  ASSERT_TRUE(c.has_value()) << err.toStdString();
  EXPECT_EQ(*c, json({{"rope_type", "linear"}, {"factor", 2.0}}));

  EXPECT_FALSE(parseRopeScalingBlock("{\"rope_type\": \"yarn\", factor: 8}", &err));
  EXPECT_TRUE(err.startsWith("Not valid JSON")) << err.toStdString();
  EXPECT_FALSE(parseRopeScalingBlock(R"({"hidden_size": 4096})", &err));
  EXPECT_TRUE(err.contains("rope_scaling")) << err.toStdString();
  EXPECT_FALSE(parseRopeScalingBlock(R"({"rope_scaling": null})", &err));
  EXPECT_TRUE(err.contains("plain RoPE")) << err.toStdString();

  RopePasteDialog dlg;
  dlg.textBox()->setPlainText("{oops");
  dlg.accept();
  EXPECT_NE(dlg.result(), QDialog::Accepted);
  EXPECT_TRUE(dlg.errorLabel()->isVisibleTo(&dlg));
  EXPECT_TRUE(dlg.errorLabel()->text().startsWith("Not valid JSON"));
  QDir().mkpath(CTXLAB_TEST_TMP);
  dlg.grab().save(QString(CTXLAB_TEST_TMP) + "/configurator_paste_error.png");
  dlg.textBox()->setPlainText(R"({"rope_type": "yarn", "factor": 8})");
  dlg.accept();
  EXPECT_EQ(dlg.result(), QDialog::Accepted);
  EXPECT_EQ(dlg.block(), json({{"rope_type", "yarn"}, {"factor", 8}}));
}

TEST(ConfigForm, PastedBlockSetsTheRopeScalingFields) {
  ConfigForm form(fixtureRegistry(), fixtureDefaults());
  choose(form.field("model.position.type"), "alibi");
  QString err;
  auto block = parseRopeScalingBlock(
      R"({"rope_scaling": {"type": "yarn", "factor": 8.0, "original_max_position_embeddings": 4096, "finetuned": true}})", &err);
  ASSERT_TRUE(block.has_value());
  const QStringList dropped = form.setRopeScaling(*block);
  EXPECT_EQ(dropped, QStringList({"rope_scaling.finetuned"}));
  EXPECT_EQ(combo(form.field("model.position.type"))->currentText(), "rope");
  EXPECT_TRUE(form.methodPanel("rope_scaling")->isEnabled());
  EXPECT_EQ(combo(form.field("rope_scaling.rope_type"))->currentText(), "yarn");
  EXPECT_EQ(lineEdit(form.field("rope_scaling.factor"))->text(), "8");
  EXPECT_EQ(lineEdit(form.field("rope_scaling.original_max_position_embeddings"))->text(), "4096");
  EXPECT_EQ(form.config()["rope_scaling"],
            json({{"rope_type", "yarn"}, {"factor", 8.0}, {"original_max_position_embeddings", 4096}}));
}

// Every preset, through the form built from the real registry, resolves as the preset itself does.
TEST(ConfigFormCli, PresetsRoundTripThroughTheForm) {
  auto form = realForm();
  const QStringList presets = QDir(presetDir()).entryList({"*.json"}, QDir::Files);
  ASSERT_GE(presets.size(), 10);
  for (const QString& file : presets) {
    const QString name = QFileInfo(file).completeBaseName();
    const json preset = readPreset(name);
    const json want = check(preset);
    ASSERT_TRUE(want.value("ok", false)) << name.toStdString() << ": " << want.dump();
    EXPECT_TRUE(form->setConfig(preset).isEmpty()) << name.toStdString();
    const json got = check(form->config());
    ASSERT_TRUE(got.value("ok", false)) << name.toStdString() << ": " << got.dump() << "\n" << form->config().dump();
    EXPECT_EQ(got["resolved"], want["resolved"]) << name.toStdString();
  }
  // The registry's list type: longrope's per-pair factors.
  form->setConfig(readPreset("yarn"));
  choose(form->field("rope_scaling.rope_type"), "longrope");
  ASSERT_NE(form->field("rope_scaling.long_factor"), nullptr);
  EXPECT_EQ(form->field("rope_scaling.long_factor")->spec().type, FieldType::FloatList);
}

TEST(ConfigFormCli, CheckMessageAppearsBesideTheFieldAndGatesLaunch) {
  Configurator conf(presetDir());
  int checks = 0;
  bool last_ok = false;
  QObject::connect(&conf, &Configurator::validated, [&](bool ok, const QString&) {
    ++checks;
    last_ok = ok;
  });
  json launched;
  QObject::connect(&conf, &Configurator::launchRequested, [&](const json& c) { launched = c; });
  conf.resize(1200, 750);
  conf.show();
  ASSERT_TRUE(waitFor([&] { return conf.isReady(); })) << conf.messageLabel()->text().toStdString();
  ASSERT_TRUE(waitFor([&] { return checks >= 1; }));  // the first preset's check
  EXPECT_TRUE(last_ok) << conf.statusLabel()->text().toStdString();

  json bad = readPreset("quickstart");
  bad["model"]["heads"] = 3;
  bad["model"]["d_model"] = 32;
  const int before = checks;
  conf.loadConfig(bad, "a test");
  ASSERT_TRUE(waitFor([&] { return checks > before; }));
  EXPECT_FALSE(last_ok);
  EXPECT_FALSE(conf.launchButton()->isEnabled());
  auto* heads = conf.form()->field("model.heads");
  ASSERT_NE(heads, nullptr);
  QLabel* msg = heads->errorLabel();
  EXPECT_TRUE(msg->isVisible());
  EXPECT_EQ(msg->text(), "model.heads: 3 does not divide d_model 32");
  // It belongs to that field: inside the field's widget, right under its editor.
  EXPECT_EQ(msg->parentWidget(), heads);
  const QPoint ed = heads->editor()->mapTo(conf.form(), QPoint(0, heads->editor()->height()));
  const QPoint lb = msg->mapTo(conf.form(), QPoint(0, 0));
  EXPECT_GE(lb.y(), ed.y());
  EXPECT_LT(lb.y() - ed.y(), 20);
  EXPECT_EQ(lb.x(), heads->editor()->mapTo(conf.form(), QPoint(0, 0)).x());
  for (const QString& p : conf.form()->fieldPaths()) {
    if (p != "model.heads") {
      EXPECT_FALSE(conf.form()->field(p)->errorLabel()->isVisible()) << p.toStdString();
    }
  }
  EXPECT_TRUE(conf.statusLabel()->text().contains("does not divide"));
  conf.grab().save(QString(CTXLAB_TEST_TMP) + "/configurator_error.png");
  // Validate on demand from far down the form: the message is brought into view.
  conf.resize(560, 420);  // one column, taller than the view
  QCoreApplication::processEvents();
  QCoreApplication::processEvents();
  auto* area = conf.findChild<QScrollArea*>();
  ASSERT_NE(area, nullptr);
  area->verticalScrollBar()->setValue(area->verticalScrollBar()->maximum());
  QCoreApplication::processEvents();
  auto inView = [&] {
    const QRect r(msg->mapTo(area->viewport(), QPoint(0, 0)), msg->size());
    return area->viewport()->rect().contains(r);
  };
  ASSERT_GT(area->verticalScrollBar()->maximum(), 0);
  EXPECT_FALSE(inView());
  const int before_validate = checks;
  conf.validateButton()->click();
  ASSERT_TRUE(waitFor([&] { return checks > before_validate; }));
  EXPECT_TRUE(waitFor(inView, 2000));
  conf.grab().save(QString(CTXLAB_TEST_TMP) + "/configurator_narrow.png");

  // The fix, typed: the debounced check clears the message and enables Launch.
  auto* edit = lineEdit(heads);
  edit->setText("4");
  const int before_fix = checks;
  emit edit->textEdited("4");
  EXPECT_FALSE(conf.launchButton()->isEnabled());
  ASSERT_TRUE(waitFor([&] { return checks > before_fix; }));
  EXPECT_TRUE(last_ok) << conf.statusLabel()->text().toStdString();
  EXPECT_FALSE(msg->isVisible());
  ASSERT_TRUE(conf.launchButton()->isEnabled());
  conf.launchButton()->click();
  EXPECT_EQ(launched["model"]["heads"], json(4));
  EXPECT_EQ(launched["model"]["d_model"], json(32));
}

TEST(ConfigFormCli, RendersTheYarnPresetTidily) {
  Configurator conf(presetDir());
  conf.resize(1200, 750);
  conf.show();
  ASSERT_TRUE(waitFor([&] { return conf.isReady(); }));
  conf.loadPreset("yarn");
  ASSERT_TRUE(waitFor([&] { return conf.isValidated(); })) << conf.statusLabel()->text().toStdString();
  QCoreApplication::processEvents();
  EXPECT_EQ(combo(conf.form()->field("rope_scaling.rope_type"))->currentText(), "yarn");
  EXPECT_EQ(lineEdit(conf.form()->field("rope_scaling.factor"))->text(), "4");
  // At this width the sections sit in columns side by side, not one long strip.
  auto boxes = conf.form()->findChildren<QGroupBox*>(QString(), Qt::FindDirectChildrenOnly);
  QSet<int> xs;
  for (auto* b : boxes) xs.insert(b->x());
  EXPECT_EQ(xs.size(), 3);
  const QString out = QString(CTXLAB_TEST_TMP) + "/configurator_yarn.png";
  QDir().mkpath(CTXLAB_TEST_TMP);
  EXPECT_TRUE(conf.grab().save(out));
  EXPECT_TRUE(conf.form()->grab().save(QString(CTXLAB_TEST_TMP) + "/configurator_yarn_form.png"));

  // Save and load as JSON: the file holds the form's config, and loading it brings it back.
  const json shown = conf.form()->config();
  const QString saved = QString(CTXLAB_TEST_TMP) + "/configurator_saved.json";
  ASSERT_TRUE(conf.saveTo(saved));
  QFile f(saved);
  ASSERT_TRUE(f.open(QIODevice::ReadOnly));
  EXPECT_EQ(json::parse(f.readAll().toStdString()), shown);
  lineEdit(conf.form()->field("model.layers"))->setText("2");
  EXPECT_NE(conf.form()->config(), shown);
  ASSERT_TRUE(conf.loadFrom(saved));
  EXPECT_EQ(conf.form()->config(), shown);
  const QString broken = QString(CTXLAB_TEST_TMP) + "/configurator_broken.json";
  QFile b(broken);
  ASSERT_TRUE(b.open(QIODevice::WriteOnly));
  b.write("{\"model\": {\"layers\": 4,}}");
  b.close();
  QString err;
  EXPECT_FALSE(conf.loadFrom(broken, &err));
  EXPECT_TRUE(err.startsWith("configurator_broken.json is not valid JSON: parse error at line 1")) << err.toStdString();
  EXPECT_EQ(conf.form()->config(), shown);  // a file that does not parse changes nothing
}

TEST(ConfigFormCli, MissingCliIsShownInThePanel) {
  const QByteArray saved = qgetenv("CTXLAB_CLI");
  qputenv("CTXLAB_CLI", "/nonexistent/ctxlab-cli");
  Configurator conf(presetDir());
  const bool shown = waitFor([&] { return conf.messageLabel()->text().contains("could not use it"); });
  qputenv("CTXLAB_CLI", saved);
  ASSERT_TRUE(shown) << conf.messageLabel()->text().toStdString();
  EXPECT_TRUE(conf.messageLabel()->text().contains("/nonexistent/ctxlab-cli"));
  EXPECT_FALSE(conf.isReady());
  conf.resize(900, 400);
  conf.grab().save(QString(CTXLAB_TEST_TMP) + "/configurator_no_cli.png");
  EXPECT_FALSE(conf.launchButton()->isEnabled());
  EXPECT_FALSE(conf.validateButton()->isEnabled());
  // A config handed over meanwhile waits for the form.
  conf.loadConfig(readPreset("pi"), "run 7");
  EXPECT_EQ(conf.form(), nullptr);
}
