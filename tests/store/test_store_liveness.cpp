// RunStore under live use: interrupted-run detection, a follower reading while a trainer writes,
// two writers at once, and a writer killed in the middle of a transaction.

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <filesystem>
#include <string>
#include <thread>

#include "store/run_store.h"

using namespace ctx::store;

namespace {

std::string temp_db() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string p = std::string(CTXLAB_TEST_TMP) + "/store_" + info->test_suite_name() + "_" +
                        info->name() + ".db";
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(p + suffix);
  return p;
}

int64_t new_run(RunStore& s, const std::string& name = "run") {
  NewRun n;
  n.name = name;
  return s.create_run(n);
}

// The pid of a process that has exited and been reaped.
pid_t dead_pid() {
  const pid_t child = fork();
  if (child == 0) _exit(0);
  int status = 0;
  waitpid(child, &status, 0);
  return child;
}

}  // namespace

TEST(RunStoreReconcile, DeadProcessOnThisHostBecomesInterrupted) {
  RunStore s(temp_db());
  const int64_t id = new_run(s);
  const pid_t pid = dead_pid();
  s.mark_running(id, pid, host_name(), "cpu");
  EXPECT_EQ(s.list_runs()[0].status, RunStatus::Running);  // listing never reconciles by itself
  EXPECT_EQ(s.reconcile_interrupted(1e9), (std::vector<int64_t>{id}));
  const RunRecord r = s.get_run(id);
  EXPECT_EQ(r.status, RunStatus::Interrupted);
  EXPECT_EQ(r.error,
            "process " + std::to_string(pid) + " on " + host_name() + " stopped without finishing");
  EXPECT_GT(r.ended, 0);
  EXPECT_TRUE(s.reconcile_interrupted(1e9).empty());
}

TEST(RunStoreReconcile, LiveProcessWithFreshHeartbeatStaysRunning) {
  RunStore s(temp_db());
  const int64_t mine = new_run(s, "mine");
  s.mark_running(mine, getpid(), host_name(), "cpu");
  s.heartbeat(mine);
  // On another host a pid means nothing here: only the heartbeat counts.
  const int64_t remote = new_run(s, "remote");
  s.mark_running(remote, dead_pid(), "some-other-host", "cuda:0");
  const int64_t queued = new_run(s, "queued");
  EXPECT_TRUE(s.reconcile_interrupted(120).empty());
  EXPECT_EQ(s.get_run(mine).status, RunStatus::Running);
  EXPECT_EQ(s.get_run(remote).status, RunStatus::Running);
  EXPECT_EQ(s.get_run(queued).status, RunStatus::Queued);
}

TEST(RunStoreReconcile, StaleHeartbeatBecomesInterruptedAndAHeartbeatRevivesIt) {
  RunStore s(temp_db());
  const int64_t id = new_run(s);
  s.mark_running(id, getpid(), "some-other-host", "cpu");
  const int64_t done = new_run(s, "done");
  s.set_status(done, RunStatus::Finished);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(s.reconcile_interrupted(0.01), (std::vector<int64_t>{id}));
  RunRecord r = s.get_run(id);
  EXPECT_EQ(r.status, RunStatus::Interrupted);
  EXPECT_EQ(r.error.rfind("no heartbeat for ", 0), 0u) << r.error;
  EXPECT_GT(r.ended, 0);
  EXPECT_EQ(s.get_run(done).status, RunStatus::Finished);

  s.heartbeat(id);  // the owner was only slow
  r = s.get_run(id);
  EXPECT_EQ(r.status, RunStatus::Running);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.ended, 0);

  // Interruptions for other reasons are not undone by a late heartbeat.
  s.set_status(id, RunStatus::Interrupted, "stopped by the user");
  s.heartbeat(id);
  EXPECT_EQ(s.get_run(id).status, RunStatus::Interrupted);
  EXPECT_EQ(s.get_run(id).error, "stopped by the user");
}

TEST(RunStoreReconcile, ReadOnlyStoreDoesNotWrite) {
  const std::string path = temp_db();
  RunStore w(path);
  const int64_t id = new_run(w);
  w.mark_running(id, dead_pid(), host_name(), "cpu");
  RunStore r(path, true);
  EXPECT_THROW(r.reconcile_interrupted(), StoreError);
  EXPECT_EQ(w.get_run(id).status, RunStatus::Running);
}

TEST(RunStoreConcurrency, FollowerSeesEveryStepOnceInOrderWhileTrainerWrites) {
  const std::string path = temp_db();
  constexpr int64_t kSteps = 2000, kBatch = 25;
  int64_t run = 0;
  {
    RunStore setup(path);
    run = new_run(setup);
  }
  RunStore follower(path, true);
  std::exception_ptr writer_error;
  std::atomic<bool> writer_done{false};
  std::thread writer([&] {
    try {
      RunStore trainer(path);
      trainer.mark_running(run, getpid(), host_name(), "cpu");
      for (int64_t start = 0; start < kSteps; start += kBatch) {
        trainer.transaction([&] {
          for (int64_t step = start; step < start + kBatch; ++step) {
            trainer.log_metrics(run, step, {{"loss", 1.0 / (step + 1)}, {"lr", 1e-3}});
          }
          trainer.heartbeat(run);
        });
        std::this_thread::sleep_for(std::chrono::microseconds(500));
      }
      trainer.set_status(run, RunStatus::Finished);
    } catch (...) {
      writer_error = std::current_exception();
    }
    writer_done = true;
  });

  int64_t last = -1;
  int polls_with_data = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (last < kSteps - 1 && std::chrono::steady_clock::now() < deadline) {
    const bool finished = writer_done;
    const auto pts = follower.metric_series(run, "loss", last);
    bool broken = false;
    for (const auto& p : pts) {
      if (p.step != last + 1) {
        ADD_FAILURE() << "after step " << last << " came " << p.step;
        broken = true;  // no ASSERT here: the writer thread must still be joined
        break;
      }
      EXPECT_DOUBLE_EQ(p.value, 1.0 / (p.step + 1));
      last = p.step;
    }
    if (broken) break;
    if (!pts.empty()) {
      ++polls_with_data;
      // Each batch is one transaction: a reader never sees part of one.
      EXPECT_EQ((last + 1) % kBatch, 0) << "saw half a transaction";
    }
    if (finished && pts.empty()) break;
    follower.runs_changed_since(0);
    follower.latest_metrics(run);
  }
  writer.join();
  if (writer_error) std::rethrow_exception(writer_error);
  EXPECT_EQ(last, kSteps - 1);
  EXPECT_GE(polls_with_data, 2);
  EXPECT_EQ(follower.get_run(run).status, RunStatus::Finished);
  EXPECT_EQ(follower.latest_metrics(run).at("loss").step, kSteps - 1);
}

TEST(RunStoreConcurrency, TwoWritersAndAReaderNeverHitALockedDatabase) {
  const std::string path = temp_db();
  int64_t runs[2] = {};
  {
    RunStore setup(path);
    runs[0] = new_run(setup, "a");
    runs[1] = new_run(setup, "b");
  }
  constexpr int64_t kSteps = 400;
  std::exception_ptr errors[3];
  std::atomic<int> writers_left{2};
  std::thread threads[3];
  for (int w = 0; w < 2; ++w) {
    threads[w] = std::thread([&, w] {
      try {
        RunStore s(path);
        for (int64_t step = 0; step < kSteps; ++step) {
          s.log_metrics(runs[w], step, {{"loss", 1.0}});
          if (step % 50 == 0) s.heartbeat(runs[w]);
        }
      } catch (...) {
        errors[w] = std::current_exception();
      }
      --writers_left;
    });
  }
  threads[2] = std::thread([&] {
    try {
      RunStore s(path, true);
      while (writers_left > 0) {
        s.list_runs();
        s.metric_series(runs[0], "loss");
      }
    } catch (...) {
      errors[2] = std::current_exception();
    }
  });
  for (auto& t : threads) t.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  RunStore s(path, true);
  for (int64_t r : runs) EXPECT_EQ(s.metric_series(r, "loss").size(), static_cast<size_t>(kSteps));
}

TEST(RunStoreCrash, WriterKilledMidTransactionLeavesAValidStore) {
  const std::string path = temp_db();
  int64_t run = 0;
  {
    RunStore setup(path);
    run = new_run(setup);
  }
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The child owns its own connection; nothing of the parent's SQLite state is used here.
    close(fds[0]);
    try {
      RunStore s(path);
      s.mark_running(run, getpid(), host_name(), "cpu");
      for (int64_t step = 0; step < 100; ++step) s.log_metrics(run, step, {{"loss", 1.0}});
      s.transaction([&] {
        for (int64_t step = 100; step < 200; ++step) s.log_metrics(run, step, {{"loss", 2.0}});
        s.put_artifact(run, make_f32_artifact("half", 0, {1.f, 2.f}));
        const char ready = 'x';
        if (write(fds[1], &ready, 1) != 1) _exit(3);
        pause();  // killed here, inside the transaction
      });
    } catch (...) {
      _exit(2);
    }
    _exit(1);
  }
  close(fds[1]);
  char got = 0;
  ASSERT_EQ(read(fds[0], &got, 1), 1) << "child failed before its transaction";
  close(fds[0]);
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));

  RunStore s(path);
  const auto pts = s.metric_series(run, "loss");
  ASSERT_EQ(pts.size(), 100u);
  EXPECT_EQ(pts.back().step, 99);
  EXPECT_FALSE(s.artifact(run, "half").has_value());
  EXPECT_EQ(s.latest_metrics(run).at("loss").step, 99);
  EXPECT_EQ(s.reconcile_interrupted(1e9), (std::vector<int64_t>{run}));
  s.log_metrics(run, 100, {{"loss", 3.0}});  // and it takes writes again
  SQLite::Database raw(path, SQLite::OPEN_READONLY);
  EXPECT_EQ(raw.execAndGet("PRAGMA integrity_check").getString(), "ok");
  SQLite::Statement fk(raw, "PRAGMA foreign_key_check");
  EXPECT_FALSE(fk.executeStep()) << "dangling foreign key";
}
