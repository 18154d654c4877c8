// PyTorch's distributed engine (c10d) for a torchrun launch: where this rank sits (RANK, WORLD_SIZE,
// LOCAL_RANK, MASTER_ADDR, MASTER_PORT), the c10d store (torchrun's agent store, or a TCPStore rank
// 0 hosts), one process group over all ranks (ProcessGroupNCCL on CUDA, ProcessGroupGloo on the
// CPU) and one per context-parallel ring, and the collectives and store messages the trainer uses.
// c10d's types stay in the .cpp files (train/c10d_groups.h). Layout: ranks [g*cp, (g+1)*cp) form
// ring g and hold one sequence between them; the data-parallel rank is rank / cp.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include <torch/types.h>

#include "model/ring_attention.h"

namespace ctx {

// The torchrun variables. world 1 (or none set) is one process, exactly as without torchrun.
struct DistEnv {
  int rank = 0, world = 1, local_rank = 0, local_world = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  bool agent_store = false;  // torchrun's agent hosts the store (TORCHELASTIC_USE_AGENT_STORE)
  std::string store_prefix;  // under the agent store: "/worker/attempt_N"
  bool launched() const { return world > 1; }
};
// Reads them from the environment; throws ConfigError naming a malformed variable.
DistEnv read_dist_env();

// The process groups this build has ("gloo", "nccl", "gloo, nccl"); empty without c10d.
std::string dist_backends();

// Why a rank stopped, as the other ranks learn it: one line "rank N: message".
struct PeerFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Group;  // one c10d process group (train/c10d_groups.h)

class Distributed {
 public:
  // Joins the launch: the store, the group over all ranks and this rank's ring, on `device`'s
  // backend (NCCL for CUDA, Gloo for the CPU). Collectives fail after `timeout`. Throws ConfigError
  // when the world does not split into rings of `context_parallel` or this build lacks the backend.
  static std::unique_ptr<Distributed> connect(const DistEnv& env, const torch::Device& device,
                                              int64_t context_parallel, std::chrono::seconds timeout);
  ~Distributed();
  Distributed(const Distributed&) = delete;
  Distributed& operator=(const Distributed&) = delete;

  int rank() const;
  int world() const;
  bool root() const { return rank() == 0; }
  int local_world() const;
  int cp_size() const;
  int cp_rank() const;
  int dp_size() const { return world() / cp_size(); }
  int dp_rank() const { return rank() / cp_size(); }
  const torch::Device& device() const;
  std::chrono::milliseconds timeout() const;
  // What a run's device reads: "cuda × 4", "cpu × 2".
  std::string device_label() const;

  // Collectives over all ranks, on tensors on device() (contiguous).
  void all_reduce_sum(torch::Tensor& t);
  void all_reduce_max(torch::Tensor& t);
  void broadcast(torch::Tensor& t, int root);
  void send(const torch::Tensor& t, int to, int tag);
  void recv(torch::Tensor& t, int from, int tag);
  double sum(double v);
  bool any(bool flag);
  void barrier();

  // This rank's context-parallel ring (null when cp_size() == 1).
  std::shared_ptr<RingComm> ring() const;
  Group& world_group();

  // Rank 0 decides, the others follow, through the store: publish() a value under `key`, await()
  // it (throws PeerFailure when a rank reported a failure first, c10::Error after the timeout).
  void publish(const std::string& key, const std::string& value);
  std::string await(const std::string& key);
  // Tells the other ranks why this rank stops ("rank N: message"; the first report stays) and
  // returns that line.
  std::string report_failure(const std::string& message);
  // The failure a rank reported, waiting up to `wait` for one.
  std::optional<std::string> reported_failure(std::chrono::milliseconds wait);
  // Rank 0: a thread that watches for a peer's failure report while the run trains. When one
  // arrives and the main thread has not called failure_handled() within `grace` (it sits in a
  // collective that may never return, as NCCL's does when a peer is gone), `on_stuck` records it
  // and the process exits with status 1.
  void watch_peers(std::function<void(const std::string&)> on_stuck, std::chrono::seconds grace);
  void failure_handled();

 private:
  struct Impl;
  explicit Distributed(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ctx
