// The process-wide context-parallel state (installed ring, open scope and its span), the attention
// the layers route to while a scope is open, sharded evaluation losses, and the scheme check.
#include "model/context_parallel.h"

#include <atomic>
#include <cmath>
#include <mutex>
#include <stdexcept>

namespace ctx {
namespace {

std::mutex g_mutex;
std::shared_ptr<RingComm> g_ring;
std::atomic<int> g_open{0};
std::atomic<int64_t> g_span{0};

}  // namespace

void install_ring(std::shared_ptr<RingComm> ring) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_ring = std::move(ring);
}

std::shared_ptr<RingComm> installed_ring() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_ring;
}

ShardedSequence::ShardedSequence(const torch::Tensor& full_positions) {
  g_span = static_cast<int64_t>(std::floor(full_positions.max().item<double>())) + 1;  // as RopeScheme::prepare
  ++g_open;
}

ShardedSequence::~ShardedSequence() {
  if (--g_open == 0) g_span = 0;
}

bool sequence_sharded() { return g_open.load() > 0; }
int64_t sharded_span() { return g_span.load(); }

torch::Tensor sharded_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                const torch::Tensor& bias, bool causal) {
  if (bias.defined())
    throw std::runtime_error("context parallel: this position scheme adds a logit bias the ring cannot carry");
  if (!causal || q.size(2) != k.size(2))
    throw std::runtime_error("context parallel: only causal self-attention runs on the ring (no cache, no chunks)");
  auto ring = installed_ring();
  if (!ring) throw std::runtime_error("context parallel: no ring installed");
  return ring_attention(q, k, v, ring);
}

torch::Tensor context_parallel_token_losses(LanguageModel& model, const torch::Tensor& tokens,
                                            const torch::Tensor& positions, const torch::Tensor& targets,
                                            LayerMemory* memory) {
  auto ring = installed_ring();
  const int64_t T = tokens.size(1);
  if (!ring || memory || ring->size() < 2 || T % (2 * ring->size()) != 0)
    return model->token_losses(tokens, positions, targets, memory);
  const int64_t N = ring->size(), r = ring->rank();
  torch::Tensor local;
  {
    ShardedSequence scope(positions);
    local = model->token_losses(zigzag_shard(tokens, N, r), zigzag_shard(positions, N, r),
                                zigzag_shard(targets, N, r));
  }
  return zigzag_unshard(ring->all_gather(local.contiguous()), 1);
}

std::string context_parallel_refusal(const ModelConfig& model) {
  const auto& p = model.position;
  if (p == "alibi" || p == "relative" || p == "irpe")
    return "model.position '" + p + "' adds a T x T logit bias to attention, which the ring cannot carry " +
           "(rope with any scaling, learned, sinusoidal, nope and pia can)";
  if (p == "pia" && model.position_params.value("cache", false))
    return "model.position 'pia' with cache attends over the previous window, which the ring cannot carry "
           "(set cache false)";
  return "";
}

}  // namespace ctx
