// Jobs on several GPUs from the window: the torchrun command line for 1 and 4 GPUs, the reasons a
// GPU count is refused (torchrun absent from PATH, too few GPUs, no CUDA), the queue launching a
// fake torchrun and following its rank 0's events, stopping every rank, and the configurator's
// GPU-count control under train.device. No GPU is needed: counts are injected, torchrun is a script.
#include <gtest/gtest.h>

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QLabel>
#include <QSpinBox>

#include <csignal>
#include <filesystem>

#include "app/run_queue.h"
#include "store_fixtures.h"
#include "widgets/cli_call.h"
#include "widgets/config_form.h"
#include "widgets/configurator.h"
#include "widgets/gpu_count.h"
#include "widgets/multi_gpu.h"

using namespace ctx::gui;

namespace {

template <class F>
bool wait_for(F pred, int ms = 30000) {
  return storefix::waitFor(pred, ms);
}

QString scratch(const QString& name) {
  const QString d = QString(CTXLAB_TEST_TMP) + "/multi-gpu/" + name;
  QDir(d).removeRecursively();
  QDir().mkpath(d);
  return d;
}

// An executable shell script at `path`.
QString script(const QString& path, const QString& body) {
  QFile f(path);
  f.open(QIODevice::WriteOnly | QIODevice::Truncate);
  f.write(("#!/bin/sh\n" + body + "\n").toUtf8());
  f.close();
  std::filesystem::permissions(path.toStdString(), std::filesystem::perms::owner_all);
  return path;
}

QString read(const QString& path) {
  QFile f(path);
  return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QString();
}

// Sets PATH for one test.
class ScopedPath {
 public:
  explicit ScopedPath(const QString& path) : old_(qgetenv("PATH")) { qputenv("PATH", path.toUtf8()); }
  ~ScopedPath() { qputenv("PATH", old_); }

 private:
  QByteArray old_;
};

// A process that is gone: no such pid, or a zombie nobody reaped yet.
bool gone(pid_t pid) {
  if (::kill(pid, 0) != 0) return true;
  QFile stat(QString("/proc/%1/stat").arg(pid));
  if (!stat.open(QIODevice::ReadOnly)) return true;
  const QByteArray s = stat.readAll();
  const int close = s.lastIndexOf(')');
  return close > 0 && close + 2 < s.size() && s[close + 2] == 'Z';
}

MultiGpu offered(int gpus, bool cuda = true, bool nccl = true, const Torchrun& t = {"/opt/torch/bin/torchrun", {}}) {
  MultiGpu m;
  m.probed = true;
  m.cuda = cuda;
  m.gpus = gpus;
  m.nccl = nccl;
  m.torchrun = t;
  return m;
}

bool ended(const RunQueue& q, int id) {
  const auto* j = q.job(id);
  return j && j->state != QueueJob::Waiting && j->state != QueueJob::Running;
}

QString db_path(const QString& dir) { return dir + "/queue.db"; }

}  // namespace

TEST(MultiGpu, CommandLineForOneAndFourGpus) {
  const QStringList args = {"train", "--config", "/tmp/c.json", "--db", "/tmp/x.db", "--json"};
  const auto one = launchCommand("/opt/ctxlab-cli", args, 1, Torchrun{"/usr/bin/torchrun", {}});
  EXPECT_EQ(one.program, "/opt/ctxlab-cli");
  EXPECT_EQ(one.args, args);
  EXPECT_TRUE(one.env.isEmpty());

  const auto four = launchCommand("/opt/ctxlab-cli", args, 4, Torchrun{"/usr/bin/torchrun", {}});
  EXPECT_EQ(four.program, "/usr/bin/torchrun");
  EXPECT_EQ(four.args, QStringList({"--standalone", "--nproc_per_node", "4", "--no-python", "/opt/ctxlab-cli"}) + args);
  EXPECT_EQ(four.env, QStringList{"NCCL_NVLS_ENABLE=0"});
  EXPECT_EQ(four.text(),
            "NCCL_NVLS_ENABLE=0 /usr/bin/torchrun --standalone --nproc_per_node 4 --no-python /opt/ctxlab-cli train "
            "--config /tmp/c.json --db /tmp/x.db --json");

  // Through the module when no torchrun script is on PATH.
  const auto module = launchCommand("/opt/ctxlab-cli", args, 2, torchrunModule("/usr/bin/python3"));
  EXPECT_EQ(module.program, "/usr/bin/python3");
  EXPECT_EQ(module.args.mid(0, 6),
            QStringList({"-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "--no-python"}));
  EXPECT_EQ(torchrunModule("/usr/bin/python3").text(), "python3 -m torch.distributed.run");
}

TEST(MultiGpu, RefusalsNameWhatIsMissing) {
  const QString empty = scratch("empty-path");
  const QString with = scratch("torchrun-path");
  const QString fake = script(with + "/torchrun", "exit 0");
  {
    ScopedPath path(empty + ":" + empty + "/missing");
    const auto none = torchrunOnPath(qEnvironmentVariable("PATH"));
    EXPECT_FALSE(none.found());
    const auto m = offered(4, true, true, none);
    EXPECT_EQ(multiGpuRefusal(m, 2), "torchrun not found on PATH (nor python3 -m torch.distributed.run)");
    EXPECT_EQ(maxGpus(m), 1);
  }
  {
    ScopedPath path(empty + ":" + with);
    const auto t = torchrunOnPath(qEnvironmentVariable("PATH"));
    ASSERT_TRUE(t.found());
    EXPECT_EQ(QFileInfo(t.program).canonicalFilePath(), QFileInfo(fake).canonicalFilePath());
    const auto m = offered(4, true, true, t);
    EXPECT_EQ(multiGpuRefusal(m, 4), "");
    EXPECT_EQ(maxGpus(m), 4);
    EXPECT_EQ(multiGpuRefusal(m, 8), "4 CUDA GPUs found; 8 GPUs need 8");
  }
  EXPECT_FALSE(torchrunOnPath("").found());  // an empty PATH is not the window's own

  EXPECT_EQ(multiGpuRefusal(offered(1), 2), "1 CUDA GPU found; 2 GPUs need 2");
  EXPECT_EQ(maxGpus(offered(1)), 1);
  EXPECT_EQ(multiGpuRefusal(offered(2), 4), "2 CUDA GPUs found; 4 GPUs need 4");
  EXPECT_EQ(multiGpuRefusal(offered(0), 2), "no CUDA GPU found");
  EXPECT_EQ(multiGpuRefusal(offered(0, false, false), 2), "this build has no CUDA (ctxlab-cli's LibTorch is CPU-only)");
  EXPECT_TRUE(multiGpuRefusal(offered(4, true, false), 2).startsWith("this build has no NCCL"));
  EXPECT_EQ(multiGpuRefusal(offered(0, false, false), 1), "");  // one process always runs
  MultiGpu failed;
  failed.error = "ctxlab-cli devices failed: boom";
  EXPECT_EQ(multiGpuRefusal(failed, 2), "ctxlab-cli devices failed: boom");
}

TEST(MultiGpu, DevicesAnswerAndTrainedWorldSize) {
  const auto m = MultiGpu::fromDevices(nlohmann::json::parse(R"({"cuda":true,"gpus":8,"nccl":true,"backends":"gloo, nccl"})"));
  EXPECT_TRUE(m.probed && m.cuda && m.nccl);
  EXPECT_EQ(m.gpus, 8);
  EXPECT_FALSE(MultiGpu::fromDevices(nullptr).probed);
  EXPECT_EQ(trainedWorldSize(nlohmann::json::parse(R"({"_resolved":{"distributed":{"world_size":4}}})")), 4);
  EXPECT_EQ(trainedWorldSize(nlohmann::json::parse(R"({"_resolved":{"base_model":"x"}})")), 1);
  EXPECT_EQ(trainedWorldSize(nullptr), 1);

  // The real ctxlab-cli answers the probe; without CUDA it offers no GPU.
  MultiGpu probed;
  bool done = false;
  QObject context;
  probeMultiGpu(&context, [&](const MultiGpu& r) {
    probed = r;
    done = true;
  });
  ASSERT_TRUE(wait_for([&] { return done; }));
  ASSERT_TRUE(probed.probed) << probed.error.toStdString();
  if (!probed.cuda) {
    EXPECT_EQ(probed.gpus, 0);
    EXPECT_EQ(maxGpus(probed), 1);
  }
}

TEST(RunQueue, JobOnFourGpusRunsThroughTorchrunAndFollowsRankZero) {
  const QString dir = scratch("launch");
  // Rank 0 prints the events (the other ranks print nothing on stdout).
  const QString torchrun = script(dir + "/torchrun",
                                  "printf '%s\\n' \"$@\" > " + dir + "/args\n"
                                  "echo \"NCCL_NVLS_ENABLE=$NCCL_NVLS_ENABLE\" > " + dir + "/env\n"
                                  "echo 'torchrun: starting 4 workers' >&2\n"
                                  "echo '{\"event\":\"start\",\"run_id\":21}'\n"
                                  "echo '{\"event\":\"step\",\"step\":1,\"total\":2,\"loss\":2.0}'\n"
                                  "sleep 0.3\n"
                                  "echo '{\"run_id\":21,\"status\":\"finished\",\"step\":2,\"error\":\"\",\"evals\":[]}'");
  RunQueue q(db_path(dir));
  q.setTorchrun(Torchrun{torchrun, {}});
  const int id = q.addTrain(nlohmann::json{{"name", "wide"}}, "wide", {}, 0, 0, 4);
  ASSERT_TRUE(wait_for([&] { return ended(q, id); }));
  const auto* j = q.job(id);
  EXPECT_EQ(j->state, QueueJob::Finished) << j->message.toStdString();
  EXPECT_EQ(j->run, 21);
  EXPECT_EQ(j->gpus, 4);
  ASSERT_TRUE(j->args.contains("--device"));
  EXPECT_EQ(j->args[j->args.indexOf("--device") + 1], "cuda");
  const QStringList expected = QStringList({"--standalone", "--nproc_per_node", "4", "--no-python", cliPath()}) +
                               j->args + QStringList({"--db", db_path(dir), "--json"});
  EXPECT_EQ(read(dir + "/args").trimmed().split('\n'), expected);
  EXPECT_EQ(read(dir + "/env").trimmed(), "NCCL_NVLS_ENABLE=0");
  EXPECT_TRUE(j->command.startsWith("NCCL_NVLS_ENABLE=0 " + torchrun + " --standalone")) << j->command.toStdString();

  // One GPU: ctxlab-cli itself, no torchrun, no device override.
  const QString cli = script(dir + "/cli", "echo '{\"run_id\":22,\"status\":\"finished\"}'");
  qputenv("CTXLAB_CLI", cli.toUtf8());
  const int single = q.addTrain(nlohmann::json{{"name", "narrow"}}, "narrow");
  ASSERT_TRUE(wait_for([&] { return ended(q, single); }));
  qputenv("CTXLAB_CLI", CTXLAB_CLI);
  EXPECT_EQ(q.job(single)->state, QueueJob::Finished);
  EXPECT_FALSE(q.job(single)->args.contains("--device"));
  EXPECT_TRUE(q.job(single)->command.startsWith(cli + " train --config")) << q.job(single)->command.toStdString();
}

TEST(RunQueue, StoppingAJobOnSeveralGpusStopsEveryRank) {
  const QString dir = scratch("stop");
  // Like torchrun, each rank in a session of its own; unlike it, this one does not pass SIGTERM
  // on: the queue must reach the ranks itself.
  const QString torchrun = script(dir + "/torchrun",
                                  "setsid sleep 300 & echo $! > " + dir + "/rank0\n"
                                  "setsid sleep 300 & echo $! > " + dir + "/rank1\n"
                                  "echo '{\"event\":\"start\",\"run_id\":5}'\n"
                                  "trap 'exit 0' TERM\n"
                                  "wait");
  RunQueue q(db_path(dir));
  q.setTorchrun(Torchrun{torchrun, {}});
  const int id = q.addCli({"train", "--config", "x.json"}, "wide", 2);
  ASSERT_TRUE(wait_for([&] { return q.job(id)->run == 5 && !read(dir + "/rank1").isEmpty(); }));
  const auto rank0 = static_cast<pid_t>(read(dir + "/rank0").trimmed().toLongLong());
  const auto rank1 = static_cast<pid_t>(read(dir + "/rank1").trimmed().toLongLong());
  ASSERT_GT(rank0, 0);
  ASSERT_GT(rank1, 0);
  EXPECT_FALSE(gone(rank0));
  EXPECT_NE(q.job(id)->pgid, 0);
  q.stop(id);
  ASSERT_TRUE(wait_for([&] { return ended(q, id); }));
  EXPECT_EQ(q.job(id)->state, QueueJob::Stopped);
  EXPECT_TRUE(wait_for([&] { return gone(rank0) && gone(rank1); }, 5000));
  if (!gone(rank0)) ::kill(rank0, SIGKILL);
  if (!gone(rank1)) ::kill(rank1, SIGKILL);
}

TEST(RunQueue, JobOnSeveralGpusWithoutTorchrunFailsAndRunsAlone) {
  const QString dir = scratch("alone");
  {
    ScopedPath path(dir);  // no torchrun here, and none was set
    RunQueue q(db_path(dir));
    const int id = q.addCli({"train"}, "wide", 2);
    ASSERT_TRUE(wait_for([&] { return ended(q, id); }));
    EXPECT_EQ(q.job(id)->state, QueueJob::Failed);
    EXPECT_EQ(q.job(id)->message,
              "cannot run on 2 GPUs: torchrun not found on PATH (nor python3 -m torch.distributed.run)");
  }
  // With room for four at once, the job on two GPUs waits for the one running and holds the rest.
  const QString sleepy = script(dir + "/cli", "echo '{\"event\":\"start\",\"run_id\":1}'; sleep 30");
  qputenv("CTXLAB_CLI", sleepy.toUtf8());
  RunQueue q(db_path(dir));
  q.setMaxParallel(4);
  q.setTorchrun(Torchrun{script(dir + "/torchrun", "sleep 30"), {}});
  const int a = q.addCli({"train"}, "a");
  const int wide = q.addCli({"train"}, "wide", 2);
  const int c = q.addCli({"train"}, "c");
  ASSERT_TRUE(wait_for([&] { return q.job(a)->state == QueueJob::Running; }));
  q.tick();
  EXPECT_EQ(q.job(wide)->state, QueueJob::Waiting);
  EXPECT_EQ(q.job(c)->state, QueueJob::Waiting);
  q.stop(a);
  ASSERT_TRUE(wait_for([&] { return q.job(wide)->state == QueueJob::Running; }));
  q.tick();
  EXPECT_EQ(q.job(c)->state, QueueJob::Waiting);  // nothing beside the job on several GPUs
  q.stopAll();
  ASSERT_TRUE(wait_for([&] { return ended(q, wide) && ended(q, c); }));
  qputenv("CTXLAB_CLI", CTXLAB_CLI);
}

TEST(ConfiguratorGpus, CountBesideTrainDeviceWithItsReason) {
  Configurator conf(CTXLAB_PRESETS);
  conf.resize(1200, 750);
  conf.show();
  ASSERT_TRUE(wait_for([&] { return conf.isReady() && !conf.isBusy(); })) << conf.messageLabel()->text().toStdString();
  auto* control = conf.gpuControl();
  ASSERT_NE(control, nullptr);
  auto* device = conf.form()->field("train.device");
  ASSERT_NE(device, nullptr);
  EXPECT_TRUE(device->isAncestorOf(control));
  EXPECT_TRUE(device->isAncestorOf(control->note()));
  // On the line under the device's editor, starting where it starts; the reason beside the count.
  const QPoint editor = device->editor()->mapTo(device, QPoint(0, 0));
  const QPoint spin = control->spin()->mapTo(device, QPoint(0, 0));
  const QPoint note = control->note()->mapTo(device, QPoint(0, 0));
  EXPECT_GE(spin.y(), editor.y() + device->editor()->height());
  EXPECT_LT(std::abs(control->mapTo(device, QPoint(0, 0)).x() - editor.x()), 4);
  EXPECT_GT(note.x(), spin.x() + control->spin()->width());
  // Same row: their heights overlap (the reason may wrap onto more lines than the box is tall).
  EXPECT_LT(note.y(), spin.y() + control->spin()->height());
  EXPECT_GT(note.y() + control->note()->height(), spin.y());

  // What this machine offers, asked of the real ctxlab-cli: without CUDA, the reason says so.
  ASSERT_TRUE(conf.multiGpu().probed) << conf.multiGpu().error.toStdString();
  if (!conf.multiGpu().cuda) {
    EXPECT_FALSE(control->spin()->isEnabled());
    EXPECT_EQ(control->note()->text(), "Several GPUs unavailable: this build has no CUDA (ctxlab-cli's LibTorch is CPU-only)");
  }

  conf.setMultiGpu(offered(1));
  EXPECT_FALSE(control->spin()->isEnabled());
  EXPECT_EQ(conf.gpuCount(), 1);
  EXPECT_TRUE(control->note()->isVisible());
  EXPECT_EQ(control->note()->text(), "Several GPUs unavailable: 1 CUDA GPU found; 2 GPUs need 2");

  conf.setMultiGpu(offered(4, true, true, Torchrun{}));
  EXPECT_FALSE(control->spin()->isEnabled());
  EXPECT_EQ(control->note()->text(),
            "Several GPUs unavailable: torchrun not found on PATH (nor python3 -m torch.distributed.run)");

  conf.setMultiGpu(offered(4));
  ASSERT_TRUE(control->spin()->isEnabled());
  EXPECT_EQ(control->spin()->maximum(), 4);
  EXPECT_EQ(conf.gpuCount(), 1);
  control->spin()->setValue(3);
  EXPECT_EQ(conf.gpuCount(), 3);
  EXPECT_TRUE(control->note()->text().contains("torchrun --nproc_per_node 3")) << control->note()->text().toStdString();

  // Fewer GPUs later (another probe): the count falls back within them.
  conf.setMultiGpu(offered(2));
  EXPECT_EQ(conf.gpuCount(), 2);
  conf.setMultiGpu(offered(0, false, false));
  EXPECT_EQ(conf.gpuCount(), 1);
}
