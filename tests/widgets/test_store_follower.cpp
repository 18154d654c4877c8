// The live follower: rows written by another process after it started arrive, incrementally
// (only points after the last step seen), and a resume that rewrites points is read whole.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QSignalSpy>

#include <filesystem>

#include "widgets/data_cache.h"
#include "widgets/store_follower.h"

using namespace ctx;
using namespace ctx::gui;

namespace {

template <class F>
bool wait_for(F pred, int ms = 10000) {
  QElapsedTimer t;
  t.start();
  while (!pred() && t.elapsed() < ms) QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
  return pred();
}

// Runs `fn` in a child process (another writer, as a training run is) and waits for it.
template <class F>
void in_other_process(F fn) {
  const pid_t pid = fork();
  if (pid == 0) {
    try {
      fn();
    } catch (...) {
      _exit(1);
    }
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace

TEST(StoreFollower, PicksUpRowsWrittenByAnotherProcess) {
  const std::string path = std::string(CTXLAB_TEST_TMP) + "/widgets_follower.db";
  for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path + s);
  int64_t run = 0;
  {
    store::RunStore db(path);
    store::NewRun r;
    r.name = "first";
    run = db.create_run(r);
    db.log_metrics(run, 1, {{"loss", 5.0}});
  }
  DataCache cache;
  QObject owner;
  auto* f = startFollower(QString::fromStdString(path), &owner, 50);
  QObject::connect(f, &StoreFollower::summariesReady, &cache, &DataCache::applySummaries);
  QObject::connect(f, &StoreFollower::detailsReady, &cache, &DataCache::applyDetails);
  QObject::connect(&cache, &DataCache::watchedChanged, f, &StoreFollower::setWatched);
  ASSERT_TRUE(wait_for([&] { return cache.runIds().size() == 1; }));
  cache.setWatched({run});
  ASSERT_TRUE(wait_for([&] { return cache.detail(run) && cache.detail(run)->series.count("loss"); }));
  EXPECT_EQ(cache.detail(run)->series.at("loss").step, (std::vector<double>{1}));

  // Another process appends points, an evaluation, an artifact and a second run.
  int64_t second = 0;
  in_other_process([&] {
    store::RunStore db(path);
    for (int s = 2; s <= 4; ++s) db.log_metrics(run, s, {{"loss", 5.0 - s}});
    store::EvalRecord e;
    e.task = "ppl";
    e.mode = "nonoverlap";
    e.x = 256;
    e.metric = "ppl";
    e.value = 7.5;
    db.record_eval(run, e);
    db.put_artifact(run, store::make_f32_artifact("position_loss/nonoverlap/4", 4, {1, 2, 3, 4}));
    store::NewRun r;
    r.name = "second";
    db.create_run(r);
  });
  ASSERT_TRUE(wait_for([&] { return cache.runIds().size() == 2; }));
  second = cache.runIds().front();
  EXPECT_EQ(cache.summary(second)->run.name, "second");
  ASSERT_TRUE(wait_for([&] {
    const auto* d = cache.detail(run);
    return d && d->series.at("loss").step.size() == 4 && !d->evals.empty() && d->blob("position_loss/nonoverlap/4");
  }));
  const auto* d = cache.detail(run);
  // Incremental: each step once, in order.
  EXPECT_EQ(d->series.at("loss").step, (std::vector<double>{1, 2, 3, 4}));
  EXPECT_EQ(d->series.at("loss").value, (std::vector<double>{5, 3, 2, 1}));
  EXPECT_DOUBLE_EQ(d->evals.front().value, 7.5);
  EXPECT_EQ(store::artifact_as_f32(*d->blob("position_loss/nonoverlap/4")), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_DOUBLE_EQ(cache.summary(run)->latest.at("loss").value, 1.0);

  // A resume truncates after its checkpoint and rewrites: the follower reads the run whole.
  in_other_process([&] {
    store::RunStore db(path);
    db.mark_running(run, getpid(), store::host_name(), "cpu");
    db.truncate_metrics_after(run, 2);
    db.log_metrics(run, 3, {{"loss", 9.0}});
  });
  ASSERT_TRUE(wait_for([&] {
    const auto& s = cache.detail(run)->series.at("loss");
    return s.step.size() == 3 && s.value.back() == 9.0;
  }));
  EXPECT_EQ(cache.detail(run)->series.at("loss").step, (std::vector<double>{1, 2, 3}));
}

TEST(StoreFollower, ForeignFileFailsWithItsName) {
  const std::string path = std::string(CTXLAB_TEST_TMP) + "/widgets_foreign.db";
  {
    FILE* fp = std::fopen(path.c_str(), "wb");
    std::fputs("this is not a database, just text that happens to be long enough to look like a header\n", fp);
    std::fclose(fp);
  }
  const auto before = std::filesystem::file_size(path);
  QObject owner;
  auto* f = startFollower(QString::fromStdString(path), &owner, 50);
  QSignalSpy failed(f, &StoreFollower::failed);
  ASSERT_TRUE(wait_for([&] { return failed.count() > 0; }));
  EXPECT_TRUE(failed.at(0).at(0).toString().contains("widgets_foreign.db"));
  EXPECT_EQ(std::filesystem::file_size(path), before);  // untouched
}
