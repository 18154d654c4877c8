// What a new user meets first: Launch and "Run the quickstart study" show the launched run live
// on the Training tab; nested evaluation requests (passkey, needle, kvretrieval, ruler) are small
// forms generated from the structure the engine resolves them to, and round-trip to the same JSON.
#include <gtest/gtest.h>

#include <QCheckBox>
#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QLineEdit>
#include <QPushButton>
#include <QTabWidget>
#include <QTemporaryFile>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "app/main_window.h"
#include "app/run_browser.h"
#include "app/run_queue.h"
#include "widgets/cli_call.h"
#include "widgets/config_form.h"
#include "widgets/configurator.h"
#include "widgets/request_field.h"
#include "widgets/training_tab.h"

using nlohmann::json;
using namespace ctx;
using namespace ctx::gui;

namespace {

template <class F>
bool waitFor(F pred, int ms = 20000) {
  QElapsedTimer t;
  t.start();
  while (!pred() && t.elapsed() < ms) QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
  return pred();
}

std::string freshDb(const std::string& name) {
  const std::string p = std::string(CTXLAB_TEST_TMP) + "/launch_" + name;
  for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(p + s);
  return p;
}

// ctxlab-cli stand-in for the queue's children: announces run `run` as started, then trains on.
class FakeTrainer {
 public:
  FakeTrainer(const std::string& name, int64_t run) {
    path_ = std::string(CTXLAB_TEST_TMP) + "/fake-trainer-" + name + ".sh";
    QFile f(QString::fromStdString(path_));
    f.open(QIODevice::WriteOnly | QIODevice::Truncate);
    f.write(("#!/bin/sh\necho '{\"event\":\"start\",\"run_id\":" + std::to_string(run) + "}'\nsleep 4\n").c_str());
    f.close();
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all);
    old_ = qgetenv("CTXLAB_CLI");
    qputenv("CTXLAB_CLI", path_.c_str());
  }
  ~FakeTrainer() { qputenv("CTXLAB_CLI", old_); }

 private:
  std::string path_;
  QByteArray old_;
};

// What a training child does first: create its run in the store.
int64_t createRun(const std::string& db, const std::string& name) {
  store::RunStore s(db);
  store::NewRun nr;
  nr.name = name;
  nr.config_json = R"({"train":{"seq_len":128,"steps":50}})";
  nr.status = store::RunStatus::Running;
  return s.create_run(nr);
}

bool trainingShown(MainWindow& w) { return qobject_cast<TrainingTab*>(w.tabs()->currentWidget()) != nullptr; }

}  // namespace

TEST(Launch, TheLaunchedRunIsSelectedAndShownOnTraining) {
  const auto db = freshDb("launch.db");
  createRun(db, "old-1");
  createRun(db, "old-2");
  FakeTrainer cli("launch", 3);
  MainWindow w(QString::fromStdString(db));
  ASSERT_TRUE(waitFor([&] { return w.browser()->visibleRows() == 2; }));
  w.tabs()->setCurrentWidget(w.configurator());
  w.browser()->selectRuns({1});
  emit w.configurator()->launchRequested(json{{"name", "fresh"}});
  EXPECT_TRUE(trainingShown(w));  // at once: the form is done with
  const int64_t run = createRun(db, "fresh");  // the child creates its run ...
  ASSERT_EQ(run, 3);
  // ... announces it, the follower lists it, and it is what the Training tab shows.
  ASSERT_TRUE(waitFor([&] { return w.browser()->selectedRuns() == QVector<qint64>{3}; }))
      << w.browser()->selectedRuns().size();
  EXPECT_TRUE(trainingShown(w));
  w.queue()->stopAll();
}

TEST(Launch, TheQuickstartStudyShowsItsBaseRunOnTraining) {
  const auto db = freshDb("quickstart.db");
  FakeTrainer cli("quickstart", 1);
  MainWindow w(QString::fromStdString(db));
  ASSERT_TRUE(waitFor([&] { return w.bannerText().contains("quickstart study"); }));
  QPushButton* button = nullptr;
  for (auto* b : w.findChildren<QPushButton*>())
    if (b->text() == "Run the quickstart study") button = b;
  ASSERT_NE(button, nullptr);
  w.tabs()->setCurrentWidget(w.configurator());
  button->click();
  EXPECT_TRUE(trainingShown(w));
  EXPECT_GE(w.queue()->jobs().size(), 2u);  // the base, then its fine-tunes
  ASSERT_EQ(createRun(db, "quickstart (base)"), 1);
  ASSERT_TRUE(waitFor([&] { return w.browser()->selectedRuns() == QVector<qint64>{1}; }));
  EXPECT_TRUE(trainingShown(w));
  w.queue()->stopAll();
}

namespace {

json formRegistry() {
  return json::parse(R"([
    {"kind": "position", "name": "rope", "aliases": [], "doc": "rotary", "params": []},
    {"kind": "rope_scaling", "name": "default", "aliases": [], "doc": "plain", "params": []},
    {"kind": "sampler", "name": "contiguous", "aliases": [], "doc": "ids 0..T-1", "params": []}
  ])");
}

json formDefaults() {
  return json::parse(R"({
    "name": "run", "seed": 1,
    "model": {"layers": 4, "position": {"type": "rope"}},
    "rope_scaling": null,
    "train": {"seq_len": 128, "positions": {"type": "contiguous"}},
    "eval": {"lengths": [128, 256], "passkey": null, "needle": null, "kvretrieval": null, "ruler": null,
             "attention_every": 0}
  })");
}

// What the engine resolves {} to for each request (the shapes the window asks `check` for).
json formShapes() {
  return json::parse(R"({
    "eval.passkey": {"lengths": [128, 256], "trials": 10},
    "eval.needle": {"lengths": [128, 256], "trials": 10},
    "eval.kvretrieval": {"lengths": [128, 256], "trials": 10, "bins": 5, "pairs": 0},
    "eval.ruler": {"lengths": [4096, 8192], "tasks": ["niah_single_1", "niah_multikey_1", "vt", "cwe"], "samples": 50}
  })");
}

QLineEdit* lineEdit(ConfigField* f) { return f ? qobject_cast<QLineEdit*>(f->editor()) : nullptr; }

}  // namespace

TEST(RequestForms, CandidatesAndShapesComeFromTheEnginesResolution) {
  EXPECT_EQ(requestCandidates(formDefaults()),
            (QStringList{"eval.kvretrieval", "eval.needle", "eval.passkey", "eval.ruler"}));  // JSON key order
  const json probe = requestProbe({"eval.passkey", "train.lora"});
  EXPECT_EQ(probe, json::parse(R"({"eval": {"passkey": {}}, "train": {"lora": {}}})"));
  const json resolved = json::parse(R"({"eval": {"passkey": {"lengths": [128], "trials": 10}}, "train": {"lora": null}})");
  EXPECT_EQ(requestShapes(resolved, {"eval.passkey", "train.lora"}),
            json::parse(R"({"eval.passkey": {"lengths": [128], "trials": 10}})"));
}

TEST(RequestForms, NestedRequestsAreFormsThatRoundTripToTheSameJson) {
  ConfigForm form(formRegistry(), formDefaults(), {}, nullptr, formShapes());
  auto* passkey = qobject_cast<RequestField*>(form.field("eval.passkey"));
  auto* ruler = qobject_cast<RequestField*>(form.field("eval.ruler"));
  ASSERT_NE(passkey, nullptr);
  ASSERT_NE(ruler, nullptr);
  EXPECT_NE(qobject_cast<QCheckBox*>(passkey->editor()), nullptr);
  // One field per key of the resolved structure, typed from it; the engine's default as a hint.
  ASSERT_NE(form.field("eval.ruler.samples"), nullptr);
  EXPECT_EQ(form.field("eval.ruler.tasks")->spec().type, FieldType::StringList);
  EXPECT_EQ(form.field("eval.kvretrieval.bins")->spec().type, FieldType::Int);
  EXPECT_TRUE(lineEdit(form.field("eval.ruler.samples"))->placeholderText().contains("50"));
  EXPECT_FALSE(passkey->isOn());

  const json given = json::parse(R"({
    "name": "requests", "seed": 3,
    "eval": {"lengths": [128, 256],
             "passkey": {"lengths": [256, 512], "trials": 4, "depths": [0, 0.5, 1]},
             "kvretrieval": {},
             "ruler": {"lengths": [1024, 2048], "tasks": ["niah_single_1", "vt"], "samples": 8}}
  })");
  const QStringList dropped = form.setConfig(given);
  EXPECT_TRUE(dropped.isEmpty()) << dropped.join(", ").toStdString();
  const json out = form.config();
  EXPECT_EQ(out["eval"]["passkey"], given["eval"]["passkey"]);  // depths: a key the shape lacked, kept
  EXPECT_EQ(out["eval"]["kvretrieval"], json::object());       // on, every key the engine's default
  EXPECT_EQ(out["eval"]["ruler"], given["eval"]["ruler"]);
  EXPECT_FALSE(out["eval"].contains("needle"));                // off: left out
  ASSERT_NE(form.field("eval.passkey.depths"), nullptr);
  EXPECT_TRUE(passkey->isOn());

  // Edits reach the JSON; switching a request off leaves it out, on again brings its keys back.
  auto* samples = lineEdit(form.field("eval.ruler.samples"));
  samples->setText("12");
  emit samples->textEdited("12");
  EXPECT_EQ(form.config()["eval"]["ruler"]["samples"], 12);
  ruler->setOn(false);
  EXPECT_FALSE(form.config()["eval"].contains("ruler"));
  ruler->setOn(true);
  EXPECT_EQ(form.config()["eval"]["ruler"]["tasks"], given["eval"]["ruler"]["tasks"]);
  auto* needle = qobject_cast<RequestField*>(form.field("eval.needle"));
  needle->setOn(true);
  EXPECT_EQ(form.config()["eval"]["needle"], json::object());

  // The engine's message about a key inside a request goes under that key's field.
  EXPECT_EQ(form.showError("eval.ruler.samples", "eval.ruler.samples: must be >= 1 (got 0)"), "eval.ruler.samples");
  EXPECT_TRUE(form.field("eval.ruler.samples")->errorLabel()->isVisibleTo(&form));
}

TEST(RequestForms, TheRealEngineResolvesTheRequestsTheFormsAreBuiltFrom) {
  const CliResult reg = runCliBlocking({"methods"});
  ASSERT_TRUE(reg.ok) << reg.error.toStdString();
  auto check = [](const json& cfg) {
    QTemporaryFile f(QDir::temp().filePath("ctxlab-test-XXXXXX.json"));
    EXPECT_TRUE(f.open());
    f.write(QByteArray::fromStdString(cfg.dump()));
    f.close();
    return runCliBlocking({"check", "--config-only", "--config", f.fileName()}).json;
  };
  const json defaults = check(json::object())["resolved"];
  QStringList candidates = requestCandidates(defaults);
  for (const char* p : {"eval.passkey", "eval.needle", "eval.kvretrieval"}) EXPECT_TRUE(candidates.contains(p)) << p;
  // As the configurator does: leave out a candidate the engine refuses as {}, ask again.
  json answer;
  for (int tries = 0; tries < 6; ++tries) {
    answer = check(requestProbe(candidates));
    if (answer.value("ok", false)) break;
    const QString field = QString::fromStdString(answer.value("field", std::string()));
    candidates.erase(std::remove_if(candidates.begin(), candidates.end(),
                                    [&](const QString& p) { return field == p || field.startsWith(p + "."); }),
                     candidates.end());
  }
  ASSERT_TRUE(answer.value("ok", false)) << answer.dump();
  const json shapes = requestShapes(answer["resolved"], candidates);
  ASSERT_TRUE(shapes.contains("eval.passkey")) << shapes.dump();
  EXPECT_TRUE(shapes["eval.passkey"].contains("trials"));
  EXPECT_TRUE(shapes["eval.kvretrieval"].contains("bins"));

  ConfigForm form(reg.json, defaults, {}, nullptr, shapes);
  ASSERT_NE(qobject_cast<RequestField*>(form.field("eval.needle")), nullptr);
  json given = check(json::object())["resolved"];
  given.erase("rope_scaling");
  given["eval"]["needle"] = {{"lengths", {128, 256}}, {"trials", 2}, {"depths", {0.0, 50.0, 100.0}}};
  given["eval"]["passkey"] = {{"trials", 3}};
  form.setConfig(given);
  const json out = form.config();
  EXPECT_EQ(out["eval"]["needle"], given["eval"]["needle"]);
  EXPECT_EQ(out["eval"]["passkey"], given["eval"]["passkey"]);
  const json verdict = check(out);
  ASSERT_TRUE(verdict.value("ok", false)) << verdict.dump();
  EXPECT_EQ(verdict["resolved"]["eval"]["needle"]["depths"], given["eval"]["needle"]["depths"]);
  EXPECT_EQ(verdict["resolved"]["eval"]["passkey"]["trials"], 3);
}
