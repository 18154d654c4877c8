// What the window does with Hugging Face models, against the real ctxlab-cli and the fixture
// folders in tests/fixtures/hf/models: the configurator's init folder (hf-info summary, read-only
// model section, a damaged folder's message gating Launch), import from the Runs menu, the run
// browser's base model column and base: filter, and token texts in the attention tab's hover.
#include <gtest/gtest.h>

#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QGroupBox>
#include <QLineEdit>
#include <QMouseEvent>
#include <QPushButton>
#include <QTableView>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>

#include "analysis_fixtures.h"
#include "app/main_window.h"
#include "app/run_browser.h"
#include "store/file_tree.h"
#include "store/run_store.h"
#include "widgets/attention_tab.h"
#include "widgets/config_form.h"
#include "widgets/configurator.h"
#include "widgets/hf_summary.h"
#include "widgets/init_picker.h"
#include "widgets/run_table_model.h"
#include "widgets/store_follower.h"

using nlohmann::json;
using namespace ctx;
using namespace ctx::gui;
namespace fs = std::filesystem;

namespace {

bool waitFor(const std::function<bool()>& done, int ms = 30000) {
  QElapsedTimer t;
  t.start();
  while (!done() && t.elapsed() < ms) QApplication::processEvents(QEventLoop::AllEvents, 20);
  return done();
}

QString fixtureFolder(const QString& name) {
  return QString(CTXLAB_FIXTURES) + "/hf/models/" + name;
}

QString tmpPath(const QString& name) {
  QDir().mkpath(CTXLAB_TEST_TMP);
  return QString(CTXLAB_TEST_TMP) + "/" + name;
}

// A copy of a fixture folder to damage.
QString copyFixture(const QString& name, const QString& as) {
  const fs::path to = tmpPath(as).toStdString();
  ctx::remove_tree(to);
  fs::copy(fixtureFolder(name).toStdString(), to, fs::copy_options::recursive);
  return QString::fromStdString(to.string());
}

QLineEdit* lineEdit(ConfigField* f) {
  return f ? qobject_cast<QLineEdit*>(f->editor()) : nullptr;
}

// A configurator with the compiled presets, shown, its first preset validated.
struct ShownConfigurator {
  Configurator conf{CTXLAB_PRESETS};
  int verdicts = 0;
  bool last_ok = false;
  QString last_message;
  json launched;
  ShownConfigurator() {
    QObject::connect(&conf, &Configurator::validated, [this](bool ok, const QString& m) {
      ++verdicts;
      last_ok = ok;
      last_message = m;
    });
    QObject::connect(&conf, &Configurator::launchRequested,
                     [this](const json& c) { launched = c; });
    conf.resize(1400, 860);
    conf.show();
  }
  bool ready() {
    return waitFor([&] { return conf.isReady(); }) && waitFor([&] { return verdicts >= 1; });
  }
  InitPicker* init() const { return qobject_cast<InitPicker*>(conf.form()->field("init")); }
  // Picks `folder` and waits for the verdict on it (the check and hf-info both answered).
  bool pick(const QString& folder) {
    const int before = verdicts;
    init()->setFolder(folder);
    return waitFor([&] { return verdicts > before; });
  }
};

}  // namespace

TEST(HfSummary, FormatsCountsBytesAndScaling) {
  EXPECT_EQ(formatCount(1.24e9), "1.24 B");
  EXPECT_EQ(formatCount(135488), "135 K");
  EXPECT_EQ(formatCount(494032768), "494 M");
  EXPECT_EQ(formatCount(7.0e9), "7 B");
  EXPECT_EQ(formatCount(999999), "1 M");
  EXPECT_EQ(formatCount(512), "512");
  EXPECT_EQ(formatBytes(544096), "531 KiB");
  EXPECT_EQ(formatBytes(2.47 * 1024 * 1024 * 1024), "2.47 GiB");
  EXPECT_EQ(formatBytes(1023 * 1024), "1023 KiB");
  EXPECT_EQ(formatBytes(100), "100 bytes");
  EXPECT_EQ(ropeScalingText(nullptr), "none");
  EXPECT_EQ(
      ropeScalingText(json::parse(R"({"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                            "original_max_position_embeddings": 8192})")),
      "llama3 ×8 from 8192");
  EXPECT_EQ(ropeScalingText(json::parse(R"({"type": "linear", "factor": 2})")), "linear ×2");
}

TEST(HfConfigurator, FolderShowsItsModelFromHfInfoAndLeavesTheModelOut) {
  ShownConfigurator s;
  ASSERT_TRUE(s.ready()) << s.conf.messageLabel()->text().toStdString();
  ASSERT_TRUE(s.last_ok) << s.conf.statusLabel()->text().toStdString();
  InitPicker* init = s.init();
  ASSERT_NE(init, nullptr);
  const json own_model = s.conf.form()->config()["model"];
  ASSERT_TRUE(own_model.is_object());
  EXPECT_FALSE(init->folderLabel()->isVisible());

  // The choice is in the init combo, beside the other ways to start.
  auto* kinds = qobject_cast<QComboBox*>(init->editor());
  ASSERT_NE(kinds, nullptr);
  EXPECT_GE(kinds->findText("from HF model folder…"), 0);

  const QString folder = fixtureFolder("llama-gqa");
  const int before = s.verdicts;
  init->setFolder(folder);
  // While hf-info runs, the panel says so and Launch waits.
  EXPECT_EQ(init->folderState(), InitPicker::FolderState::Reading);
  EXPECT_TRUE(init->folderLabel()->isVisible());
  EXPECT_TRUE(init->folderLabel()->text().contains("Reading the folder"))
      << init->folderLabel()->text().toStdString();
  EXPECT_FALSE(s.conf.launchButton()->isEnabled());
  EXPECT_FALSE(s.conf.form()->modelSection()->isVisible());  // no model to show yet
  ASSERT_TRUE(waitFor([&] { return s.verdicts > before; }));
  ASSERT_EQ(init->folderState(), InitPicker::FolderState::Ready)
      << init->folderError().toStdString();
  EXPECT_TRUE(s.last_ok) << s.last_message.toStdString();

  // What hf-info reported: LlamaForCausalLM, 135 488 parameters, 64 positions, a byte-level BPE
  // tokenizer of 381 tokens, float32 weights in one file.
  const QString info = init->folderLabel()->text();
  EXPECT_TRUE(info.contains("LlamaForCausalLM")) << info.toStdString();
  EXPECT_TRUE(info.contains("135 K")) << info.toStdString();
  EXPECT_TRUE(info.contains("native context")) << info.toStdString();
  EXPECT_TRUE(info.contains("64 tokens")) << info.toStdString();
  EXPECT_TRUE(info.contains("θ 10000 · no scaling")) << info.toStdString();
  EXPECT_TRUE(info.contains("bpe-bytelevel · 381 tokens")) << info.toStdString();
  EXPECT_TRUE(info.contains("float32 · 531 KiB in 1 file")) << info.toStdString();

  // The config starts from the folder and leaves the model to it; the form shows the folder's
  // model read-only.
  const json cfg = s.conf.form()->config();
  EXPECT_EQ(cfg["init"], json({{"hf", folder.toStdString()}}));
  EXPECT_FALSE(cfg.contains("model")) << cfg.dump();
  EXPECT_TRUE(s.conf.form()->modelFromFolder());
  EXPECT_TRUE(s.conf.form()->modelSection()->isVisible());
  EXPECT_FALSE(s.conf.form()->modelSection()->isEnabled());
  EXPECT_TRUE(s.conf.form()->modelSection()->title().contains("from the Hugging Face folder"));
  EXPECT_EQ(lineEdit(s.conf.form()->field("model.layers"))->text(), "2");
  EXPECT_EQ(lineEdit(s.conf.form()->field("model.d_model"))->text(), "64");
  EXPECT_EQ(lineEdit(s.conf.form()->field("model.kv_heads"))->text(), "2");
  EXPECT_TRUE(
      s.conf.form()->methodPanel("rope_scaling")->isEnabled());  // extending the folder's RoPE
  EXPECT_TRUE(s.conf.form()->methodPanel("rope_scaling")->title().contains("the folder has none"));

  // The engine's check passed on that config: Launch sends it.
  ASSERT_TRUE(s.conf.isValidated());
  ASSERT_TRUE(s.conf.launchButton()->isEnabled());
  QApplication::processEvents();
  EXPECT_TRUE(s.conf.grab().save(tmpPath("configurator_hf.png")));
  s.conf.launchButton()->click();
  EXPECT_EQ(s.launched["init"]["hf"], json(folder.toStdString()));
  EXPECT_FALSE(s.launched.contains("model"));

  // Back to scratch: the model section is the user's again, as it was.
  const int idx = kinds->findData(QString("scratch"));
  kinds->setCurrentIndex(idx);
  emit kinds->activated(idx);
  EXPECT_FALSE(s.conf.form()->modelFromFolder());
  EXPECT_TRUE(s.conf.form()->modelSection()->isEnabled());
  EXPECT_FALSE(init->folderLabel()->isVisible());
  EXPECT_EQ(s.conf.form()->config()["model"], own_model);
}

TEST(HfConfigurator, DamagedFolderShowsTheEnginesLineAndKeepsLaunchOff) {
  ShownConfigurator s;
  ASSERT_TRUE(s.ready()) << s.conf.messageLabel()->text().toStdString();
  InitPicker* init = s.init();
  ASSERT_NE(init, nullptr);

  // Truncated weights: `check` reads only config.json and passes; hf-info reads the weights and
  // names the file and the problem. Launch stays off all the same.
  const QString truncated = copyFixture("llama-gqa", "hf_truncated");
  ASSERT_TRUE(QFile::resize(truncated + "/model.safetensors", 100000));
  ASSERT_TRUE(s.pick(truncated));
  ASSERT_EQ(init->folderState(), InitPicker::FolderState::Failed);
  const QString err = init->folderError();
  EXPECT_TRUE(err.startsWith(truncated + "/model.safetensors: ")) << err.toStdString();
  EXPECT_TRUE(err.contains("run past the end of the data section")) << err.toStdString();
  EXPECT_FALSE(err.startsWith("error:"));
  EXPECT_EQ(init->folderLabel()->text(), err);
  EXPECT_TRUE(init->folderLabel()->isVisible());
  EXPECT_TRUE(init->folderLabel()->styleSheet().contains("#c62828"));  // the form's validation red
  EXPECT_FALSE(s.last_ok);
  EXPECT_EQ(s.last_message, err);
  EXPECT_FALSE(s.conf.isValidated());
  EXPECT_FALSE(s.conf.launchButton()->isEnabled());
  EXPECT_TRUE(s.conf.statusLabel()->text().contains("run past the end"))
      << s.conf.statusLabel()->text().toStdString();
  EXPECT_FALSE(
      s.conf.form()->modelSection()->isVisible());  // no model from a folder that cannot be read
  EXPECT_TRUE(s.conf.grab().save(tmpPath("configurator_hf_damaged.png")));

  // No config.json: the check fails too, naming the folder; the message shows once, at init.
  const QString bare = copyFixture("llama-gqa", "hf_no_config");
  ASSERT_TRUE(QFile::remove(bare + "/config.json"));
  ASSERT_TRUE(s.pick(bare));
  ASSERT_EQ(init->folderState(), InitPicker::FolderState::Failed);
  EXPECT_TRUE(init->folderError().contains("no config.json")) << init->folderError().toStdString();
  EXPECT_FALSE(s.last_ok);
  EXPECT_FALSE(s.conf.launchButton()->isEnabled());
  EXPECT_FALSE(init->errorLabel()->isVisible());
  EXPECT_FALSE(s.conf.form()->banner()->isVisible())
      << s.conf.form()->banner()->text().toStdString();

  // The same folder fixed and picked again: read again, and Launch comes on.
  ASSERT_TRUE(QFile::copy(fixtureFolder("llama-gqa") + "/config.json", bare + "/config.json"));
  ASSERT_TRUE(s.pick(bare));
  EXPECT_EQ(init->folderState(), InitPicker::FolderState::Ready)
      << init->folderError().toStdString();
  EXPECT_TRUE(s.last_ok) << s.last_message.toStdString();
  EXPECT_TRUE(s.conf.launchButton()->isEnabled());
}

TEST(HfConfigurator, LoadedConfigWithAFolderReadsItAndNotesModelKeysItOverrides) {
  ShownConfigurator s;
  ASSERT_TRUE(s.ready());
  const QString folder = fixtureFolder("mistral");
  json cfg = {{"name", "mistral-yarn"},
              {"init", {{"hf", folder.toStdString()}}},
              {"model", {{"layers", 2}, {"heads", 4}}},
              {"rope_scaling",
               {{"rope_type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 128}}},
              {"train", {{"seq_len", 64}, {"steps", 10}}}};
  const int before = s.verdicts;
  s.conf.loadConfig(cfg, "a test");
  ASSERT_TRUE(waitFor([&] { return s.verdicts > before; }));
  InitPicker* init = s.init();
  ASSERT_EQ(init->folderState(), InitPicker::FolderState::Ready)
      << init->folderError().toStdString();
  EXPECT_TRUE(init->folderLabel()->text().contains("MistralForCausalLM"));
  EXPECT_TRUE(init->folderLabel()->text().contains("sentencepiece · 512 tokens"));
  EXPECT_TRUE(s.last_ok) << s.last_message.toStdString();
  // model.layers agrees with the folder (2); model.heads does not (8): that one is named.
  EXPECT_TRUE(s.conf.form()->banner()->text().contains("model.heads"))
      << s.conf.form()->banner()->text().toStdString();
  EXPECT_FALSE(s.conf.form()->banner()->text().contains("model.layers"));
  EXPECT_EQ(lineEdit(s.conf.form()->field("model.heads"))->text(), "8");
  const json out = s.conf.form()->config();
  EXPECT_FALSE(out.contains("model"));
  EXPECT_EQ(out["rope_scaling"]["rope_type"], json("yarn"));  // replaces the folder's own
  EXPECT_TRUE(s.conf.form()->methodPanel("rope_scaling")->title().contains("the folder has none"));
}

TEST(HfRunTable, BaseModelColumnSortAndFilter) {
  const std::string path = tmpPath("widgets_base_model.db").toStdString();
  for (const char* x : {"", "-wal", "-shm"}) fs::remove(path + x);
  int64_t own = 0, imported = 0, tuned = 0, other = 0;
  {
    store::RunStore db(path);
    auto add = [&](const std::string& name, const std::string& method, const std::string& config) {
      store::NewRun r;
      r.name = name;
      r.method = method;
      r.config_json = config;
      r.status = store::RunStatus::Finished;
      return db.create_run(r);
    };
    own = add("quickstart", "rope + contiguous", R"({"train":{"seq_len":128}})");
    imported = add(
        "llama-gqa", "pretrained",
        R"({"init":{"hf":"/x/llama-gqa"},"_resolved":{"base_model":"llama-gqa","parameters":135488}})");
    tuned = add(
        "gqa-yarn-x4", "rope yarn x4 + contiguous",
        R"({"init":{"run":2},"rope_scaling":{"rope_type":"yarn","factor":4},"_resolved":{"base_model":"llama-gqa"}})");
    other = add("mistral-pi", "rope linear x2 + contiguous",
                R"({"init":{"hf":"/y/mistral"},"_resolved":{"base_model":"mistral"}})");
  }
  DataCache cache;
  QObject owner;
  auto* f = startFollower(QString::fromStdString(path), &owner, 50);
  QObject::connect(f, &StoreFollower::summariesReady, &cache, &DataCache::applySummaries);
  RunBrowser browser(&cache);
  RunTableModel* model = browser.model();
  ASSERT_TRUE(waitFor([&] { return model->rowCount() == 4; }, 10000));
  auto cell = [&](int64_t run) {
    return model->data(model->index(model->rowOf(run), RunTableModel::BaseModel), Qt::DisplayRole)
        .toString();
  };
  EXPECT_EQ(model->headerData(RunTableModel::BaseModel, Qt::Horizontal, Qt::DisplayRole).toString(),
            "Base model");
  EXPECT_EQ(cell(own), "");
  EXPECT_EQ(cell(imported), "llama-gqa");
  EXPECT_EQ(cell(tuned), "llama-gqa");
  EXPECT_EQ(cell(other), "mistral");
  EXPECT_FALSE(browser.view()->isColumnHidden(RunTableModel::BaseModel));  // shown by default
  // The bookkeeping stays out of the config the filter and compare tab read.
  EXPECT_FALSE(cache.config(imported).contains("_resolved"));

  auto shown = [&] {
    std::vector<int64_t> ids;
    for (int r = 0; r < browser.proxy()->rowCount(); ++r)
      ids.push_back(browser.proxy()->index(r, 0).data(RunTableModel::RunIdRole).toLongLong());
    return ids;
  };
  auto sorted = [](std::vector<int64_t> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  browser.setFilterText("base:llama");
  EXPECT_EQ(sorted(shown()), sorted({imported, tuned}));
  browser.setFilterText("base:MISTRAL");
  EXPECT_EQ(shown(), std::vector<int64_t>{other});
  browser.setFilterText("base:llama status:finished yarn");
  EXPECT_EQ(shown(), std::vector<int64_t>{tuned});
  browser.setFilterText("base:qwen");
  EXPECT_TRUE(shown().empty());
  browser.setFilterText("mistral");  // a word matches the base model too
  EXPECT_EQ(shown(), std::vector<int64_t>{other});
  browser.setFilterText("");
  // Sortable like the other columns: CtxLab's own (blank) first, then by name.
  browser.view()->sortByColumn(RunTableModel::BaseModel, Qt::AscendingOrder);
  const auto order = shown();
  ASSERT_EQ(order.size(), 4u);
  EXPECT_EQ(order[0], own);
  EXPECT_EQ(sorted({order[1], order[2]}), sorted({imported, tuned}));
  EXPECT_EQ(order[3], other);
}

TEST(HfAttention, HoverGivesTheTilesTokenTexts) {
  // Direct: control characters escaped, long spans cut at a word with "…", nothing past the texts.
  EXPECT_EQ(tokenSpanText({"a\n", "\t", "b\x07", "\\n", "é"}, 0, 5), "a\\n\\tb\\x07\\né");
  EXPECT_EQ(tokenSpanText({"There", " is", " an", " important", " info", " hidden"}, 0, 6),
            "There is an important…");
  EXPECT_EQ(tokenSpanText({"abcdefghijklmnopqrstuvwxyz"}, 0, 1, 10), "abcdefghij…");
  EXPECT_EQ(tokenSpanText({"x", "y"}, 5, 9), "");

  DataCache cache;
  fixture::load(cache, {fixture::run(7, "llama-yarn", json::object())});
  auto all = fixture::attentionFixture();  // L = 128 and 300, 8 tiles, steps 50 and 100
  // The probe's first 128 token texts, stored for L = 128 only (300 keeps the older format).
  std::vector<std::string> texts(128, "");
  const char* first[] = {"There",   " is",   " an",  " important", " info",       " hidden",
                         " inside", " a",    " lot", " of",        " irrelevant", " text",
                         ".",       " Find", " it",  " and"};
  for (int i = 0; i < 16; ++i) texts[static_cast<size_t>(i)] = first[i];
  const char* third[] = {"\n", "Q", ":", " key", "?"};
  for (int i = 0; i < 5; ++i) texts[static_cast<size_t>(32 + i)] = third[i];
  const std::string blob = json(texts).dump();
  for (int64_t step : {50, 100}) {
    store::Artifact a;
    a.name = tokensName(128);
    a.step = step;
    a.dtype = "u8";
    a.shape = {static_cast<int64_t>(blob.size())};
    a.data.assign(blob.begin(), blob.end());
    all.push_back(a);
  }
  fixture::details(cache, 7, fixture::attentionEvals(), all, /*with_blobs=*/false);
  // Blobs arrive as the follower sends them, tokens included.
  QObject::connect(&cache, &DataCache::artifactWanted,
                   [&](qint64 run, const QString& name, qint64 step) {
                     for (const auto& a : all)
                       if (a.name == name.toStdString() && a.step == step)
                         QTimer::singleShot(1, &cache, [&cache, run, a] {
                           cache.applyArtifact(run, std::make_shared<store::Artifact>(a));
                         });
                   });
  AttentionTab tab(&cache);
  tab.setSelection({7});
  tab.setHead(0);
  tab.resize(1200, 750);
  tab.show();
  tab.redrawNow();
  ASSERT_TRUE(waitFor([&] { return !tab.waitingForData() && tab.colorMap(128) != nullptr; }, 5000));
  tab.redrawNow();
  const QString t = tab.tileText(128, 2, 0);
  EXPECT_TRUE(t.contains("query tokens [32, 48) “\\nQ: key?”")) << t.toStdString();
  EXPECT_TRUE(t.contains("key tokens [0, 16) “There is an important…”")) << t.toStdString();
  EXPECT_TRUE(t.startsWith("L=128 · query tokens")) << t.toStdString();
  EXPECT_TRUE(t.contains("mean p = ")) << t.toStdString();
  // A tile of empty texts and a length without stored texts: the ranges alone.
  EXPECT_TRUE(tab.tileText(128, 5, 4).contains("query tokens [80, 96) · key tokens [64, 80) ·"))
      << tab.tileText(128, 5, 4).toStdString();
  EXPECT_FALSE(tab.tileText(300, 5, 2).contains("“"));
  // Through the mouse, as a user hovers the tile.
  auto* heat = tab.plots()[0];
  heat->replot(QCustomPlot::rpImmediateRefresh);
  auto* map = tab.colorMap(128);
  double kx = 0, qy = 0;
  map->data()->cellToCoord(0, 2, &kx, &qy);
  const QPointF pos(map->keyAxis()->coordToPixel(kx), map->valueAxis()->coordToPixel(qy));
  QMouseEvent move(QEvent::MouseMove, pos, heat->mapToGlobal(pos), Qt::NoButton, Qt::NoButton,
                   Qt::NoModifier);
  QApplication::sendEvent(heat, &move);
  EXPECT_EQ(tab.hoverText(), t);
}

TEST(HfImport, RunsMenuImportsAFolderAndShowsTheEnginesErrors) {
  const QString db = tmpPath("window_hf_import.db");
  for (const char* x : {"", "-wal", "-shm"}) fs::remove(db.toStdString() + x);
  ctx::remove_tree(tmpPath("window_hf_import.runs").toStdString());
  MainWindow w(db);
  QAction* action = nullptr;
  for (auto* a : w.findChildren<QAction*>())
    if (a->text() == "&Import Hugging Face model…") action = a;
  ASSERT_NE(action, nullptr);
  ASSERT_TRUE(
      waitFor([&] { return w.bannerText().contains("quickstart"); }, 10000));  // read, empty

  int done = 0;
  bool ok = false;
  QString message;
  QObject::connect(&w, &MainWindow::importFinished, [&](bool o, const QString& m) {
    ++done;
    ok = o;
    message = m;
  });
  w.importHfModel(fixtureFolder("llama-gqa"));
  ASSERT_TRUE(waitFor([&] { return done == 1; }));
  ASSERT_TRUE(ok) << message.toStdString();
  ASSERT_TRUE(waitFor([&] { return w.browser()->visibleRows() == 1; }, 10000));
  auto* m = w.browser()->model();
  const int64_t run = m->runAt(0);
  EXPECT_EQ(m->data(m->index(0, RunTableModel::Method), Qt::DisplayRole).toString(), "pretrained");
  EXPECT_EQ(m->data(m->index(0, RunTableModel::BaseModel), Qt::DisplayRole).toString(),
            "llama-gqa");
  EXPECT_TRUE(waitFor([&] { return w.browser()->selectedRuns() == QVector<qint64>{run}; }, 5000));
  EXPECT_TRUE(w.bannerText().isEmpty()) << w.bannerText().toStdString();  // no longer empty

  // A damaged folder: the engine's own line, in the banner; nothing stored.
  const QString truncated = copyFixture("llama-gqa", "hf_import_truncated");
  ASSERT_TRUE(QFile::resize(truncated + "/model.safetensors", 100000));
  w.importHfModel(truncated);
  ASSERT_TRUE(waitFor([&] { return done == 2; }));
  EXPECT_FALSE(ok);
  EXPECT_TRUE(message.startsWith(truncated + "/model.safetensors: ")) << message.toStdString();
  EXPECT_TRUE(w.bannerText().contains("run past the end of the data section"))
      << w.bannerText().toStdString();
  QApplication::processEvents();
  EXPECT_EQ(w.browser()->visibleRows(), 1);
}
