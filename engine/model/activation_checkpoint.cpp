// A custom autograd function whose forward runs without a graph and whose backward re-runs the
// block with one; causal attention calls are not re-run but replayed from the attention tape. The
// block itself travels by id (autograd contexts hold only tensors and IValues).
#include "model/activation_checkpoint.h"

#include <torch/autograd.h>

#include <atomic>
#include <map>
#include <mutex>

#include "model/autocast_state.h"
#include "model/saved_attention.h"

namespace ctx {
namespace {

using Fn = std::function<torch::Tensor(const torch::Tensor&)>;

// A block waiting for its backward pass: the function, and the attention outputs its first
// forward recorded (model/saved_attention.h), which the recomputation replays.
struct Block {
  Fn fn;
  std::shared_ptr<AttentionTape> tape;
};

// Blocks waiting for their backward pass, by id.
struct Pending {
  std::mutex mutex;
  std::map<int64_t, Block> blocks;
  std::atomic<int64_t> next{1};
  int64_t put(Fn fn) {
    const int64_t id = next++;
    std::lock_guard<std::mutex> lock(mutex);
    blocks.emplace(id, Block{std::move(fn), new_attention_tape()});
    return id;
  }
  Block get(int64_t id) {
    std::lock_guard<std::mutex> lock(mutex);
    return blocks.at(id);
  }
  Block take(int64_t id) {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = blocks.find(id);
    Block b = std::move(it->second);
    blocks.erase(it);
    return b;
  }
};

Pending& pending() {
  static Pending p;
  return p;
}

struct Recompute : torch::autograd::Function<Recompute> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                const torch::Tensor& x, torch::TensorList params,
                                                int64_t id) {
    ctx->saved_data["id"] = id;
    // The backward pass runs outside the forward's precision scope: recompute under the same one.
    const auto autocast = cuda_autocast_state();
    ctx->saved_data["autocast"] = autocast.enabled;
    ctx->saved_data["autocast_dtype"] = static_cast<int64_t>(autocast.dtype);
    ctx->saved_data["params"] = static_cast<int64_t>(params.size());
    std::vector<torch::Tensor> saved = {x};
    saved.insert(saved.end(), params.begin(), params.end());
    ctx->save_for_backward(saved);
    // Autograd is off inside a custom function's forward: no graph is kept.
    const auto block = pending().get(id);
    AttentionTapeScope record(block.tape, AttentionTapeScope::Mode::record);
    return {block.fn(x)};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    const auto block = pending().take(ctx->saved_data["id"].toInt());
    auto saved = ctx->get_saved_variables();
    auto x = saved[0].detach().requires_grad_(saved[0].requires_grad());
    std::vector<torch::Tensor> inputs, params(saved.begin() + 1, saved.end());
    if (x.requires_grad()) inputs.push_back(x);
    for (const auto& p : params)
      if (p.requires_grad()) inputs.push_back(p);
    torch::Tensor y;
    {
      torch::AutoGradMode on(true);
      AutocastRestore precision(
          {ctx->saved_data["autocast"].toBool(),
           static_cast<c10::ScalarType>(ctx->saved_data["autocast_dtype"].toInt())});
      AttentionTapeScope replay(block.tape, AttentionTapeScope::Mode::replay);
      y = block.fn(x);
    }
    auto grads = inputs.empty()
                     ? std::vector<torch::Tensor>{}
                     // retain: tables the position scheme prepared once per forward (with
                     // their own graph) are shared by every block's recomputation
                     : torch::autograd::grad({y}, inputs, {grad_out[0]}, true, false, true);
    torch::autograd::variable_list out;
    size_t k = 0;
    out.push_back(x.requires_grad() ? grads[k++] : torch::Tensor());
    for (const auto& p : params) out.push_back(p.requires_grad() ? grads[k++] : torch::Tensor());
    out.push_back(torch::Tensor());  // the id
    return out;
  }
};

}  // namespace

torch::Tensor checkpointed(std::function<torch::Tensor(const torch::Tensor&)> fn,
                           const torch::Tensor& x, const std::vector<torch::Tensor>& params) {
  const int64_t id = pending().put(std::move(fn));
  // A TensorList, not the vector: autograd then counts each parameter as an input of its own.
  return Recompute::apply(x, torch::TensorList(params), id)[0];
}

}  // namespace ctx
