// Several GPUs from the window; see multi_gpu.h.
#include "widgets/multi_gpu.h"

#include <QDir>
#include <QFileInfo>
#include <QPointer>
#include <QProcess>
#include <QStandardPaths>

#include <memory>

#include "widgets/cli_call.h"

namespace ctx::gui {
namespace {

QString find_on_path(const QString& name, const QString& path) {
  const QStringList dirs = path.split(QDir::listSeparator(), Qt::SkipEmptyParts);
  // An empty list would make findExecutable search the process's own PATH instead.
  return dirs.isEmpty() ? QString() : QStandardPaths::findExecutable(name, dirs);
}

QString quoted(const QString& s) {
  return s.contains(' ') ? "'" + s + "'" : s;
}

}  // namespace

QString Torchrun::text() const {
  if (!found()) return "torchrun";
  return prefix.isEmpty() ? QFileInfo(program).fileName() : QFileInfo(program).fileName() + " " + prefix.join(' ');
}

Torchrun torchrunOnPath(const QString& path) {
  return Torchrun{find_on_path("torchrun", path), {}};
}

Torchrun torchrunModule(const QString& python) {
  return Torchrun{python, {"-m", "torch.distributed.run"}};
}

MultiGpu MultiGpu::fromDevices(const nlohmann::json& j) {
  MultiGpu m;
  m.probed = true;
  if (!j.is_object()) {
    m.probed = false;
    m.error = "ctxlab-cli devices gave no answer";
    return m;
  }
  const auto flag = [&](const char* key) { return j.contains(key) && j[key].is_boolean() && j[key].get<bool>(); };
  m.cuda = flag("cuda");
  m.nccl = flag("nccl");
  m.gpus = j.contains("gpus") && j["gpus"].is_number_integer() ? std::max(0, j["gpus"].get<int>()) : 0;
  return m;
}

QString multiGpuRefusal(const MultiGpu& m, int n) {
  if (n <= 1) return {};
  if (!m.probed) return m.error.isEmpty() ? QString("Looking for CUDA GPUs and torchrun…") : m.error;
  if (!m.cuda) return "this build has no CUDA (ctxlab-cli's LibTorch is CPU-only)";
  if (m.gpus == 0) return "no CUDA GPU found";
  if (m.gpus < n)
    return QString("%1 CUDA GPU%2 found; %3 GPUs need %3").arg(m.gpus).arg(m.gpus == 1 ? "" : "s").arg(n);
  if (!m.nccl) return "this build has no NCCL process group (c10d), which several GPUs train through";
  if (!m.torchrun.found()) return "torchrun not found on PATH (nor python3 -m torch.distributed.run)";
  return {};
}

int maxGpus(const MultiGpu& m) {
  return m.gpus > 1 && multiGpuRefusal(m, m.gpus).isEmpty() ? m.gpus : 1;
}

QString LaunchCommand::text() const {
  QStringList parts = env;
  parts << quoted(program);
  for (const QString& a : args) parts << quoted(a);
  return parts.join(' ');
}

LaunchCommand launchCommand(const QString& cli, const QStringList& cli_args, int gpus, const Torchrun& torchrun) {
  if (gpus <= 1) return LaunchCommand{cli, cli_args, {}};
  LaunchCommand c;
  c.program = torchrun.program;
  c.args = torchrun.prefix;
  c.args << "--standalone" << "--nproc_per_node" << QString::number(gpus) << "--no-python" << cli;
  c.args << cli_args;
  c.env << "NCCL_NVLS_ENABLE=0";
  return c;
}

int trainedWorldSize(const nlohmann::json& stored_config) {
  if (!stored_config.is_object() || !stored_config.contains("_resolved")) return 1;
  const auto& r = stored_config["_resolved"];
  if (!r.is_object() || !r.contains("distributed") || !r["distributed"].is_object()) return 1;
  const auto& w = r["distributed"];
  return w.contains("world_size") && w["world_size"].is_number_integer() ? std::max(1, w["world_size"].get<int>()) : 1;
}

void probeMultiGpu(QObject* context, std::function<void(const MultiGpu&)> done) {
  struct State {
    int pending = 2;
    MultiGpu m;
    Torchrun torchrun;
    std::function<void(const MultiGpu&)> done;
  };
  auto state = std::make_shared<State>();
  state->done = std::move(done);
  auto finish = [state] {
    if (--state->pending > 0) return;
    state->m.torchrun = state->torchrun;
    state->done(state->m);
  };
  runCli(context, {"devices"}, [state, finish](const CliResult& r) {
    if (r.ok) {
      state->m = MultiGpu::fromDevices(r.json);
    } else {
      state->m.error = "ctxlab-cli devices failed: " + (r.error.isEmpty() ? QString("no answer") : r.error);
    }
    finish();
  });
  const QString path = qEnvironmentVariable("PATH");
  state->torchrun = torchrunOnPath(path);
  const QString python = state->torchrun.found() ? QString() : find_on_path("python3", path);
  if (python.isEmpty()) return finish();
  // torch.distributed.run comes with torch; find_spec looks for the package without importing it.
  auto* p = new QProcess(context);
  QObject::connect(p, &QProcess::finished, context, [state, finish, p, python](int code, QProcess::ExitStatus st) {
    if (st == QProcess::NormalExit && code == 0) state->torchrun = torchrunModule(python);
    p->deleteLater();
    finish();
  });
  QObject::connect(p, &QProcess::errorOccurred, context, [state, finish, p](QProcess::ProcessError e) {
    if (e != QProcess::FailedToStart) return;  // the others end in finished()
    p->deleteLater();
    finish();
  });
  p->setStandardInputFile(QProcess::nullDevice());
  p->start(python, {"-c", "import importlib.util, sys; sys.exit(importlib.util.find_spec('torch') is None)"});
}

}  // namespace ctx::gui
