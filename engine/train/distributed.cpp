// The launch as the trainer sees it: environment, rings, collectives on small values, and the
// store messages by which rank 0 leads and a failing rank tells the others why. Where this
// LibTorch has no c10d process group, it builds without them and refuses a torchrun launch.
#include "train/distributed.h"

#include <atomic>
#include <cstdlib>
#include <thread>

#include "config/run_config.h"
#include "train/c10d_groups.h"

#ifdef CTXLAB_HAVE_NCCL
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace ctx {
namespace {

constexpr const char* kFailedKey = "ctxlab/failed";

int env_int(const char* name, int fallback, int lo) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  size_t used = 0;
  int n = 0;
  try {
    n = std::stoi(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != std::string(v).size() || n < lo)
    throw ConfigError(std::string(name) + ": '" + v + "' is not a " + (lo > 0 ? "positive" : "non-negative") +
                      " integer");
  return n;
}

std::string env_str(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

}  // namespace

DistEnv read_dist_env() {
  DistEnv e;
  e.world = env_int("WORLD_SIZE", 1, 1);
  if (e.world == 1) return e;
  e.rank = env_int("RANK", -1, 0);
  if (e.rank < 0) throw ConfigError("WORLD_SIZE is " + std::to_string(e.world) + " but RANK is not set");
  if (e.rank >= e.world)
    throw ConfigError("RANK " + std::to_string(e.rank) + " is not below WORLD_SIZE " + std::to_string(e.world));
  e.local_rank = env_int("LOCAL_RANK", e.rank, 0);
  e.local_world = env_int("LOCAL_WORLD_SIZE", e.world, 1);
  e.master_addr = env_str("MASTER_ADDR", "127.0.0.1");
  e.master_port = env_int("MASTER_PORT", 29500, 1);
  if (e.master_port > 65535) throw ConfigError("MASTER_PORT: " + std::to_string(e.master_port) + " is not a port");
  e.agent_store = env_str("TORCHELASTIC_USE_AGENT_STORE", "") == "True";
  if (e.agent_store) e.store_prefix = "/worker/attempt_" + env_str("TORCHELASTIC_RESTART_COUNT", "0");
  return e;
}

std::string dist_backends() {
  std::string out;
#ifdef CTXLAB_HAVE_GLOO
  out = "gloo";
#endif
#ifdef CTXLAB_HAVE_NCCL
  out += out.empty() ? "nccl" : ", nccl";
#endif
  return out;
}

#ifdef CTXLAB_HAVE_C10D

struct Distributed::Impl {
  DistEnv env;
  torch::Device device = torch::kCPU;
  std::chrono::milliseconds timeout{600000};
  int cp = 1;
  c10::intrusive_ptr<c10d::Store> store;
  Group world, ring_group;
  std::shared_ptr<RingComm> ring;
  std::thread watcher;
  std::atomic<bool> stop{false}, handled{false};
};

Distributed::Distributed(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Distributed::~Distributed() {
  impl_->stop = true;
  if (impl_->watcher.joinable()) impl_->watcher.join();
  impl_->ring.reset();
  shutdown_group(impl_->ring_group);
  shutdown_group(impl_->world);
}

std::unique_ptr<Distributed> Distributed::connect(const DistEnv& env, const torch::Device& device,
                                                  int64_t context_parallel, std::chrono::seconds timeout) {
  if (context_parallel < 1 || env.world % context_parallel != 0)
    throw ConfigError("train.context_parallel: " + std::to_string(context_parallel) + " does not divide the world size " +
                      std::to_string(env.world) + " (torchrun --nproc_per_node x nodes)");
  auto impl = std::make_unique<Impl>();
  impl->env = env;
  impl->device = device;
  impl->timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
  impl->cp = static_cast<int>(context_parallel);
#ifdef CTXLAB_HAVE_NCCL
  if (device.is_cuda()) c10::cuda::set_device(device.index());
#endif
  impl->store = connect_store(env, impl->timeout);
  std::vector<int> all(static_cast<size_t>(env.world));
  for (int r = 0; r < env.world; ++r) all[static_cast<size_t>(r)] = r;
  impl->world = make_group(impl->store, "world", all, env.rank, device, impl->timeout);
  if (impl->cp > 1) {
    const int first = env.rank / impl->cp * impl->cp;
    std::vector<int> members;
    for (int r = first; r < first + impl->cp; ++r) members.push_back(r);
    impl->ring_group = make_group(impl->store, "ring" + std::to_string(first / impl->cp), members, env.rank, device,
                                  impl->timeout);
    impl->ring = make_ring(impl->ring_group);
  }
  return std::unique_ptr<Distributed>(new Distributed(std::move(impl)));
}

int Distributed::rank() const { return impl_->env.rank; }
int Distributed::world() const { return impl_->env.world; }
int Distributed::local_world() const { return impl_->env.local_world; }
int Distributed::cp_size() const { return impl_->cp; }
int Distributed::cp_rank() const { return impl_->env.rank % impl_->cp; }
const torch::Device& Distributed::device() const { return impl_->device; }
std::chrono::milliseconds Distributed::timeout() const { return impl_->timeout; }
std::shared_ptr<RingComm> Distributed::ring() const { return impl_->ring; }
Group& Distributed::world_group() { return impl_->world; }

std::string Distributed::device_label() const {
  return std::string(impl_->device.is_cuda() ? "cuda" : "cpu") + " \u00d7 " + std::to_string(world());
}

void Distributed::all_reduce_sum(torch::Tensor& t) {
  std::vector<torch::Tensor> v{t};
  impl_->world.backend->allreduce(v)->wait();
}

void Distributed::all_reduce_max(torch::Tensor& t) {
  std::vector<torch::Tensor> v{t};
  c10d::AllreduceOptions o;
  o.reduceOp = c10d::ReduceOp::MAX;
  impl_->world.backend->allreduce(v, o)->wait();
}

void Distributed::broadcast(torch::Tensor& t, int root) {
  std::vector<torch::Tensor> v{t};
  c10d::BroadcastOptions o;
  o.rootRank = root;
  impl_->world.backend->broadcast(v, o)->wait();
}

void Distributed::send(const torch::Tensor& t, int to, int tag) {
  std::vector<torch::Tensor> v{t};
  impl_->world.backend->send(v, to, tag)->wait();
}

void Distributed::recv(torch::Tensor& t, int from, int tag) {
  std::vector<torch::Tensor> v{t};
  impl_->world.backend->recv(v, from, tag)->wait();
}

double Distributed::sum(double v) {
  auto t = torch::full({1}, v, torch::TensorOptions().dtype(torch::kDouble).device(impl_->device));
  all_reduce_sum(t);
  return t.item<double>();
}

bool Distributed::any(bool flag) {
  auto t = torch::full({1}, flag ? 1.0 : 0.0, torch::TensorOptions().dtype(torch::kFloat).device(impl_->device));
  all_reduce_max(t);
  return t.item<float>() > 0.5f;
}

void Distributed::barrier() { any(false); }

void Distributed::publish(const std::string& key, const std::string& value) {
  impl_->store->set("ctxlab/" + key, std::vector<uint8_t>(value.begin(), value.end()));
}

std::string Distributed::await(const std::string& key) {
  const std::string k = "ctxlab/" + key;
  const auto deadline = std::chrono::steady_clock::now() + impl_->timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (impl_->store->check({k})) {
      auto v = impl_->store->get(k);
      return std::string(v.begin(), v.end());
    }
    if (impl_->store->check({kFailedKey})) {
      auto v = impl_->store->get(kFailedKey);
      throw PeerFailure(std::string(v.begin(), v.end()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("rank " + std::to_string(rank()) + ": no word from rank 0 ('" + key + "') within " +
                           std::to_string(impl_->timeout.count() / 1000) + " s (train.dist_timeout)");
}

std::string Distributed::report_failure(const std::string& message) {
  const std::string line = message.rfind("rank ", 0) == 0 ? message : "rank " + std::to_string(rank()) + ": " + message;
  try {
    if (!impl_->store->check({kFailedKey}))
      impl_->store->set(kFailedKey, std::vector<uint8_t>(line.begin(), line.end()));
  } catch (const std::exception&) {
    // The store went with the rank that hosted it: nobody is left to tell.
  }
  return line;
}

std::optional<std::string> Distributed::reported_failure(std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  try {
    do {
      if (impl_->store->check({kFailedKey})) {
        auto v = impl_->store->get(kFailedKey);
        return std::string(v.begin(), v.end());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } while (std::chrono::steady_clock::now() < deadline);
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

void Distributed::watch_peers(std::function<void(const std::string&)> on_stuck, std::chrono::seconds grace) {
  Impl* impl = impl_.get();
  impl->watcher = std::thread([impl, on_stuck = std::move(on_stuck), grace] {
    c10::intrusive_ptr<c10d::Store> store;
    try {
      store = connect_store(impl->env, impl->timeout, true);  // a connection of its own
    } catch (const std::exception&) {
      return;
    }
    while (!impl->stop) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      std::string line;
      try {
        if (!store->check({kFailedKey})) continue;
        auto v = store->get(kFailedKey);
        line.assign(v.begin(), v.end());
      } catch (const std::exception&) {
        return;
      }
      const auto deadline = std::chrono::steady_clock::now() + grace;
      while (!impl->stop && !impl->handled && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (impl->stop || impl->handled) return;
      on_stuck(line);
      std::_Exit(1);
    }
  });
}

void Distributed::failure_handled() { impl_->handled = true; }

#else  // built without c10d: a launch is refused before anything else happens

struct Distributed::Impl {};
Distributed::Distributed(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Distributed::~Distributed() = default;

std::unique_ptr<Distributed> Distributed::connect(const DistEnv& env, const torch::Device&, int64_t,
                                                  std::chrono::seconds) {
  throw ConfigError("WORLD_SIZE is " + std::to_string(env.world) +
                    " but this ctxlab-cli was built without c10d process groups (no Gloo headers, no NCCL): "
                    "install libgloo-dev and rebuild, or run without torchrun");
}

namespace {
[[noreturn]] void unreachable() { throw std::logic_error("distributed: built without c10d"); }
}  // namespace
int Distributed::rank() const { return 0; }
int Distributed::world() const { return 1; }
int Distributed::local_world() const { return 1; }
int Distributed::cp_size() const { return 1; }
int Distributed::cp_rank() const { return 0; }
const torch::Device& Distributed::device() const { unreachable(); }
std::chrono::milliseconds Distributed::timeout() const { return {}; }
std::string Distributed::device_label() const { return "cpu"; }
void Distributed::all_reduce_sum(torch::Tensor&) { unreachable(); }
void Distributed::all_reduce_max(torch::Tensor&) { unreachable(); }
void Distributed::broadcast(torch::Tensor&, int) { unreachable(); }
void Distributed::send(const torch::Tensor&, int, int) { unreachable(); }
void Distributed::recv(torch::Tensor&, int, int) { unreachable(); }
double Distributed::sum(double v) { return v; }
bool Distributed::any(bool flag) { return flag; }
void Distributed::barrier() {}
std::shared_ptr<RingComm> Distributed::ring() const { return nullptr; }
Group& Distributed::world_group() { unreachable(); }
void Distributed::publish(const std::string&, const std::string&) { unreachable(); }
std::string Distributed::await(const std::string&) { unreachable(); }
std::string Distributed::report_failure(const std::string& message) { return message; }
std::optional<std::string> Distributed::reported_failure(std::chrono::milliseconds) { return std::nullopt; }
void Distributed::watch_peers(std::function<void(const std::string&)>, std::chrono::seconds) {}
void Distributed::failure_handled() {}

#endif

}  // namespace ctx
