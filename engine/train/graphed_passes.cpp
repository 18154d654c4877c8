// GraphedPasses; see graphed_passes.h.
#include "train/graphed_passes.h"

#include <torch/torch.h>

#include <utility>

#include "train/bf16_weights.h"
#include "train/precision.h"

namespace ctx {

GraphedPasses::GraphedPasses(LanguageModel model, Bf16Weights* bf16, std::string precision,
                             torch::Device device)
    : model_(std::move(model)), bf16_(bf16), precision_(std::move(precision)), device_(device) {}

void GraphedPasses::fill(const data::Batch& b) {
  const std::vector<int64_t> shape = {b.batch, b.seq};
  auto host = [&](const auto& v, torch::ScalarType t) {
    return torch::from_blob(const_cast<void*>(static_cast<const void*>(v.data())), shape, t);
  };
  const bool same = tokens_.defined() && tokens_.size(0) == b.batch && tokens_.size(1) == b.seq;
  if (!same) {  // a new shape: new inputs, a new graph
    release();
    tokens_ = host(b.tokens, torch::kLong).to(device_);
    targets_ = host(b.targets, torch::kLong).to(device_);
    positions_ = host(b.positions, torch::kFloat).to(device_);
    mask_ = host(b.loss_mask, torch::kFloat).to(device_);
    return;
  }
  // In stream order after the previous replay, which read them.
  tokens_.copy_(host(b.tokens, torch::kLong));
  targets_.copy_(host(b.targets, torch::kLong));
  positions_.copy_(host(b.positions, torch::kFloat));
  mask_.copy_(host(b.loss_mask, torch::kFloat));
}

void GraphedPasses::capture() {
  auto passes = [this] {
    Bf16Weights::Scope bf16(bf16_);  // bf16 copies for the passes, the masters again after
    {
      PrecisionScope precision(precision_, device_);  // the forward pass only, as autocast wants
      loss_ = model_->loss(tokens_, positions_, targets_, mask_);
    }
    loss_.backward();
  };
  graph_.capture(passes, model_->parameters());
}

std::optional<torch::Tensor> GraphedPasses::run(const data::Batch& batch) {
  if (failed()) return std::nullopt;
  fill(batch);
  if (!graph_.captured()) {
    try {
      capture();
    } catch (const std::runtime_error& e) {
      failure_ = e.what();
      release();
      return std::nullopt;
    }
  }
  graph_.replay();
  return loss_;
}

void GraphedPasses::release() {
  graph_.reset();
  loss_ = torch::Tensor();
  for (auto& p : model_->parameters())
    if (p.grad().defined()) p.mutable_grad() = torch::Tensor();  // they lived in the graph's pool
}

}  // namespace ctx
