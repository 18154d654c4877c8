// Absolute position schemes added to the token embeddings: a learned table (fractional ids
// interpolate between neighbouring rows; ids past the table are an error) and fixed sinusoids.
#pragma once

#include <cmath>
#include <string>

#include <torch/nn/modules/embedding.h>

#include "model/position_scheme.h"

namespace ctx {

class LearnedPositions : public PositionScheme {
 public:
  LearnedPositions(int64_t rows, int64_t d_model, std::string interpolation = "stretch", std::string pad = "repeat");
  void prepare(const torch::Tensor& positions) override;
  torch::Tensor embed(const torch::Tensor& h) override;
  int64_t max_position() const override { return rows_; }
  torch::Tensor table() const { return table_; }
  // A table of fewer rows (L0) stretched to this one's (Lt) as METHODS.md §1 describes.
  torch::Tensor adapt_loaded(const std::string& name, const torch::Tensor& loaded) override;

 private:
  int64_t rows_;
  std::string interpolation_, pad_;
  torch::Tensor table_;
  torch::Tensor pe_;
};

class SinusoidalPositions : public PositionScheme {
 public:
  SinusoidalPositions(int64_t d_model, double base) : d_(d_model), base_(base) {}
  void prepare(const torch::Tensor& positions) override;
  // Token embeddings are scaled by sqrt(d) before the sinusoids are added (Vaswani et al.; fairseq's
  // embed_scale): unscaled, N(0, 0.02) embeddings would be swamped by sinusoids of magnitude 1.
  torch::Tensor embed(const torch::Tensor& h) override {
    return h * std::sqrt(static_cast<double>(d_)) + pe_.to(h.scalar_type());
  }

 private:
  int64_t d_;
  double base_;
  torch::Tensor pe_;
};

// METHODS.md §1's APE interpolation of an L0-row table E to `rows` rows ("stretch" or "endpoint").
torch::Tensor interpolate_table(const torch::Tensor& E, int64_t rows, const std::string& mode, const std::string& pad);

// fairseq-style sinusoids for ids [B, T]: sin half then cos half, [B, T, d].
torch::Tensor sinusoidal_table(const torch::Tensor& positions, int64_t d, double base);

}  // namespace ctx
