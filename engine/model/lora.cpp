// LoRA adapters: attached per projection name, trained while the base is frozen, merged for export.
#include "model/lora.h"

#include <algorithm>

#include "model/llama.h"

namespace ctx {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

bool is_lora_parameter(const std::string& name) {
  return ends_with(name, ".lora_A") || ends_with(name, ".lora_B");
}

int64_t apply_lora(LanguageModelImpl& model, const LoraConfig& cfg) {
  int64_t adapted = 0;
  for (auto& item : model.named_modules()) {
    auto* dense = item.value()->as<DenseImpl>();
    if (!dense) continue;
    const auto& name = item.key();
    const auto last = name.substr(name.rfind('.') + 1);
    if (std::find(cfg.targets.begin(), cfg.targets.end(), last) == cfg.targets.end()) continue;
    if (!dense->lora_A.defined()) dense->add_lora(cfg.rank, cfg.alpha);
    ++adapted;
  }
  for (auto& p : model.named_parameters()) {
    const auto& n = p.key();
    const bool embedding = n == "model.embed_tokens.weight" || n == "lm_head.weight";
    const bool norm = ends_with(n, "norm.weight");
    const bool trains = is_lora_parameter(n) || n.rfind("pos.", 0) == 0 ||
                        (cfg.train_embeddings && embedding) || (cfg.train_norms && norm);
    p.value().set_requires_grad(trains);
  }
  return adapted;
}

void merge_lora(LanguageModelImpl& model) {
  torch::NoGradGuard ng;
  for (auto& item : model.named_modules()) {
    auto* dense = item.value()->as<DenseImpl>();
    if (!dense || !dense->lora_A.defined()) continue;
    dense->weight.add_(torch::matmul(dense->lora_B, dense->lora_A)
                           .mul(dense->lora_scale)
                           .to(dense->weight.scalar_type()));
    dense->lora_B.zero_();
  }
}

}  // namespace ctx
