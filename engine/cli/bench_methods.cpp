// bench --methods: per-step training cost of every sampler, RoPE scaling and position scheme on the
// default small model (sampling, forward, backward, clipping, AdamW, as the trainer steps), as a
// ratio to contiguous RoPE measured round-robin in the same process; and CLEX's ODE alone.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <unistd.h>

#include <torch/autograd.h>
#include <torch/nn/utils/clip_grad.h>

#include "cli/cli_common.h"
#include "model/clex_ode.h"
#include "train/runtime.h"
#include "data/corpus.h"
#include "methods/registry.h"
#include "train/trainer.h"

namespace ctx::cli {
namespace {

struct Row {
  std::string label;
  nlohmann::json patch;
};

// One method under test: its own model, optimizer, sampler and (for PIA) cache.
struct Contender {
  std::string label;
  RunConfig cfg;
  LanguageModel model{nullptr};
  std::unique_ptr<torch::optim::AdamW> opt;
  std::unique_ptr<PositionSampler> sampler;
  LayerMemory memory;
  bool uses_memory = false;
  std::vector<double> seconds;
};

RunConfig bench_config(const nlohmann::json& patch, const std::string& device) {
  nlohmann::json j = {{"name", "bench"},
                      {"model", {{"layers", 4}, {"d_model", 256}, {"heads", 4}, {"max_positions", 128}}},
                      {"data", {{"builtin_docs", 24}, {"builtin_doc_tokens", 4096}}},
                      {"train", {{"seq_len", 128}, {"batch_size", 16}, {"device", device}}},
                      {"eval", {{"enabled", false}}}};
  j.merge_patch(patch);
  return parse_run_config(j);
}

// One training step as the trainer takes it (sampling, forward, backward, clipping, AdamW), timed.
double timed_step(Contender& c, int64_t step, const torch::Device& dev) {
  const auto t0 = std::chrono::steady_clock::now();
  auto b = make_batch(*c.sampler, c.cfg.seed, step, 0, c.cfg.train.batch_size, c.cfg.train.tokens_before(step), nullptr);
  const std::vector<int64_t> shape = {b.batch, b.seq};
  auto tokens = torch::from_blob(b.tokens.data(), shape, torch::kLong).to(dev);
  auto targets = torch::from_blob(b.targets.data(), shape, torch::kLong).to(dev);
  auto positions = torch::from_blob(b.positions.data(), shape, torch::kFloat).to(dev);
  auto mask = torch::from_blob(b.loss_mask.data(), shape, torch::kFloat).to(dev);
  c.opt->zero_grad();
  auto loss = c.model->loss(tokens, positions, targets, mask, c.uses_memory ? &c.memory : nullptr);
  loss.backward();
  torch::nn::utils::clip_grad_norm_(c.model->parameters(), 1.0);
  c.opt->step();
  loss.item<double>();  // waits for the device
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int cmd_bench_methods(const Common& c, int64_t steps, const std::string& device) {
  const std::string dev_name = device.empty() ? "cpu" : device;
  const nlohmann::json L0 = {{"original_max_position_embeddings", 128}};
  auto scaling = [&](nlohmann::json s, bool with_l0 = true) {
    if (with_l0) s.merge_patch(L0);
    return nlohmann::json{{"rope_scaling", s}};
  };
  auto sampler = [](nlohmann::json s) { return nlohmann::json{{"train", {{"positions", s}}}}; };
  auto position = [](nlohmann::json s) { return nlohmann::json{{"model", {{"position", s}}}}; };
  const std::vector<Row> rows = {
      {"contiguous rope (baseline)", nlohmann::json::object()},
      {"contiguous rope (a second copy: the noise floor)", nlohmann::json::object()},
      {"scaling linear x4", scaling({{"rope_type", "linear"}, {"factor", 4}}, false)},
      {"scaling ntk x4", scaling({{"rope_type", "ntk"}, {"factor", 4}}, false)},
      {"scaling dynamic x2", scaling({{"rope_type", "dynamic"}, {"factor", 2}})},
      {"scaling yarn x4", scaling({{"rope_type", "yarn"}, {"factor", 4}})},
      {"scaling llama3 x4", scaling({{"rope_type", "llama3"}, {"factor", 4}})},
      {"scaling clex (max_t 16) + clex_positions",
       nlohmann::json{{"rope_scaling", {{"rope_type", "clex"}, {"max_factor", 16}, {"original_max_position_embeddings", 128}}},
                      {"train", {{"positions", {{"type", "clex_positions"}, {"max_t", 16}, {"original_len", 128}}}}}}},
      {"sampler chunk a=0.25 x4", sampler({{"type", "chunk"}})},
      {"sampler prefix a=0.25 x4", sampler({{"type", "prefix"}})},
      {"sampler randpos x4", sampler({{"type", "randpos"}})},
      {"sampler pose x4", sampler({{"type", "pose"}})},
      {"sampler cream k=4", sampler({{"type", "cream"}})},
      {"sampler e2llm g<=8", sampler({{"type", "e2llm"}, {"g_max", 8}})},
      {"sampler clex_positions t<=16", sampler({{"type", "clex_positions"}})},
      {"sampler consecutive", sampler("consecutive")},
      {"position learned", position("learned")},
      {"position alibi", position("alibi")},
      {"position relative (key_query)", position("relative")},
      {"position irpe (contextual)", position("irpe")},
      {"position pia + cache", nlohmann::json{{"model", {{"position", "pia"}}}, {"train", {{"positions", "consecutive"}}}}},
  };
  // Every contender is built up front; then each round times one step of each, in turn, so slow
  // spells of a shared machine fall on all of them alike. Ratios are medians of per-round ratios.
  const auto dev = resolve_device(dev_name);
  setup_threads(0);
  auto first = bench_config(rows[0].patch, dev_name);
  data::CorpusOptions co;
  co.builtin_docs = first.data.builtin_docs;
  co.builtin_doc_tokens = first.data.builtin_doc_tokens;
  const auto split = data::split_by_document(data::load_corpus(first.data.corpus, co), 0.1, first.seed);
  std::vector<Contender> cs;
  for (const auto& r : rows) {
    Contender c;
    c.label = r.label;
    c.cfg = bench_config(r.patch, dev_name);
    c.model = build_model(c.cfg);
    c.model->to(dev);
    c.opt = build_optimizer(c.model, c.cfg.train);
    SamplerContext sctx{&split.train, c.cfg.train.seq_len, c.cfg.model.max_positions};
    c.sampler = get_method(MethodKind::Sampler, c.cfg.train.positions, "train.positions.type")
                    ->sampler(c.cfg.train.positions_params, sctx);
    c.uses_memory = c.cfg.model.position == "pia";
    cs.push_back(std::move(c));
  }
  const int64_t warm = 2;
  for (int64_t round = 1; round <= steps + warm; ++round)
    for (auto& c : cs) {
      const double s = timed_step(c, round, dev);
      if (round > warm) c.seconds.push_back(s);
    }
  nlohmann::json out = nlohmann::json::array();
  const double base = median(cs[0].seconds);
  if (!c.json) std::printf("%-50s %12s %8s\n", "method (default small model, 16x128)", "ms/step", "ratio");
  for (const auto& m : cs) {
    std::vector<double> ratios;
    for (size_t i = 0; i < m.seconds.size(); ++i) ratios.push_back(m.seconds[i] / cs[0].seconds[i]);
    const double r = median(ratios), ms = median(m.seconds);
    out.push_back({{"method", m.label}, {"seconds_per_step", ms}, {"ratio", r}});
    if (!c.json) std::printf("%-50s %12.1f %8.3f\n", m.label.c_str(), ms * 1e3, r);
  }
  // CLEX's ODE by itself: forward and backward at the largest scale and at the mean sampled scale.
  ClexOptions o;
  o.rot_dim = 64;
  o.max_t = 16;
  ClexOde ode(o);
  auto ode_seconds = [&](int64_t t) {
    std::vector<double> v;
    for (int i = 0; i < 7; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      auto z = ode->solve(t);
      auto g = torch::autograd::grad({z[t - 1].sum()}, {ode->up, ode->down});
      v.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return *std::min_element(v.begin(), v.end());
  };
  const double ode16 = ode_seconds(16), ode8 = ode_seconds(8);
  if (c.json) {
    print_json({{"rows", out}, {"clex_ode_seconds_t16", ode16}, {"clex_ode_seconds_t8", ode8},
                {"baseline_seconds_per_step", base}});
  } else {
    std::printf("CLEX ODE forward+backward: t=16 %.2f ms (%.1f%% of a baseline step), t=8 %.2f ms (%.1f%%)\n",
                ode16 * 1e3, 100 * ode16 / base, ode8 * 1e3, 100 * ode8 / base);
  }
  return 0;
}

}  // namespace ctx::cli
