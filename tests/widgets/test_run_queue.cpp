// The run queue against real and fake ctxlab-cli children: the engine's own message for a bad
// config, garbage output, a killed child, one job at a time, and study jobs waiting for a base.
#include <gtest/gtest.h>

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>

#include <csignal>
#include <filesystem>

#include "app/run_queue.h"

using namespace ctx::gui;

namespace {

template <class F>
bool wait_for(F pred, int ms = 20000) {
  QElapsedTimer t;
  t.start();
  while (!pred() && t.elapsed() < ms) QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
  return pred();
}

// A stand-in for ctxlab-cli: a shell script, installed through $CTXLAB_CLI for one test.
class FakeCli {
 public:
  explicit FakeCli(const std::string& name, const std::string& body) {
    path_ = std::string(CTXLAB_TEST_TMP) + "/fake-cli-" + name + ".sh";
    QFile f(QString::fromStdString(path_));
    f.open(QIODevice::WriteOnly | QIODevice::Truncate);
    f.write(("#!/bin/sh\n" + body + "\n").c_str());
    f.close();
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all);
    old_ = qgetenv("CTXLAB_CLI");
    qputenv("CTXLAB_CLI", path_.c_str());
  }
  ~FakeCli() { qputenv("CTXLAB_CLI", old_); }

 private:
  std::string path_;
  QByteArray old_;
};

QString db_path(const std::string& name) {
  const std::string p = std::string(CTXLAB_TEST_TMP) + "/queue_" + name + ".db";
  for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(p + s);
  return QString::fromStdString(p);
}

bool ended(const RunQueue& q, int id) {
  const auto* j = q.job(id);
  return j && j->state != QueueJob::Waiting && j->state != QueueJob::Running;
}

}  // namespace

TEST(RunQueue, BadConfigFailsWithTheEnginesMessage) {
  RunQueue q(db_path("badconfig"));
  const auto cfg = nlohmann::json::parse(R"({"name":"bad","model":{"heads":3,"d_model":32}})");
  const int id = q.addTrain(cfg, "bad");
  ASSERT_TRUE(wait_for([&] { return ended(q, id); }));
  EXPECT_EQ(q.job(id)->state, QueueJob::Failed);
  EXPECT_TRUE(q.job(id)->message.endsWith("model.heads: 3 does not divide d_model 32")) << q.job(id)->message.toStdString();
}

TEST(RunQueue, GarbageOutputAndNonZeroExit) {
  FakeCli cli("garbage", "echo 'garbage {not json'; echo '\\x01\\x02 more'; echo 'error: corpus exploded' >&2; exit 3");
  RunQueue q(db_path("garbage"));
  const int id = q.addCli({"eval", "--run", "1"}, "garbage");
  ASSERT_TRUE(wait_for([&] { return ended(q, id); }));
  EXPECT_EQ(q.job(id)->state, QueueJob::Failed);
  EXPECT_EQ(q.job(id)->message, "corpus exploded");
}

TEST(RunQueue, ChildWithoutAResultLineFails) {
  FakeCli cli("silent", "echo '{\"event\":\"start\",\"run_id\":7}'; echo 'half a li'");
  RunQueue q(db_path("silent"));
  const int id = q.addCli({"train"}, "silent");
  ASSERT_TRUE(wait_for([&] { return ended(q, id); }));
  EXPECT_EQ(q.job(id)->state, QueueJob::Failed);
  EXPECT_EQ(q.job(id)->run, 7);
  EXPECT_TRUE(q.job(id)->message.contains("without a result"));
}

TEST(RunQueue, EventsProgressAndSuccess) {
  FakeCli cli("ok",
              "echo '{\"event\":\"start\",\"run_id\":12,\"info\":{}}'\n"
              "echo '{\"event\":\"eval\",\"mode\":\"nonoverlap\",\"length\":128,\"ppl\":null}'\n"
              "echo '{\"event\":7}'\n"
              "echo '{\"event\":\"step\",\"step\":5,\"total\":10,\"loss\":2.5,\"lr\":0.001}'\n"
              "sleep 0.5\n"
              "echo '{\"run_id\":12,\"status\":\"finished\",\"step\":10,\"error\":\"\",\"evals\":[]}'");
  RunQueue q(db_path("ok"));
  const int id = q.addCli({"train"}, "ok");
  ASSERT_TRUE(wait_for([&] { return q.job(id)->step == 5; }));
  EXPECT_DOUBLE_EQ(q.job(id)->progress(), 0.5);
  EXPECT_EQ(q.job(id)->run, 12);
  ASSERT_TRUE(wait_for([&] { return ended(q, id); }));
  EXPECT_EQ(q.job(id)->state, QueueJob::Finished);
}

TEST(RunQueue, KilledChildFailsAndOneRunsAtATime) {
  FakeCli cli("sleepy", "echo '{\"event\":\"start\",\"run_id\":3}'; sleep 30");
  RunQueue q(db_path("killed"));
  const int a = q.addCli({"train"}, "a");
  const int b = q.addCli({"train"}, "b");
  ASSERT_TRUE(wait_for([&] { return q.job(a)->state == QueueJob::Running && q.job(a)->pid > 0; }));
  EXPECT_EQ(q.job(b)->state, QueueJob::Waiting);  // max 1 at a time by default
  ::kill(static_cast<pid_t>(q.job(a)->pid), SIGKILL);
  ASSERT_TRUE(wait_for([&] { return ended(q, a); }));
  EXPECT_EQ(q.job(a)->state, QueueJob::Failed);
  EXPECT_TRUE(q.job(a)->message.contains("killed or crashed"));
  ASSERT_TRUE(wait_for([&] { return q.job(b)->state == QueueJob::Running; }));
  q.stop(b);  // SIGTERM: stopped, not failed
  ASSERT_TRUE(wait_for([&] { return ended(q, b); }));
  EXPECT_EQ(q.job(b)->state, QueueJob::Stopped);
}

TEST(RunQueue, StudyJobsWaitForTheirBaseAndFailWithIt) {
  FakeCli cli("basefail", "echo 'error: base broke' >&2; exit 2");
  RunQueue q(db_path("study"));
  q.setMaxParallel(4);
  const int base = q.addTrain(nlohmann::json::object(), "base", "s");
  const int ft = q.addTrain(nlohmann::json::object(), "ft", "s", base);
  ASSERT_TRUE(wait_for([&] { return ended(q, ft); }));
  EXPECT_EQ(q.job(base)->state, QueueJob::Failed);
  EXPECT_EQ(q.job(ft)->state, QueueJob::Failed);
  EXPECT_TRUE(q.job(ft)->message.contains("base job"));
  EXPECT_TRUE(q.job(ft)->args.contains("--study"));
}

TEST(RunQueue, ProgressEventsOfLongJobsMoveTheBar) {
  FakeCli cli("progress",
              "echo '{\"event\":\"progress\",\"done\":3,\"total\":12,\"what\":\"ruler cells\"}'\n"
              "sleep 0.6\n"
              "echo '{\"run_id\":4,\"status\":\"finished\"}'");
  RunQueue q(db_path("progress"));
  const int id = q.addCli({"ruler", "--run", "4"}, "ruler");
  ASSERT_TRUE(wait_for([&] { return q.job(id)->step == 3; }));
  EXPECT_DOUBLE_EQ(q.job(id)->progress(), 0.25);
  EXPECT_EQ(q.job(id)->message, "ruler cells 3/12");
  ASSERT_TRUE(wait_for([&] { return ended(q, id); }));
  EXPECT_EQ(q.job(id)->state, QueueJob::Finished);
}

TEST(RunQueue, AStudyFileRunsAsOneJobThatSaysWhichRunItTrainsAndHowManyChecksHeld) {
  const std::string args_file = std::string(CTXLAB_TEST_TMP) + "/fake-study-args.txt";
  const std::string copy_file = std::string(CTXLAB_TEST_TMP) + "/fake-study-copy.json";
  std::filesystem::remove(args_file);
  std::filesystem::remove(copy_file);
  // What `ctxlab-cli study run FILE --json` prints: each run's events, then the result line; a
  // library warning on stderr does not make it fail.
  FakeCli cli("study",
              "echo \"$@\" > " + args_file + "\ncp \"$3\" " + copy_file +
                  "\n"
                  "echo '{\"event\":\"start\",\"run_id\":7,\"info\":{\"name\":\"tiny-base\"}}'\n"
                  "echo '{\"event\":\"step\",\"step\":2,\"total\":4,\"loss\":1.5}'\n"
                  "echo '{\"event\":\"start\",\"run_id\":8,\"info\":{\"name\":\"pi\"}}'\n"
                  "echo '{\"event\":\"step\",\"step\":1,\"total\":2,\"loss\":1.25}'\n"
                  "sleep 1\n"
                  "echo 'warning: a library speaks' >&2\n"
                  "echo '{\"study\":\"tiny\",\"study_id\":3,\"runs\":{\"base\":7,\"pi\":8},\"checks\":[],\"held\":1,\"total\":2}'");
  RunQueue q(db_path("studyfile"));
  QVector<qint64> started;
  QObject::connect(&q, &RunQueue::runStarted, [&](int, qint64 run) { started << run; });
  const nlohmann::json study = {{"name", "tiny"}, {"base", {{"preset", "quickstart"}}}};
  const int id = q.addStudy(study, "study tiny", "cpu");
  ASSERT_TRUE(wait_for([&] { return q.job(id)->message == "pi: step 1/2, loss 1.250"; }))
      << q.job(id)->message.toStdString();
  EXPECT_DOUBLE_EQ(q.job(id)->progress(), 0.5);
  ASSERT_TRUE(wait_for([&] { return ended(q, id); }));
  const auto* j = q.job(id);
  EXPECT_EQ(j->state, QueueJob::Finished) << j->message.toStdString();
  EXPECT_EQ(j->message, "study tiny: 1 of 2 checks held");
  EXPECT_EQ(j->study, 3);
  EXPECT_EQ(started, (QVector<qint64>{7, 8}));
  // `study run FILE --device cpu --db DB --json`, FILE holding the study as given.
  QFile args(QString::fromStdString(args_file));
  ASSERT_TRUE(args.open(QIODevice::ReadOnly));
  const QStringList words = QString::fromUtf8(args.readAll()).trimmed().split(' ');
  ASSERT_GE(words.size(), 5);
  EXPECT_EQ(words.mid(0, 2), (QStringList{"study", "run"}));
  EXPECT_EQ(words.mid(3, 2), (QStringList{"--device", "cpu"}));
  QFile copy(QString::fromStdString(copy_file));
  ASSERT_TRUE(copy.open(QIODevice::ReadOnly));
  EXPECT_EQ(nlohmann::json::parse(copy.readAll().toStdString()), study);
}
