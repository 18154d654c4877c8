// Launching a ctxlab-cli job on several GPUs from the window: what this machine offers (the CUDA
// GPUs ctxlab-cli's LibTorch sees and its NCCL process group, asked of `ctxlab-cli devices`; a
// torchrun launcher on PATH), why a GPU count cannot be used, and the command line that runs a job
// on N GPUs. Qt Core only, no LibTorch. Assumes torchrun's options as PyTorch >= 1.10 has them
// (--standalone, --nproc_per_node, --no-python) and that rank 0 alone prints the JSON events.
#pragma once

#include <QObject>
#include <QString>
#include <QStringList>

#include <functional>
#include <nlohmann/json.hpp>

namespace ctx::gui {

// How torchrun is started: the `torchrun` script, or `python3 -m torch.distributed.run`.
struct Torchrun {
  QString program;     // absolute path; empty = none found
  QStringList prefix;  // arguments before torchrun's own ("-m", "torch.distributed.run")
  bool found() const { return !program.isEmpty(); }
  QString text() const;  // as a user would type it: "torchrun", "python3 -m torch.distributed.run"
};

// `torchrun` in the directories of `path` (PATH's syntax); not found() when none is there.
Torchrun torchrunOnPath(const QString& path);
// `python -m torch.distributed.run` through the interpreter at `python`.
Torchrun torchrunModule(const QString& python);

// What the machine offers for a job on several GPUs.
struct MultiGpu {
  bool probed = false;  // `ctxlab-cli devices` answered
  QString error;        // why it did not (probed false): still looking when empty
  bool cuda = false;    // ctxlab-cli's LibTorch has CUDA
  int gpus = 0;         // the CUDA GPUs it sees
  bool nccl = false;    // its c10d has the NCCL process group
  Torchrun torchrun;
  // From `ctxlab-cli devices --json` ({"cuda", "gpus", "nccl"}); torchrun is left as it is.
  static MultiGpu fromDevices(const nlohmann::json& j);
};

// Why a job cannot run on `n` GPUs, in one line ("torchrun not found on PATH", "1 CUDA GPU
// found; 2 GPUs need 2", "this build has no CUDA", ...); empty when it can. n <= 1 always can.
QString multiGpuRefusal(const MultiGpu& m, int n);
// The most GPUs a job may ask for: every GPU found when several can be used, else 1.
int maxGpus(const MultiGpu& m);

// The process that runs `ctxlab-cli <cli_args>` on `gpus` GPUs: ctxlab-cli itself for one; for
// several, torchrun --standalone --nproc_per_node N --no-python <cli> <cli_args>, with
// NCCL_NVLS_ENABLE=0 in its environment (NCCL's NVLink multicast off: where the driver or a
// container does not allow multicast objects, NCCL fails at its first collective with it on).
struct LaunchCommand {
  QString program;
  QStringList args;
  QStringList env;  // NAME=value, set on top of the window's environment
  QString text() const;  // the whole command line, for tooltips
};
LaunchCommand launchCommand(const QString& cli, const QStringList& cli_args, int gpus, const Torchrun& torchrun);

// The world size a stored run trained on: its config's _resolved.distributed.world_size, else 1.
int trainedWorldSize(const nlohmann::json& stored_config);

// Asks `ctxlab-cli devices` and looks for torchrun (on PATH, else a python3 on PATH that has torch)
// without blocking; `done` runs once, on `context`'s thread, unless `context` is gone by then.
void probeMultiGpu(QObject* context, std::function<void(const MultiGpu&)> done);

}  // namespace ctx::gui
