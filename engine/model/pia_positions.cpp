// PIA: the sinusoid tables for one forward pass are built once and shared by every layer.
#include "model/pia_positions.h"

#include "model/absolute_positions.h"

namespace ctx {

void PiaPositions::prepare(const torch::Tensor& positions) {
  positions_ = positions.to(torch::kFloat);
  memo_m_ = -1;
}

std::pair<torch::Tensor, torch::Tensor> PiaPositions::qk_inputs(const torch::Tensor& h, const torch::Tensor& hk,
                                                                int64_t) {
  const int64_t M = hk.size(1) - h.size(1);
  if (M != memo_m_) {
    auto q_ids = positions_ + (static_cast<double>(M) + offset_);
    auto k_ids = q_ids;
    if (M > 0) {
      auto mem_ids = (torch::arange(M, positions_.options()) + offset_).unsqueeze(0).expand({positions_.size(0), M});
      k_ids = torch::cat({mem_ids, q_ids}, 1);
    }
    pq_ = sinusoidal_table(q_ids, d_, base_);
    pk_ = sinusoidal_table(k_ids, d_, base_);
    memo_m_ = M;
  }
  return {h + pq_.to(h.scalar_type()), hk + pk_.to(hk.scalar_type())};
}

}  // namespace ctx
