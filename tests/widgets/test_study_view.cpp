// The Studies tab against stores written through the store API as `ctxlab-cli study run` writes
// them: each check of the shipped study file shows held / not held / not run yet from the outcomes
// stored for that study (another study's outcome on the same base is ignored), and the figure has
// one line per run of the study with exactly its stored points: perplexity against length (log
// axes, training lengths marked), against the scale L / L0 (E2-LLM), retrieval accuracy against
// position at the file's length (CREAM). A file not run yet offers "Run study" with its JSON, and
// a study run through the window's queue by the real ctxlab-cli shows its outcomes and figure.
#include <gtest/gtest.h>
#include <unistd.h>

#include <QPushButton>
#include <QTableWidget>
#include <filesystem>
#include <map>

#include "app/main_window.h"
#include "app/run_queue.h"
#include "store/study_tags.h"
#include "store_fixtures.h"
#include "widgets/study_view.h"

using namespace ctx;
using namespace ctx::gui;
using nlohmann::json;

namespace {

std::string store_path(const std::string& name) {
  const std::string p =
      std::string(CTXLAB_TEST_TMP) + "/study-view-" + name + "-" + std::to_string(getpid()) + ".db";
  for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(p + s);
  return p;
}

int64_t add_run(store::RunStore& db, const std::string& name, int64_t seq_len,
                std::optional<int64_t> parent, std::optional<int64_t> study) {
  store::NewRun r;
  r.name = name;
  r.config_json = json{{"name", name}, {"train", {{"seq_len", seq_len}}}}.dump();
  r.parent = parent;
  r.study = study;
  r.status = store::RunStatus::Finished;
  return db.create_run(r);
}

void add_ppl(store::RunStore& db, int64_t run, const std::string& mode,
             const std::map<double, double>& ppl) {
  for (const auto& [L, p] : ppl)
    db.record_eval(run, storefix::record("ppl", mode, L, -1, "ppl", p));
}

void add_outcome(store::RunStore& db, int64_t run, const std::string& study_name, int index,
                 bool held, int64_t study_id, const std::string& detail) {
  db.record_eval(run, storefix::record("study_check", study_name, index, -1, "held", held ? 1 : 0,
                                       {{"description", "check " + std::to_string(index)},
                                        {"detail", detail},
                                        {"claim", "c"},
                                        {"study_id", study_id}}));
}

// A view over a live cache of `path`, whose wish for runs is granted as the window grants it.
struct ViewOf {
  storefix::Live live;
  StudyView view;
  explicit ViewOf(const std::string& path) : live(path), view(&live.cache, CTXLAB_STUDIES) {
    QObject::connect(&view, &StudyView::runsWanted, &live.cache, &DataCache::setWatched);
  }
  bool loaded(size_t runs) {
    return storefix::waitFor(
        [&] { return live.cache.runIds().size() == runs && !live.cache.studies().empty(); });
  }
  bool settled() {
    const bool ok =
        storefix::waitFor([&] { return !view.shownRuns().empty() && !view.waitingForData(); });
    view.redrawNow();
    return ok;
  }
};

std::vector<std::pair<double, double>> points(QCPGraph* g) {
  std::vector<std::pair<double, double>> out;
  for (auto it = g->data()->constBegin(); it != g->data()->constEnd(); ++it)
    out.emplace_back(it->key, it->value);
  return out;
}

std::vector<std::pair<double, double>> expected(const std::map<double, double>& m, double div = 1) {
  std::vector<std::pair<double, double>> out;
  for (const auto& [x, y] : m) out.emplace_back(x / div, y);
  return out;
}

QStringList item_texts(QCustomPlot* plot) {
  QStringList out;
  for (int i = 0; i < plot->itemCount(); ++i)
    if (auto* t = qobject_cast<QCPItemText*>(plot->item(i)); t && !t->text().isEmpty())
      out << t->text();
  return out;
}

const std::map<double, double> kBase = {{128, 2.6}, {256, 3.0}, {512, 3.9}, {1024, 4.6}};
const std::map<double, double> kPi = {{128, 2.7}, {256, 2.8}, {512, 2.9}, {1024, 4.4}};
const std::map<double, double> kYarn = {{128, 2.5}, {256, 2.45}, {512, 2.42}, {1024, 2.55}};

}  // namespace

TEST(StudyView, ShowsEachChecksStoredOutcomeAndOneLinePerRunWithItsPoints) {
  const auto path = store_path("ropepiyarn");
  int64_t study = 0, base = 0, pi = 0, yarn = 0;
  {
    store::RunStore db(path);
    // The base was trained by an earlier study (reused, so outside this one); pi and yarn start
    // from it.
    base = add_run(db, "quickstart", 128, std::nullopt, db.create_study("quickstart"));
    study = db.create_study("rope-pi-yarn", "RoPE blows up; PI and YaRN stay bounded");
    pi = add_run(db, "pi", 512, base, study);
    yarn = add_run(db, "yarn", 512, base, study);
    const int64_t other = add_run(db, "unrelated", 128, std::nullopt, std::nullopt);
    add_ppl(db, base, "nonoverlap", kBase);
    add_ppl(db, pi, "nonoverlap", kPi);
    add_ppl(db, yarn, "nonoverlap", kYarn);
    add_ppl(db, yarn, "sliding", {{128, 2.0}, {1024, 2.1}});  // another mode: not in this figure
    add_ppl(db, other, "nonoverlap", {{128, 9.0}});
    add_outcome(db, base, "rope-pi-yarn", 0, true, study, "4.6 vs 2.6 (1.77x)");
    add_outcome(db, base, "rope-pi-yarn", 1, false, study, "512: 1.07x; 1024: 1.63x");
    add_outcome(db, base, "rope-pi-yarn", 2, true, study, "512: 0.97x; 1024: 1.02x");
    add_outcome(db, base, "rope-pi-yarn", 3, true, study + 100, "another study's outcome");
  }
  ViewOf v(path);
  ASSERT_TRUE(v.loaded(4));
  ASSERT_TRUE(v.view.selectFile("rope-pi-yarn"));
  ASSERT_TRUE(v.settled());
  EXPECT_EQ(v.view.shownStudy(), study);

  // The runs, base first, in the file's order.
  const auto& runs = v.view.shownRuns();
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].run, base);
  EXPECT_EQ(runs[0].role, "base");
  EXPECT_EQ(runs[1].run, pi);
  EXPECT_EQ(runs[2].run, yarn);

  // Checks: the file has four; the fourth has no outcome of this study.
  const auto& checks = v.view.shownChecks();
  ASSERT_EQ(checks.size(), 4u);
  EXPECT_EQ(checks[0].state, CheckState::Held);
  EXPECT_EQ(checks[1].state, CheckState::NotHeld);
  EXPECT_EQ(checks[2].state, CheckState::Held);
  EXPECT_EQ(checks[3].state, CheckState::NotRun);
  EXPECT_EQ(checks[1].detail, "512: 1.07x; 1024: 1.63x");
  EXPECT_TRUE(checks[3].description.startsWith("yarn's perplexity is at most pi's at 512, 1024"))
      << checks[3].description.toStdString();
  auto* table = v.view.checksTable();
  ASSERT_EQ(table->rowCount(), 4);
  EXPECT_EQ(table->item(0, 0)->text(), "held");
  EXPECT_EQ(table->item(1, 0)->text(), "not held");
  EXPECT_EQ(table->item(3, 0)->text(), "not run yet");
  EXPECT_EQ(table->item(0, 2)->text(), "4.6 vs 2.6 (1.77x)");

  // The figure: one line per run with its nonoverlap points, log-log, training lengths marked.
  auto* plot = v.view.plot();
  ASSERT_EQ(plot->graphCount(), 3);
  EXPECT_EQ(plot->graph(0)->name(), QString("#%1 quickstart (base)").arg(base));
  EXPECT_EQ(plot->graph(1)->name(), QString("#%1 pi").arg(pi));
  EXPECT_EQ(plot->graph(2)->name(), QString("#%1 yarn").arg(yarn));
  EXPECT_EQ(points(plot->graph(0)), expected(kBase));
  EXPECT_EQ(points(plot->graph(1)), expected(kPi));
  EXPECT_EQ(points(plot->graph(2)), expected(kYarn));
  EXPECT_EQ(plot->xAxis->scaleType(), QCPAxis::stLogarithmic);
  EXPECT_EQ(plot->yAxis->scaleType(), QCPAxis::stLogarithmic);
  const auto marks = item_texts(plot);
  EXPECT_TRUE(marks.contains("trained at 128")) << marks.join(" | ").toStdString();
  EXPECT_TRUE(marks.contains("trained at 512")) << marks.join(" | ").toStdString();
  EXPECT_TRUE(plot->emptyMessage().isEmpty());

  // The same study picked from the store's list shows the same.
  ASSERT_TRUE(v.view.selectStoreStudy(study));
  v.view.redrawNow();
  EXPECT_EQ(v.view.shownFile() ? v.view.shownFile()->name : "", "rope-pi-yarn");
  EXPECT_EQ(v.view.plot()->graphCount(), 3);
  EXPECT_EQ(v.view.shownChecks().size(), 4u);
}

// A study run again reuses its finished base, which then belongs to the first study; when no run
// of the second starts from it (runs trained from scratch), only its tag says where the outcomes
// are.
TEST(StudyView, AReusedBaseThatNoRunStartsFromIsFoundByItsTag) {
  const auto path = store_path("tagged-base");
  int64_t study = 0, base = 0, pi = 0, yarn = 0;
  {
    store::RunStore db(path);
    base = add_run(db, "quickstart", 128, std::nullopt, db.create_study("rope-pi-yarn"));
    study = db.create_study("rope-pi-yarn #2", "RoPE blows up; PI and YaRN stay bounded");
    pi = add_run(db, "pi", 512, std::nullopt, study);
    yarn = add_run(db, "yarn", 512, std::nullopt, study);
    add_ppl(db, base, "nonoverlap", kBase);
    add_ppl(db, pi, "nonoverlap", kPi);
    add_ppl(db, yarn, "nonoverlap", kYarn);
    for (int i = 0; i < 4; ++i) add_outcome(db, base, "rope-pi-yarn", i, i != 1, study, "d");
    db.add_tag(base, store::study_base_tag(study));
  }
  ViewOf v(path);
  ASSERT_TRUE(v.loaded(3));
  ASSERT_TRUE(v.view.selectStoreStudy(study));
  ASSERT_TRUE(v.settled());
  const auto& runs = v.view.shownRuns();
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].run, base);
  EXPECT_EQ(runs[0].role, "base");
  EXPECT_EQ(runs[1].run, pi);
  EXPECT_EQ(runs[2].run, yarn);
  const auto& checks = v.view.shownChecks();
  ASSERT_EQ(checks.size(), 4u);
  EXPECT_EQ(checks[0].state, CheckState::Held);
  EXPECT_EQ(checks[1].state, CheckState::NotHeld);
  EXPECT_EQ(checks[3].state, CheckState::Held);
  EXPECT_EQ(v.view.plot()->graphCount(), 3);
  EXPECT_EQ(points(v.view.plot()->graph(0)), expected(kBase));
}

TEST(StudyView, DrawsScalesForE2LlmAndRetrievalByPositionForCream) {
  const auto path = store_path("figures");
  int64_t e2 = 0, e2_base = 0, cream = 0, pose = 0, cream_base = 0;
  const std::map<double, double> e2_ppl = {{128, 5.7}, {256, 3.4}, {512, 3.6}, {1024, 4.2}};
  const std::map<double, double> kv_cream = {
      {0.1, 0.9}, {0.3, 0.6}, {0.5, 0.55}, {0.7, 0.6}, {0.9, 0.95}};
  const std::map<double, double> kv_pose = {
      {0.1, 0.85}, {0.3, 0.3}, {0.5, 0.2}, {0.7, 0.35}, {0.9, 0.9}};
  {
    store::RunStore db(path);
    const int64_t s1 = db.create_study("e2llm-scales");
    e2_base = add_run(db, "quickstart", 128, std::nullopt, s1);
    e2 = add_run(db, "e2llm", 128, e2_base, s1);
    add_ppl(db, e2_base, "nonoverlap", kBase);
    add_ppl(db, e2, "nonoverlap", e2_ppl);
    const int64_t s2 = db.create_study("cream-middle");
    cream_base = add_run(db, "passkey-base", 128, std::nullopt, s2);
    pose = add_run(db, "pose", 128, cream_base, s2);
    cream = add_run(db, "cream", 128, cream_base, s2);
    db.record_eval(cream_base, storefix::record("passkey", "greedy", 512, -1, "accuracy", 1.0));
    for (const auto& [pos, acc] : kv_cream) {
      db.record_eval(cream, storefix::record("kvretrieval", "greedy", 512, pos, "accuracy", acc));
      db.record_eval(cream, storefix::record("kvretrieval", "greedy", 256, pos, "accuracy", 1.0));
    }
    for (const auto& [pos, acc] : kv_pose)
      db.record_eval(pose, storefix::record("kvretrieval", "greedy", 512, pos, "accuracy", acc));
    add_outcome(db, cream_base, "cream-middle", 0, true, s2, "0.5833 vs 0.2833 (3 cells)");
  }
  ViewOf v(path);
  ASSERT_TRUE(v.loaded(5));

  // E2-LLM: perplexity against g = L / 128 (the file's train_length), the base beside it.
  ASSERT_TRUE(v.view.selectFile("e2llm-scales"));
  ASSERT_TRUE(v.settled());
  auto* plot = v.view.plot();
  ASSERT_EQ(plot->graphCount(), 2);
  EXPECT_EQ(points(plot->graph(0)), expected(kBase, 128));
  EXPECT_EQ(points(plot->graph(1)), expected(e2_ppl, 128));
  EXPECT_TRUE(plot->xAxis->label().startsWith("scale g = L / L0"))
      << plot->xAxis->label().toStdString();
  EXPECT_TRUE(item_texts(plot).contains("L0 = 128"));
  // Its two checks were never run in this store study.
  ASSERT_EQ(v.view.shownChecks().size(), 2u);
  EXPECT_EQ(v.view.shownChecks()[0].state, CheckState::NotRun);

  // CREAM: key-value accuracy against the asked pair's position at 512 tokens, one line per run;
  // the base has no key-value results, so its line is empty.
  ASSERT_TRUE(v.view.selectFile("cream-middle"));
  ASSERT_TRUE(v.settled());
  plot = v.view.plot();
  ASSERT_EQ(plot->graphCount(), 3);
  EXPECT_TRUE(points(plot->graph(0)).empty());
  EXPECT_TRUE(plot->graph(0)->name().endsWith("(no result)"));
  EXPECT_EQ(points(plot->graph(1)), expected(kv_pose));
  EXPECT_EQ(points(plot->graph(2)), expected(kv_cream));
  EXPECT_EQ(plot->graph(2)->name(), QString("#%1 cream").arg(cream));
  EXPECT_EQ(plot->xAxis->scaleType(), QCPAxis::stLinear);
  EXPECT_EQ(plot->yAxis->scaleType(), QCPAxis::stLinear);
  ASSERT_EQ(v.view.shownChecks().size(), 1u);
  EXPECT_EQ(v.view.shownChecks()[0].state, CheckState::Held);
}

TEST(StudyView, AFileNotRunYetOffersToRunItWithItsJson) {
  const auto path = store_path("notrun");
  {
    store::RunStore db(path);
    add_run(db, "quickstart", 128, std::nullopt, db.create_study("quickstart"));
  }
  ViewOf v(path);
  ASSERT_TRUE(v.loaded(1));
  EXPECT_GE(v.view.files().size(), 7u);
  ASSERT_TRUE(v.view.selectFile("clex-extrapolation"));
  v.view.redrawNow();
  EXPECT_EQ(v.view.shownStudy(), 0);
  ASSERT_EQ(v.view.shownChecks().size(), 2u);
  for (const auto& c : v.view.shownChecks()) EXPECT_EQ(c.state, CheckState::NotRun);
  EXPECT_EQ(v.view.plot()->graphCount(), 0);
  EXPECT_FALSE(v.view.plot()->emptyMessage().isEmpty());
  EXPECT_TRUE(v.view.headerText().contains("CLEX extrapolates past its largest training scale"));

  json asked;
  QString name, device;
  QObject::connect(&v.view, &StudyView::runRequested,
                   [&](const json& s, const QString& n, const QString& d) {
                     asked = s;
                     name = n;
                     device = d;
                   });
  v.view.deviceBox()->setCurrentIndex(v.view.deviceBox()->findData("cuda"));
  ASSERT_TRUE(v.view.runButton()->isEnabled());
  v.view.runButton()->click();
  EXPECT_EQ(name, "clex-extrapolation");
  EXPECT_EQ(device, "cuda");
  EXPECT_EQ(asked, v.view.shownFile()->json);
  EXPECT_EQ(asked["plot"]["kind"], "ppl_vs_length");
}

TEST(StudyView, AStudyRunThroughTheWindowsQueueShowsItsOutcomesAndFigure) {
  const auto path = store_path("e2e");
  auto tiny = [](int64_t steps) {
    return json{{"model", {{"layers", 1}, {"d_model", 32}, {"heads", 2}, {"max_positions", 256}}},
                {"data", {{"builtin_docs", 6}, {"builtin_doc_tokens", 500}}},
                {"train", {{"seq_len", 32}, {"batch_size", 2}, {"steps", steps}, {"warmup", 1}, {"threads", 1}}},
                {"eval", {{"lengths", {32}}, {"max_tokens", 64}}}};
  };
  json pi = tiny(2), yarn = tiny(2);
  pi["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 2}};
  yarn["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 2}, {"original_max_position_embeddings", 32}};
  const json study = {
      {"name", "tiny-e2e"},
      {"claim", "the flow works"},
      {"base", {{"config", tiny(3)}}},
      {"runs", {{{"name", "pi"}, {"config", pi}}, {{"name", "yarn"}, {"config", yarn}}}},
      {"evaluations", {{{"lengths", {32, 64}}}}},
      {"checks",
       {{{"kind", "bounded"}, {"run", "yarn"}, {"lengths", {64}}, {"reference_length", 32}, {"max_ratio", 1e6}},
        {{"kind", "blows_up"}, {"run", "pi"}, {"length", 64}, {"reference_length", 32}, {"min_ratio", 1e6}}}}};
  MainWindow w(QString::fromStdString(path));
  const int job = w.runStudy(study, "tiny-e2e", "cpu");
  ASSERT_GT(job, 0);
  const auto* j = w.queue()->job(job);
  ASSERT_TRUE(storefix::waitFor([&] { return j->state != QueueJob::Waiting && j->state != QueueJob::Running; }, 240000))
      << j->message.toStdString();
  ASSERT_EQ(j->state, QueueJob::Finished) << j->message.toStdString();
  EXPECT_EQ(j->message, "study tiny-e2e: 1 of 2 checks held");
  ASSERT_GT(j->study, 0);

  auto* view = w.studies();
  ASSERT_TRUE(storefix::waitFor([&] { return view->selectStoreStudy(j->study); }));
  ASSERT_TRUE(storefix::waitFor([&] {
    view->redrawNow();
    return view->shownRuns().size() == 3 && !view->waitingForData() && view->shownChecks().size() == 2;
  }));
  view->redrawNow();
  EXPECT_EQ(view->shownRuns().front().role, "base");
  EXPECT_EQ(view->shownChecks()[0].state, CheckState::Held);
  EXPECT_EQ(view->shownChecks()[1].state, CheckState::NotHeld);
  ASSERT_EQ(view->plot()->graphCount(), 3);
  for (int g = 0; g < 3; ++g) {
    const auto pts = points(view->plot()->graph(g));
    ASSERT_EQ(pts.size(), 2u) << view->plot()->graph(g)->name().toStdString();
    EXPECT_EQ(pts[0].first, 32);
    EXPECT_EQ(pts[1].first, 64);
  }
  // Another store opened: its study is gone from the list and from the view.
  ASSERT_TRUE(w.openStore(QString::fromStdString(store_path("e2e-other"))));
  ASSERT_TRUE(storefix::waitFor([&] { return view->shownStudy() == 0; }));
  EXPECT_TRUE(view->shownRuns().empty());
  EXPECT_EQ(view->plot()->graphCount(), 0);
}
