// Parameter counts per model family, as gpt.cpp and llama.cpp build them.
#include "config/model_memory.h"

#include <unistd.h>

#include <cstdio>

namespace ctx {
namespace {

std::string gigabytes(double bytes) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3g GB", bytes / 1e9);
  return buf;
}

}  // namespace

double estimate_parameters(const ModelConfig& m, int64_t vocab) {
  const double d = static_cast<double>(m.d_model), V = static_cast<double>(vocab);
  const double h = static_cast<double>(m.heads), kv = static_cast<double>(m.kv_head_count());
  const double hd = static_cast<double>(m.head_dim()), f = static_cast<double>(m.ffn_width());
  double block = 0;
  if (m.arch == "llama") {
    block = d * h * hd + 2 * d * kv * hd + h * hd * d + 3 * d * f + 2 * d;
  } else {
    block = 4 * d * d + 2 * d * f + 4 * d;
  }
  double total = static_cast<double>(m.layers) * block + V * d + d;
  if (m.arch == "llama" && !m.tie_embeddings) total += V * d;
  // Position tables that grow with max_positions (the others are small or hold no parameters).
  if (m.position == "learned" || m.position == "sinusoidal")
    total += static_cast<double>(m.max_positions) * d;
  return total;
}

void check_model_fits(const RunConfig& c, int64_t vocab, double memory_bytes) {
  if (c.train.device != "cpu") return;
  if (memory_bytes <= 0) {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return;
    memory_bytes = static_cast<double>(pages) * static_cast<double>(page);
  }
  const double params = estimate_parameters(c.model, vocab);
  const double need = 16.0 * params;
  if (need <= memory_bytes) return;
  char count[32];
  std::snprintf(count, sizeof count, "%.3g", params);
  throw ConfigError("model: about " + std::string(count) + " parameters (" +
                    std::to_string(c.model.layers) + " layers, d_model " +
                    std::to_string(c.model.d_model) + ", vocabulary " + std::to_string(vocab) +
                    ") need " + gigabytes(need) +
                    " to train (weights, gradients, AdamW moments), more than this machine's " +
                    gigabytes(memory_bytes));
}

}  // namespace ctx
