// Shortformer's position-infused attention (METHODS.md §5): fixed sinusoids added to the inputs of
// the query and key projections in every layer, never to the values or the residual stream, so the
// previous window's layer inputs can be cached and attended to with window-relative positions.
#pragma once

#include "model/position_scheme.h"

namespace ctx {

class PiaPositions : public PositionScheme {
 public:
  // `offset` is added to every window-relative id (fairseq's make_positions starts at
  // padding_idx + 1 = 2; 0 = ids from 0).
  PiaPositions(int64_t d_model, double base, bool cache, double offset = 0.0)
      : d_(d_model), base_(base), cache_(cache), offset_(offset) {}
  void prepare(const torch::Tensor& positions) override;
  bool infuses_qk() const override { return true; }
  // Queries take ids M + p (M cached states before the window); keys 0..M-1 then M + p (all plus
  // the offset).
  std::pair<torch::Tensor, torch::Tensor> qk_inputs(const torch::Tensor& h, const torch::Tensor& hk,
                                                    int64_t layer) override;
  bool caches_previous_window() const override { return cache_; }
  nlohmann::json describe() const override {
    return {{"type", "pia"}, {"base", base_}, {"cache", cache_}, {"position_offset", offset_}};
  }

 private:
  int64_t d_;
  double base_;
  bool cache_;
  double offset_;
  torch::Tensor positions_;
  int64_t memo_m_ = -1;  // the tables below are for this many cached states
  torch::Tensor pq_, pk_;
};

}  // namespace ctx
