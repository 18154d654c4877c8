// The Llama shapes `bench --shape` trains (bench_shapes.cpp), shared with the distributed bench
// (bench_dist.cpp): dimensions, the model built from one, its FLOPs per token, peak GPU memory.
#pragma once

#include <string>
#include <vector>

#include "model/language_model.h"

namespace ctx::cli {

struct Shape {
  std::string name;
  int64_t d, layers, heads, kv_heads, ffn, vocab, T, B;
  bool tie, lora, checkpointing;
};

extern const std::vector<Shape> kShapes;
constexpr double kH200PeakTflops = 989.0;

// Throws UsageError listing the shapes when `name` is none of them.
const Shape& find_shape(const std::string& name);
ModelConfig model_of(const Shape& s);
// Seeded (the same weights on every rank), on `dev`, in training mode, LoRA and checkpointing as
// the shape says.
LanguageModel build_shape_model(const Shape& s, const torch::Device& dev);
// 6 x (layer + head parameters) + 6 x layers x attention width x T.
double flops_per_token(const Shape& s, const LanguageModelImpl& model, int64_t T);
void reset_peak(const torch::Device& dev);
double peak_gib(const torch::Device& dev);  // -1 off CUDA

}  // namespace ctx::cli
