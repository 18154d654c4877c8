// The attention tape (see the header): a per-block list of kernel results, recorded in the
// checkpointed block's graph-free forward and consumed in order by its recomputation.
#include "model/saved_attention.h"

#include <torch/autograd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "model/attention.h"
#include "model/flash_block.h"

namespace ctx {

class AttentionTape {
 public:
  // One per attention call of the block; nothing where the call was not taped.
  std::vector<std::optional<LseForward>> entries;
  size_t next = 0;
};

namespace {

thread_local std::shared_ptr<AttentionTape> t_tape;
thread_local AttentionTapeScope::Mode t_mode = AttentionTapeScope::Mode::record;
std::atomic<int64_t> g_recorded{0}, g_replayed{0};  // any thread: replays run on autograd's

// cuDNN's fused attention where it takes the call (SDPA's own first choice on Hopper), flash
// otherwise. CTXLAB_TAPE_KERNEL=flash|cudnn forces one (the bench compares them).
std::optional<LseKernel> pick_kernel(const torch::Tensor& q) {
  const char* forced = std::getenv("CTXLAB_TAPE_KERNEL");
  const bool only_flash = forced && std::strcmp(forced, "flash") == 0;
  const bool only_cudnn = forced && std::strcmp(forced, "cudnn") == 0;
  if (!only_flash && lse_kernel_usable(LseKernel::cudnn, q, q)) return LseKernel::cudnn;
  if (!only_cudnn && lse_kernel_usable(LseKernel::flash, q, q)) return LseKernel::flash;
  return std::nullopt;
}

// cuDNN takes as many key/value heads as query heads: grouped ones are repeated (in the replay
// under autograd, so their gradients sum back); flash reads them shared.
torch::Tensor heads_for(LseKernel kernel, const torch::Tensor& t, int64_t heads) {
  return kernel == LseKernel::flash ? t : repeat_kv_heads(t, heads);
}

// Replays a recorded call: the forward hands back the recorded output, the backward runs the
// kernel's backward on the recomputed q, k, v.
struct ReplayedAttention : torch::autograd::Function<ReplayedAttention> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                const torch::Tensor& q, const torch::Tensor& k,
                                                const torch::Tensor& v, const LseForward& rec) {
    ctx->save_for_backward({q, k, v, rec.out, rec.lse, rec.seed, rec.offset});
    ctx->saved_data["kernel"] = static_cast<int64_t>(rec.kernel);
    // A fresh alias, so that autograd attaches this node to it and not to the tape's tensor.
    return {rec.out.view_as(rec.out)};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    const auto s = ctx->get_saved_variables();
    LseForward rec;
    rec.kernel = static_cast<LseKernel>(ctx->saved_data["kernel"].toInt());
    rec.out = s[3];
    rec.lse = s[4];
    rec.seed = s[5];
    rec.offset = s[6];
    auto g = lse_attention_backward(rec, s[0], s[1], s[2], grad_out[0]);
    TORCH_CHECK(g, "attention tape: the kernel's backward failed for a recorded call");
    return {g->dq, g->dk, g->dv, torch::Tensor()};
  }
};

}  // namespace

std::shared_ptr<AttentionTape> new_attention_tape() {
  static const bool off = [] {
    const char* e = std::getenv("CTXLAB_RECOMPUTE_ATTENTION");
    return e && std::strcmp(e, "1") == 0;
  }();
  return off ? nullptr : std::make_shared<AttentionTape>();
}

AttentionTapeScope::AttentionTapeScope(std::shared_ptr<AttentionTape> tape, Mode mode)
    : previous_tape_(std::move(t_tape)), previous_mode_(t_mode) {
  t_tape = std::move(tape);
  t_mode = mode;
  if (t_tape && mode == Mode::replay) t_tape->next = 0;
}

AttentionTapeScope::~AttentionTapeScope() {
  t_tape = std::move(previous_tape_);
  t_mode = previous_mode_;
}

std::optional<torch::Tensor> taped_attention(const torch::Tensor& q, const torch::Tensor& k,
                                             const torch::Tensor& v) {
  if (!t_tape) return std::nullopt;
  auto& tape = *t_tape;
  if (t_mode == AttentionTapeScope::Mode::record) {
    std::optional<LseForward> rec;
    if (auto kernel = pick_kernel(q)) {
      const int64_t h = q.size(1);
      rec = lse_attention_forward(*kernel, q, heads_for(*kernel, k, h), heads_for(*kernel, v, h));
    }
    tape.entries.push_back(rec);  // an empty entry keeps the replay aligned
    if (!rec) return std::nullopt;
    ++g_recorded;
    return rec->out;
  }
  if (tape.next >= tape.entries.size()) return std::nullopt;
  auto& rec = tape.entries[tape.next++];
  if (!rec) return std::nullopt;
  const bool same_call = rec->out.size(0) == q.size(0) && rec->out.size(1) == q.size(1) &&
                         rec->out.size(2) == q.size(2) && rec->out.size(3) == v.size(3);
  TORCH_CHECK(same_call, "attention tape: the recomputed block called attention differently");
  const int64_t h = q.size(1);
  auto out = ReplayedAttention::apply(q, heads_for(rec->kernel, k, h), heads_for(rec->kernel, v, h),
                                      *rec)[0];
  rec.reset();  // the node holds what its backward needs; the tape lets go
  ++g_replayed;
  return out;
}

TapeCounts attention_tape_counts() {
  return {g_recorded.load(), g_replayed.load()};
}

}  // namespace ctx
