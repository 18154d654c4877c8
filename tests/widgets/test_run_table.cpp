// The run browser's model over a fixture store read through the real follower: rows, status,
// key results, filtering (words, fields, config keys, studies), typed sorting, and edits.
#include <gtest/gtest.h>

#include <QColor>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QSignalSpy>

#include <filesystem>

#include <unistd.h>

#include "widgets/data_cache.h"
#include "widgets/run_filter.h"
#include "widgets/run_table_model.h"
#include "widgets/store_follower.h"

using namespace ctx;
using namespace ctx::gui;

namespace {

std::string fixture_path(const std::string& name) {
  const std::string p = std::string(CTXLAB_TEST_TMP) + "/widgets_" + name + ".db";
  for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(p + s);
  return p;
}

int64_t add_run(store::RunStore& db, const std::string& name, const std::string& method, const std::string& config,
                store::RunStatus status, std::optional<int64_t> study = std::nullopt) {
  store::NewRun r;
  r.name = name;
  r.method = method;
  r.config_json = config;
  r.status = status;
  r.study = study;
  return db.create_run(r);
}

void add_ppl(store::RunStore& db, int64_t run, double length, double value) {
  store::EvalRecord e;
  e.task = "ppl";
  e.mode = "nonoverlap";
  e.x = length;
  e.metric = "ppl";
  e.value = value;
  db.record_eval(run, e);
}

// Waits (processing events) until `pred` holds or 10 s pass.
template <class F>
bool wait_for(F pred) {
  QElapsedTimer t;
  t.start();
  while (!pred() && t.elapsed() < 10000) QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
  return pred();
}

struct Fixture {
  std::string path;
  int64_t base = 0, yarn = 0, pi = 0, broken = 0;
  explicit Fixture(const std::string& name) : path(fixture_path(name)) {
    store::RunStore db(path);
    const auto study = db.create_study("ext");
    base = add_run(db, "quickstart", "rope + contiguous",
                   R"({"train":{"seq_len":128,"steps":300},"rope_scaling":null,"model":{"position":{"type":"rope"}}})",
                   store::RunStatus::Finished);
    yarn = add_run(db, "yarn-x8", "rope yarn x8 + contiguous",
                   R"({"train":{"seq_len":512,"steps":120},"rope_scaling":{"rope_type":"yarn","factor":8.0},"model":{"position":{"type":"rope"}}})",
                   store::RunStatus::Finished, study);
    pi = add_run(db, "pi-x4", "rope linear x4 + contiguous",
                 R"({"train":{"seq_len":512,"steps":120},"rope_scaling":{"rope_type":"linear","factor":4},"model":{"position":{"type":"rope"}}})",
                 store::RunStatus::Running, study);
    broken = add_run(db, "diverged-one", "alibi + contiguous",
                     R"({"train":{"seq_len":128,"steps":50},"model":{"position":{"type":"alibi"}}})", store::RunStatus::Diverged);
    db.log_metrics(base, 300, {{"loss", 1.25}});
    db.log_metrics(yarn, 120, {{"loss", 1.5}});
    db.log_metrics(pi, 60, {{"loss", 2.0}});
    add_ppl(db, base, 128, 2.64);
    add_ppl(db, base, 1024, 4.60);
    add_ppl(db, yarn, 512, 3.1);
    add_ppl(db, yarn, 2048, 3.9);
    add_ppl(db, pi, 512, 3.3);
    db.add_tag(yarn, "best");
    db.set_note(pi, "lr too high?");
  }
};

}  // namespace

TEST(RunTable, RowsStatusAndKeyResultsFromTheStore) {
  Fixture fx("table_rows");
  DataCache cache;
  QObject owner;
  auto* f = startFollower(QString::fromStdString(fx.path), &owner, 50);
  QObject::connect(f, &StoreFollower::summariesReady, &cache, &DataCache::applySummaries);
  RunTableModel model(&cache);
  ASSERT_TRUE(wait_for([&] { return model.rowCount() == 4; }));
  // Newest first.
  EXPECT_EQ(model.runAt(0), fx.broken);
  EXPECT_EQ(model.runAt(3), fx.base);
  const int yr = model.rowOf(fx.yarn);
  auto cell = [&](int row, int col) { return model.data(model.index(row, col), Qt::DisplayRole).toString(); };
  EXPECT_EQ(cell(yr, RunTableModel::Status), "finished");
  EXPECT_EQ(cell(yr, RunTableModel::Study), "ext");
  EXPECT_EQ(cell(yr, RunTableModel::Loss), "1.5");
  EXPECT_EQ(cell(yr, RunTableModel::PplTrain), "3.1");       // at train.seq_len 512
  EXPECT_EQ(cell(yr, RunTableModel::PplLongest), "3.9 @2048");
  EXPECT_EQ(cell(yr, RunTableModel::Tags), "best");
  EXPECT_EQ(cell(model.rowOf(fx.base), RunTableModel::PplTrain), "2.64");
  EXPECT_EQ(cell(model.rowOf(fx.pi), RunTableModel::Status), "running");
  EXPECT_EQ(cell(model.rowOf(fx.pi), RunTableModel::Step), "60 / 120");  // running: step of total
  EXPECT_EQ(cell(model.rowOf(fx.broken), RunTableModel::Status), "diverged");
  EXPECT_EQ(model.data(model.index(model.rowOf(fx.broken), RunTableModel::Status), Qt::ForegroundRole).value<QColor>(),
            statusColor(store::RunStatus::Diverged));
}

TEST(RunTable, DeviceOfARunOnSeveralGpusReadsCudaTimesN) {
  const auto path = fixture_path("table_device");
  int64_t wide = 0, narrow = 0;
  {
    store::RunStore db(path);
    // As a torchrun launch leaves it: rank 0 created the run and marked it running on "cuda × 2".
    wide = add_run(db, "wide", "rope + contiguous", "{}", store::RunStatus::Queued);
    db.mark_running(wide, static_cast<int64_t>(::getpid()), store::host_name(), "cuda \u00d7 2");
    narrow = add_run(db, "narrow", "rope + contiguous", "{}", store::RunStatus::Queued);
    db.mark_running(narrow, static_cast<int64_t>(::getpid()), store::host_name(), "cpu (2 threads)");
    db.set_status(narrow, store::RunStatus::Failed, "out of memory");
  }
  DataCache cache;
  QObject owner;
  auto* f = startFollower(QString::fromStdString(path), &owner, 50);
  QObject::connect(f, &StoreFollower::summariesReady, &cache, &DataCache::applySummaries);
  RunTableModel model(&cache);
  ASSERT_TRUE(wait_for([&] { return model.rowCount() == 2; }));
  auto cell = [&](int64_t run, int col, int role = Qt::DisplayRole) {
    return model.data(model.index(model.rowOf(run), col), role).toString();
  };
  EXPECT_EQ(model.headerData(RunTableModel::Device, Qt::Horizontal, Qt::DisplayRole).toString(), "Device");
  EXPECT_EQ(cell(wide, RunTableModel::Device), QString::fromUtf8("cuda \u00d7 2"));
  EXPECT_EQ(cell(narrow, RunTableModel::Device), "cpu (2 threads)");
  // The status's tooltip says it too (the column is hidden by default), with the error if any.
  EXPECT_EQ(cell(wide, RunTableModel::Status, Qt::ToolTipRole), QString::fromUtf8("on cuda \u00d7 2"));
  EXPECT_EQ(cell(narrow, RunTableModel::Status, Qt::ToolTipRole), "on cpu (2 threads)\nout of memory");
}

TEST(RunTable, FilterSortAndStudy) {
  Fixture fx("table_filter");
  DataCache cache;
  QObject owner;
  auto* f = startFollower(QString::fromStdString(fx.path), &owner, 50);
  QObject::connect(f, &StoreFollower::summariesReady, &cache, &DataCache::applySummaries);
  RunTableModel model(&cache);
  RunFilterProxy proxy;
  proxy.setSourceModel(&model);
  ASSERT_TRUE(wait_for([&] { return model.rowCount() == 4; }));
  auto ids = [&] {
    std::vector<int64_t> out;
    for (int r = 0; r < proxy.rowCount(); ++r) out.push_back(proxy.index(r, 0).data(RunTableModel::RunIdRole).toLongLong());
    std::sort(out.begin(), out.end());
    return out;
  };
  auto expect = [&](const QString& filter, std::vector<int64_t> want) {
    proxy.setFilterText(filter);
    std::sort(want.begin(), want.end());
    EXPECT_EQ(ids(), want) << filter.toStdString();
  };
  expect("", {fx.base, fx.yarn, fx.pi, fx.broken});
  expect("yarn", {fx.yarn});
  expect("YARN", {fx.yarn});
  expect("status:finished", {fx.base, fx.yarn});
  expect("status:running", {fx.pi});
  expect("tag:best", {fx.yarn});
  expect("note:lr", {fx.pi});
  expect("study:ext", {fx.yarn, fx.pi});
  expect("rope_scaling.factor=8", {fx.yarn});          // 8.0 in the config, 8 typed
  expect("rope_scaling.factor=4.0", {fx.pi});          // 4 in the config, 4.0 typed
  expect("train.seq_len>200", {fx.yarn, fx.pi});
  expect("train.seq_len<200 status:finished", {fx.base});
  expect("model.position.type=alibi", {fx.broken});
  expect("rope_scaling.rope_type=linear", {fx.pi});
  expect("nosuchkey=1", {});
  proxy.setFilterText("");
  proxy.setStudy(cache.summary(fx.yarn)->run.study.value());
  EXPECT_EQ(ids(), (std::vector<int64_t>{fx.yarn, fx.pi}));
  proxy.setStudy(0);

  // Numbers sort as numbers, blanks last: loss 1.25 < 1.5 < 2.0, the diverged run has none.
  proxy.sort(RunTableModel::Loss, Qt::AscendingOrder);
  std::vector<int64_t> order;
  for (int r = 0; r < proxy.rowCount(); ++r) order.push_back(proxy.index(r, 0).data(RunTableModel::RunIdRole).toLongLong());
  EXPECT_EQ(order, (std::vector<int64_t>{fx.base, fx.yarn, fx.pi, fx.broken}));
  proxy.sort(RunTableModel::PplLongest, Qt::AscendingOrder);  // 3.3 @512 < 3.9 @2048 < 4.6 @1024
  order.clear();
  for (int r = 0; r < 3; ++r) order.push_back(proxy.index(r, 0).data(RunTableModel::RunIdRole).toLongLong());
  EXPECT_EQ(order, (std::vector<int64_t>{fx.pi, fx.yarn, fx.base}));
}

TEST(RunTable, EditsEmitTagsAndNote) {
  Fixture fx("table_edit");
  DataCache cache;
  QObject owner;
  auto* f = startFollower(QString::fromStdString(fx.path), &owner, 50);
  QObject::connect(f, &StoreFollower::summariesReady, &cache, &DataCache::applySummaries);
  RunTableModel model(&cache);
  ASSERT_TRUE(wait_for([&] { return model.rowCount() == 4; }));
  QSignalSpy tags(&model, &RunTableModel::tagsEdited);
  QSignalSpy note(&model, &RunTableModel::noteEdited);
  const int row = model.rowOf(fx.base);
  EXPECT_TRUE(model.flags(model.index(row, RunTableModel::Tags)) & Qt::ItemIsEditable);
  EXPECT_FALSE(model.flags(model.index(row, RunTableModel::Name)) & Qt::ItemIsEditable);
  model.setData(model.index(row, RunTableModel::Tags), " a, b ,a,, c", Qt::EditRole);
  ASSERT_EQ(tags.count(), 1);
  EXPECT_EQ(tags.at(0).at(0).toLongLong(), fx.base);
  EXPECT_EQ(tags.at(0).at(1).toStringList(), (QStringList{"a", "b", "c"}));
  model.setData(model.index(row, RunTableModel::Note), "check the lr", Qt::EditRole);
  ASSERT_EQ(note.count(), 1);
  EXPECT_EQ(note.at(0).at(1).toString(), "check the lr");
}

TEST(RunFilter, ParsesTerms) {
  auto f = parseRunFilter("yarn status:Running a.b=3 c.d>2.5 e<1");
  ASSERT_EQ(f.terms.size(), 5u);
  EXPECT_EQ(f.terms[0].kind, FilterTerm::Word);
  EXPECT_EQ(f.terms[1].kind, FilterTerm::Field);
  EXPECT_EQ(f.terms[1].text, "running");
  EXPECT_EQ(f.terms[2].kind, FilterTerm::KeyEq);
  EXPECT_EQ(f.terms[2].field, "a.b");
  EXPECT_EQ(f.terms[3].kind, FilterTerm::KeyGreater);
  EXPECT_DOUBLE_EQ(f.terms[3].number, 2.5);
  EXPECT_EQ(f.terms[4].kind, FilterTerm::KeyLess);
  const auto cfg = nlohmann::json::parse(R"({"a":{"b":3,"l":[128,256]}})");
  ASSERT_NE(configAt(cfg, "a.b"), nullptr);
  EXPECT_EQ(configAt(cfg, "a.b")->get<int>(), 3);
  EXPECT_EQ(configAt(cfg, "a.x"), nullptr);
  EXPECT_EQ(configAt(cfg, "a.b.c"), nullptr);
  store::RunSummary s;
  EXPECT_TRUE(runMatches(parseRunFilter("a.l=256"), s, cfg, ""));  // arrays: any element
  EXPECT_FALSE(runMatches(parseRunFilter("a.l=512"), s, cfg, ""));
  EXPECT_TRUE(runMatches(parseRunFilter("a.l>200"), s, cfg, ""));
}
