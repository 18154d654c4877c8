// Ring attention: attention blocks with their log-sum-exps (flash kernel or exact softmax), the
// merge, the zigzag layout, and the ring's forward and backward as one custom autograd function.
// Accumulators (output, log-sum-exp, gradients, travelling key/value gradients) are fp32.
#include "model/ring_attention.h"

#include <torch/autograd.h>

#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <stdexcept>

#include "model/flash_block.h"

namespace ctx {
namespace {

constexpr int kKeyValueTag = 1, kGradTag = 2;

torch::Tensor rows(const torch::Tensor& t, int64_t r0, int64_t n) { return t.narrow(2, r0, n); }

// Keys a causal row chunk [r0, r1) can see: 0 .. r1 - 1 (true = masked beyond its own index).
torch::Tensor causal_block_mask(int64_t r0, int64_t r1, const torch::Device& dev) {
  auto opts = torch::TensorOptions().dtype(torch::kLong).device(dev);
  auto qi = torch::arange(r0, r1, opts).unsqueeze(1);
  auto kj = torch::arange(r1, opts).unsqueeze(0);
  return kj > qi;
}

std::pair<torch::Tensor, torch::Tensor> exact_block(const torch::Tensor& q, const torch::Tensor& k,
                                                    const torch::Tensor& v, bool causal, int64_t chunk) {
  const int64_t tq = q.size(2), tk = k.size(2);
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  auto out = torch::empty({q.size(0), q.size(1), tq, q.size(3)}, q.options().dtype(torch::kFloat));
  auto lse = torch::empty({q.size(0), q.size(1), tq}, q.options().dtype(torch::kFloat));
  for (int64_t r0 = 0; r0 < tq; r0 += chunk) {
    const int64_t r1 = std::min(tq, r0 + chunk);
    const int64_t kn = causal ? r1 : tk;
    auto s = torch::matmul(rows(q, r0, r1 - r0), k.narrow(2, 0, kn).transpose(-2, -1)).to(torch::kFloat).mul_(scale);
    if (causal) s.masked_fill_(causal_block_mask(r0, r1, q.device()), -std::numeric_limits<float>::infinity());
    auto l = torch::logsumexp(s, -1);
    auto p = torch::exp(s - l.unsqueeze(-1));
    out.narrow(2, r0, r1 - r0).copy_(torch::matmul(p.to(v.scalar_type()), v.narrow(2, 0, kn)));
    lse.narrow(2, r0, r1 - r0).copy_(l);
  }
  return {out, lse};
}

BlockGrads exact_block_backward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                const torch::Tensor& grad_out, const torch::Tensor& lse,
                                const torch::Tensor& delta, bool causal, int64_t chunk) {
  const int64_t tq = q.size(2), tk = k.size(2);
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  auto qf = q.to(torch::kFloat), kf = k.to(torch::kFloat), vf = v.to(torch::kFloat);
  auto go = grad_out.to(torch::kFloat);
  const auto lse_f = lse.to(torch::kFloat), delta_f = delta.to(torch::kFloat);  // fp32 throughout
  BlockGrads g{torch::zeros_like(qf), torch::zeros_like(kf), torch::zeros_like(vf)};
  for (int64_t r0 = 0; r0 < tq; r0 += chunk) {
    const int64_t r1 = std::min(tq, r0 + chunk), n = r1 - r0;
    const int64_t kn = causal ? r1 : tk;
    auto kc = kf.narrow(2, 0, kn), vc = vf.narrow(2, 0, kn);
    auto qc = rows(qf, r0, n), goc = rows(go, r0, n);
    auto s = torch::matmul(qc, kc.transpose(-2, -1)).mul_(scale);
    if (causal) s.masked_fill_(causal_block_mask(r0, r1, q.device()), -std::numeric_limits<float>::infinity());
    auto p = torch::exp(s - lse_f.narrow(2, r0, n).unsqueeze(-1));  // the final softmax's probabilities
    g.dv.narrow(2, 0, kn).add_(torch::matmul(p.transpose(-2, -1), goc));
    auto ds = p * (torch::matmul(goc, vc.transpose(-2, -1)) - delta_f.narrow(2, r0, n).unsqueeze(-1));
    rows(g.dq, r0, n).copy_(torch::matmul(ds, kc).mul_(scale));
    g.dk.narrow(2, 0, kn).add_(torch::matmul(ds.transpose(-2, -1), qc).mul_(scale));
  }
  return g;
}

int64_t chunk_or_all(int64_t chunk, int64_t rows) { return chunk > 0 ? chunk : std::max<int64_t>(rows, 1); }

// Rings by id: autograd contexts hold only tensors and IValues.
struct RingRegistry {
  std::mutex mutex;
  std::map<int64_t, std::shared_ptr<RingComm>> rings;
  std::map<const RingComm*, int64_t> ids;
  int64_t id_of(const std::shared_ptr<RingComm>& r) {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = ids.find(r.get());
    if (it != ids.end()) return it->second;
    const int64_t id = static_cast<int64_t>(rings.size()) + 1;
    rings[id] = r;
    ids[r.get()] = id;
    return id;
  }
  std::shared_ptr<RingComm> get(int64_t id) {
    std::lock_guard<std::mutex> lock(mutex);
    return rings.at(id);
  }
};

RingRegistry& registry() {
  static RingRegistry r;
  return r;
}

// Query rows a ring block uses and key rows of the holder's part (first chunk or all).
struct BlockSpan {
  int64_t q0, qn, kn;
  bool causal;
};
BlockSpan span_of(RingBlock b, int64_t n) {
  const int64_t c = n / 2;
  switch (b) {
    case RingBlock::Diagonal:
      return {0, n, n, true};
    case RingBlock::AllQueriesFirstKeys:
      return {0, n, c, false};
    case RingBlock::LastQueriesAllKeys:
      return {c, c, n, false};
  }
  return {0, n, n, true};
}

// The rank's output and log-sum-exp after visiting every rank's keys and values.
std::pair<torch::Tensor, torch::Tensor> ring_forward(const torch::Tensor& q, const torch::Tensor& k,
                                                     const torch::Tensor& v, RingComm& ring) {
  const int64_t N = ring.size(), i = ring.rank(), n = q.size(2);
  auto kv = torch::stack({k, v}).contiguous();  // [2, B, H, n, D]
  torch::Tensor out, lse;
  for (int64_t s = 0; s < N; ++s) {
    torch::Tensor next;
    std::unique_ptr<RingTransfer> transfer;
    if (s + 1 < N) {
      next = torch::empty_like(kv);
      transfer = ring.exchange(kv, next, kKeyValueTag);
    }
    const auto sp = span_of(ring_block(i, (i - s + N) % N), n);
    auto [o, l] = attention_block(rows(q, sp.q0, sp.qn), kv[0].narrow(2, 0, sp.kn), kv[1].narrow(2, 0, sp.kn),
                                  sp.causal);
    if (s == 0) {
      out = o;
      lse = l;
    } else {
      auto os = rows(out, sp.q0, sp.qn);
      auto ls = lse.narrow(2, sp.q0, sp.qn);
      merge_attention_block(os, ls, o, l);
    }
    if (transfer) {
      transfer->wait();
      kv = next;
    }
  }
  return {out, lse};
}

// dq of the rank's queries, and dk, dv of its own keys and values (sent home around the ring).
BlockGrads ring_backward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                         const torch::Tensor& out, const torch::Tensor& lse, const torch::Tensor& grad_out,
                         RingComm& ring) {
  const int64_t N = ring.size(), i = ring.rank(), n = q.size(2);
  auto delta = (grad_out.to(torch::kFloat) * out.to(torch::kFloat)).sum(-1);  // [B, H, n]
  auto dq = torch::zeros(q.sizes(), q.options().dtype(torch::kFloat));
  auto kv = torch::stack({k, v}).contiguous();
  torch::Tensor sent, arriving;  // travelling gradients of one rank's keys and values [2, B, H, n, D]
  std::unique_ptr<RingTransfer> grads_in_flight;
  for (int64_t s = 0; s < N; ++s) {
    torch::Tensor next;
    std::unique_ptr<RingTransfer> transfer;
    if (s + 1 < N) {
      next = torch::empty_like(kv);
      transfer = ring.exchange(kv, next, kKeyValueTag);
    }
    const auto sp = span_of(ring_block(i, (i - s + N) % N), n);
    auto g = attention_block_backward(rows(q, sp.q0, sp.qn), kv[0].narrow(2, 0, sp.kn), kv[1].narrow(2, 0, sp.kn),
                                      rows(out, sp.q0, sp.qn), rows(grad_out, sp.q0, sp.qn),
                                      lse.narrow(2, sp.q0, sp.qn), delta.narrow(2, sp.q0, sp.qn), sp.causal);
    rows(dq, sp.q0, sp.qn).add_(g.dq);
    auto dkv = torch::zeros(kv.sizes(), kv.options().dtype(torch::kFloat));
    dkv[0].narrow(2, 0, sp.kn).copy_(g.dk);
    dkv[1].narrow(2, 0, sp.kn).copy_(g.dv);
    if (grads_in_flight) {  // what the ranks before added for these same keys and values
      grads_in_flight->wait();
      dkv.add_(arriving);
    }
    sent = dkv;
    arriving = torch::empty_like(dkv);
    grads_in_flight = ring.exchange(sent, arriving, kGradTag);
    if (transfer) {
      transfer->wait();
      kv = next;
    }
  }
  grads_in_flight->wait();  // this rank's own keys and values, having visited every rank
  return {dq, arriving[0], arriving[1]};
}

struct RingAttentionFn : torch::autograd::Function<RingAttentionFn> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& q,
                               const torch::Tensor& k, const torch::Tensor& v, int64_t ring_id) {
    auto ring = registry().get(ring_id);
    auto [out, lse] = ring_forward(q, k, v, *ring);
    auto o = out.to(q.scalar_type());
    ctx->saved_data["ring"] = ring_id;
    ctx->save_for_backward({q, k, v, o, lse});
    return o;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    auto ring = registry().get(ctx->saved_data["ring"].toInt());
    auto saved = ctx->get_saved_variables();
    const auto &q = saved[0], &k = saved[1], &v = saved[2];
    auto g = ring_backward(q, k, v, saved[3], saved[4], grad_out[0], *ring);
    return {g.dq.to(q.scalar_type()), g.dk.to(k.scalar_type()), g.dv.to(v.scalar_type()), torch::Tensor()};
  }
};

}  // namespace

void merge_attention_block(torch::Tensor& out, torch::Tensor& lse, const torch::Tensor& o_b,
                           const torch::Tensor& lse_b) {
  auto merged = torch::logaddexp(lse, lse_b);
  auto keep = torch::exp(lse - merged).unsqueeze(-1);
  auto take = torch::exp(lse_b - merged).unsqueeze(-1);
  out.mul_(keep).add_(o_b.to(torch::kFloat) * take);
  lse.copy_(merged);
}

std::pair<torch::Tensor, torch::Tensor> attention_block(const torch::Tensor& q, const torch::Tensor& k,
                                                        const torch::Tensor& v, bool causal,
                                                        int64_t row_chunk) {
  if (flash_block_usable(q, k))
    if (auto r = flash_block_forward(q, k, v, causal)) return {r->first.to(torch::kFloat), r->second};
  return exact_block(q, k, v, causal, chunk_or_all(row_chunk, q.size(2)));
}

BlockGrads attention_block_backward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                    const torch::Tensor& out, const torch::Tensor& grad_out,
                                    const torch::Tensor& lse, const torch::Tensor& delta, bool causal,
                                    int64_t row_chunk) {
  if (flash_block_usable(q, k))
    if (auto g = flash_block_backward(q, k, v, out, grad_out, lse, causal))
      return {g->dq.to(torch::kFloat), g->dk.to(torch::kFloat), g->dv.to(torch::kFloat)};
  return exact_block_backward(q, k, v, grad_out, lse, delta, causal, chunk_or_all(row_chunk, q.size(2)));
}

std::vector<int64_t> zigzag_indices(int64_t T, int64_t n_ranks, int64_t rank) {
  if (n_ranks < 1 || T % (2 * n_ranks) != 0 || rank < 0 || rank >= n_ranks)
    throw std::invalid_argument("zigzag: " + std::to_string(T) + " tokens do not split into 2 x " +
                                std::to_string(n_ranks) + " chunks");
  const int64_t c = T / (2 * n_ranks);
  std::vector<int64_t> idx;
  idx.reserve(static_cast<size_t>(2 * c));
  for (int64_t chunk : {rank, 2 * n_ranks - 1 - rank})
    for (int64_t t = 0; t < c; ++t) idx.push_back(chunk * c + t);
  return idx;
}

torch::Tensor zigzag_shard(const torch::Tensor& x, int64_t n_ranks, int64_t rank, int64_t dim) {
  const int64_t T = x.size(dim), c = T / (2 * n_ranks);
  zigzag_indices(T, n_ranks, rank);  // checks the split
  return torch::cat({x.narrow(dim, rank * c, c), x.narrow(dim, (2 * n_ranks - 1 - rank) * c, c)}, dim);
}

torch::Tensor zigzag_unshard(const std::vector<torch::Tensor>& parts, int64_t dim) {
  const int64_t N = static_cast<int64_t>(parts.size());
  const int64_t c = parts.front().size(dim) / 2;
  std::vector<torch::Tensor> chunks(static_cast<size_t>(2 * N));
  for (int64_t r = 0; r < N; ++r) {
    chunks[static_cast<size_t>(r)] = parts[static_cast<size_t>(r)].narrow(dim, 0, c);
    chunks[static_cast<size_t>(2 * N - 1 - r)] = parts[static_cast<size_t>(r)].narrow(dim, c, c);
  }
  return torch::cat(chunks, dim);
}

RingBlock ring_block(int64_t rank, int64_t owner) {
  if (owner == rank) return RingBlock::Diagonal;
  return owner < rank ? RingBlock::AllQueriesFirstKeys : RingBlock::LastQueriesAllKeys;
}

torch::Tensor ring_attention_reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                       int64_t n_ranks) {
  std::vector<torch::Tensor> parts;
  for (int64_t i = 0; i < n_ranks; ++i) {
    auto qi = zigzag_shard(q, n_ranks, i, 2);
    const int64_t n = qi.size(2);
    torch::Tensor out, lse;
    for (int64_t s = 0; s < n_ranks; ++s) {
      const int64_t owner = (i - s + n_ranks) % n_ranks;
      const auto sp = span_of(ring_block(i, owner), n);
      auto ko = zigzag_shard(k, n_ranks, owner, 2).narrow(2, 0, sp.kn);
      auto vo = zigzag_shard(v, n_ranks, owner, 2).narrow(2, 0, sp.kn);
      auto [o, l] = attention_block(rows(qi, sp.q0, sp.qn), ko, vo, sp.causal);
      if (s == 0) {
        out = o;
        lse = l;
        continue;
      }
      auto os = rows(out, sp.q0, sp.qn);
      auto ls = lse.narrow(2, sp.q0, sp.qn);
      merge_attention_block(os, ls, o, l);
    }
    parts.push_back(out);
  }
  return zigzag_unshard(parts, 2).to(q.scalar_type());
}

torch::Tensor ring_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                             const std::shared_ptr<RingComm>& ring) {
  if (q.size(2) % 2 != 0) throw std::invalid_argument("ring attention: a rank's part must hold two equal chunks");
  return RingAttentionFn::apply(q, k, v, registry().id_of(ring));
}

}  // namespace ctx
