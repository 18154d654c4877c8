// Stores, process groups (ProcessGroupGloo, ProcessGroupNCCL) and the ring over one, for either
// LibTorch: where 1.13 and 2.x differ (a Backend wrapped in a ProcessGroup, its constructor, default
// backend, group name and shutdown), the code asks the compiler which form exists.
#include "train/c10d_groups.h"

#ifdef CTXLAB_HAVE_C10D

#include <cstdlib>
#include <type_traits>
#include <utility>

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef CTXLAB_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef CTXLAB_HAVE_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "config/run_config.h"

namespace ctx {
namespace {

// --- what differs between LibTorch versions, detected -------------------------------------------

template <class T, class = void>
struct HasShutdown : std::false_type {};
template <class T>
struct HasShutdown<T, std::void_t<decltype(std::declval<T&>().shutdown())>> : std::true_type {};

template <class B>
void shutdown_backend(B& b) {
  if constexpr (HasShutdown<B>::value) b.shutdown();
}

#if TORCH_VERSION_MAJOR >= 2
template <class PG, class = void>
struct HasSetDefaultBackend : std::false_type {};
template <class PG>
struct HasSetDefaultBackend<
    PG, std::void_t<decltype(std::declval<PG&>().setDefaultBackend(std::declval<typename PG::BackendType>()))>>
    : std::true_type {};
template <class PG, class = void>
struct HasSetGroupName : std::false_type {};
template <class PG>
struct HasSetGroupName<PG, std::void_t<decltype(std::declval<PG&>().setGroupName(std::declval<std::string>()))>>
    : std::true_type {};

// LibTorch 2.x: a ProcessGroup holding `backend` for `device_type`, the form c10d::Reducer takes.
// Guessed without 2.x headers here: ProcessGroup(store, rank, size) in recent releases,
// ProcessGroup(store, rank, size, Options(backend name, timeout)) in early 2.x.
template <class PG = c10d::ProcessGroup>
c10::intrusive_ptr<PG> wrap_backend(const c10::intrusive_ptr<c10d::Store>& store, const Group& g,
                                    c10::DeviceType device_type, typename PG::BackendType type,
                                    const std::string& backend_name, const std::string& group_name,
                                    std::chrono::milliseconds timeout) {
  c10::intrusive_ptr<PG> pg;
  if constexpr (std::is_constructible_v<PG, c10::intrusive_ptr<c10d::Store>, int, int>) {
    (void)timeout;
    (void)backend_name;
    pg = c10::make_intrusive<PG>(store, g.rank, g.size);
  } else {
    auto opts = c10::make_intrusive<typename PG::Options>(backend_name, timeout);
    pg = c10::make_intrusive<PG>(store, g.rank, g.size, opts);
  }
  pg->setBackend(device_type, type, g.backend);
  if constexpr (HasSetDefaultBackend<PG>::value) pg->setDefaultBackend(type);
  if constexpr (HasSetGroupName<PG>::value) pg->setGroupName(group_name);
  return pg;
}
#endif

#ifdef CTXLAB_HAVE_GLOO
std::shared_ptr<::gloo::transport::Device> gloo_device() {
  // As torch.distributed: GLOO_SOCKET_IFNAME names the interface, else the host name's address.
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
    return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  return c10d::ProcessGroupGloo::createDefaultDevice();
}
#endif

c10::intrusive_ptr<C10dBackend> make_backend(const c10::intrusive_ptr<c10d::Store>& store, const Group& g,
                                             const torch::Device& device, std::chrono::milliseconds timeout) {
  if (device.is_cuda()) {
#ifdef CTXLAB_HAVE_NCCL
    auto opts = c10d::ProcessGroupNCCL::Options::create();
    opts->timeout = timeout;
    return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, g.rank, g.size, opts);
#else
    throw ConfigError("train.device: this ctxlab-cli has no NCCL process group (built against a LibTorch "
                      "without CUDA or without nccl.h): several GPUs need one");
#endif
  }
#ifdef CTXLAB_HAVE_GLOO
  auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
  opts->devices.push_back(gloo_device());
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, g.rank, g.size, opts);
#else
  throw ConfigError("train.device: this ctxlab-cli has no Gloo process group, so several processes need "
                    "CUDA devices (NCCL)");
#endif
}

// --- the ring ------------------------------------------------------------------------------------

class C10dTransfer : public RingTransfer {
 public:
  C10dTransfer(std::vector<c10::intrusive_ptr<c10d::Work>> works, std::vector<torch::Tensor> keep)
      : works_(std::move(works)), keep_(std::move(keep)) {}
  void wait() override {
    for (auto& w : works_) w->wait();
    works_.clear();
  }

 private:
  std::vector<c10::intrusive_ptr<c10d::Work>> works_;
  std::vector<torch::Tensor> keep_;  // alive until the transfer is done
};

class C10dRing : public RingComm {
 public:
  explicit C10dRing(Group g) : g_(std::move(g)) {}
  int rank() const override { return g_.rank; }
  int size() const override { return g_.size; }

  std::unique_ptr<RingTransfer> exchange(const torch::Tensor& send, torch::Tensor& recv, int tag) override {
    const int next = (g_.rank + 1) % g_.size, prev = (g_.rank + g_.size - 1) % g_.size;
    std::vector<torch::Tensor> out{send}, in{recv};
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    // Even ranks send first, odd ranks receive first: with two ranks both directions share one
    // NCCL communicator, whose point-to-point calls must pair up in the same order on both sides.
    if (g_.rank % 2 == 0) {
      works.push_back(g_.backend->send(out, next, tag));
      works.push_back(g_.backend->recv(in, prev, tag));
    } else {
      works.push_back(g_.backend->recv(in, prev, tag));
      works.push_back(g_.backend->send(out, next, tag));
    }
    return std::make_unique<C10dTransfer>(std::move(works), std::vector<torch::Tensor>{send, recv});
  }

  std::vector<torch::Tensor> all_gather(const torch::Tensor& local) override {
    std::vector<torch::Tensor> in{local.contiguous()};
    std::vector<std::vector<torch::Tensor>> out(1);
    for (int r = 0; r < g_.size; ++r) out[0].push_back(torch::empty_like(in[0]));
    g_.backend->allgather(out, in)->wait();
    return out[0];
  }

 private:
  Group g_;
};

}  // namespace

c10::intrusive_ptr<c10d::Store> connect_store(const DistEnv& env, std::chrono::milliseconds timeout, bool client) {
  c10d::TCPStoreOptions o;
  o.port = static_cast<std::uint16_t>(env.master_port);
  o.isServer = !env.agent_store && env.rank == 0 && !client;
  // Our own store (no torchrun agent): every rank's first connection counts itself in, and rank 0
  // returns once all have (a client that did not count in would leave it waiting to the timeout).
  o.waitWorkers = !env.agent_store && !client;
  if (o.waitWorkers) o.numWorkers = static_cast<std::size_t>(env.world);
  o.timeout = timeout;
  auto tcp = c10::make_intrusive<c10d::TCPStore>(env.master_addr, o);
  if (!env.agent_store) return tcp;
  return c10::make_intrusive<c10d::PrefixStore>(env.store_prefix, tcp);
}

Group make_group(const c10::intrusive_ptr<c10d::Store>& store, const std::string& name, const std::vector<int>& ranks,
                 int global_rank, const torch::Device& device, std::chrono::milliseconds timeout) {
  Group g;
  g.ranks = ranks;
  g.size = static_cast<int>(ranks.size());
  for (int r = 0; r < g.size; ++r)
    if (ranks[static_cast<size_t>(r)] == global_rank) g.rank = r;
  auto prefixed = c10::make_intrusive<c10d::PrefixStore>("ctxlab/pg/" + name, store);
  g.backend = make_backend(prefixed, g, device, timeout);
  g.nccl = device.is_cuda();
#if TORCH_VERSION_MAJOR >= 2
  g.process_group = wrap_backend(prefixed, g, device.type(),
                                 g.nccl ? c10d::ProcessGroup::BackendType::NCCL : c10d::ProcessGroup::BackendType::GLOO,
                                 g.nccl ? "nccl" : "gloo", "ctxlab_" + name, timeout);
#else
  g.process_group = g.backend;
#endif
  return g;
}

void shutdown_group(Group& g) {
  // NCCL's communicators are released explicitly (2.x warns otherwise); Gloo's go with the object.
  if (g.backend && g.nccl) {
    try {
      shutdown_backend(*g.backend);
    } catch (const std::exception&) {
    }
  }
  g.process_group.reset();
  g.backend.reset();
}

std::shared_ptr<RingComm> make_ring(const Group& g) { return std::make_shared<C10dRing>(g); }

}  // namespace ctx

#endif  // CTXLAB_HAVE_C10D
