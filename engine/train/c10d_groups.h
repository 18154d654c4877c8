// c10d process groups as the engine holds them, for the files that talk to c10d itself
// (distributed.cpp, gradient_sync.cpp). LibTorch 1.13's ProcessGroupGloo/NCCL are ProcessGroups;
// 2.x's are Backends, and c10d::Reducer takes a ProcessGroup wrapped around one.
// Include only where CTXLAB_HAVE_C10D is set (a build with Gloo or NCCL, cmake/Distributed.cmake).
#pragma once

#if defined(CTXLAB_HAVE_GLOO) || defined(CTXLAB_HAVE_NCCL)
#define CTXLAB_HAVE_C10D 1

#include <torch/version.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include "train/distributed.h"

namespace ctx {

#if TORCH_VERSION_MAJOR >= 2
using C10dBackend = c10d::Backend;
#else
using C10dBackend = c10d::ProcessGroup;
#endif

struct Group {
  c10::intrusive_ptr<C10dBackend> backend;               // the collectives
  c10::intrusive_ptr<c10d::ProcessGroup> process_group;  // what c10d::Reducer takes
  int rank = 0, size = 1;
  bool nccl = false;
  std::vector<int> ranks;  // global rank of each group rank
};

// The launch's store: torchrun's agent store (under its attempt prefix), or the TCPStore rank 0
// hosts at MASTER_ADDR:MASTER_PORT (`client` connects to it without hosting, for a second
// connection from rank 0's own process).
c10::intrusive_ptr<c10d::Store> connect_store(const DistEnv& env, std::chrono::milliseconds timeout,
                                              bool client = false);

// A process group over global `ranks` (this rank among them) on `device`'s backend, rendezvous
// under "ctxlab/pg/<name>/" in the store. Collectives fail after `timeout`.
Group make_group(const c10::intrusive_ptr<c10d::Store>& store, const std::string& name,
                 const std::vector<int>& ranks, int global_rank, const torch::Device& device,
                 std::chrono::milliseconds timeout);
// Releases the group's communicators where c10d has a shutdown (NCCL in LibTorch 2.x).
void shutdown_group(Group& g);

// The ring over a group: next = group rank + 1, previous = group rank - 1 (mod size).
std::shared_ptr<RingComm> make_ring(const Group& g);

}  // namespace ctx

#endif
