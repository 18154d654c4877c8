// bench --methods: per-step training cost of every sampler, RoPE scaling and position scheme on the
// default small model, through the real trainer (sampling, forward, backward, AdamW, store writes),
// as a ratio to contiguous RoPE measured in the same run; and CLEX's ODE alone against a step.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <unistd.h>

#include <torch/autograd.h>

#include "cli/cli_common.h"
#include "model/clex_ode.h"
#include "train/runtime.h"
#include "train/trainer.h"

namespace fs = std::filesystem;

namespace ctx::cli {
namespace {

// Median step time after a warm-up: robust to the odd slow step a busy machine produces.
struct Timer : EventSink {
  int64_t warm = 3;
  double prev = 0;
  std::vector<double> steps;
  void on_step(const StepEvent& e) override {
    if (e.step > warm) steps.push_back(e.elapsed_s - prev);
    prev = e.elapsed_s;
  }
  double median() {
    std::sort(steps.begin(), steps.end());
    return steps.empty() ? 0 : steps[steps.size() / 2];
  }
};

struct Row {
  std::string label;
  nlohmann::json patch;
};

// Seconds per training step of `patch` applied to the default small model's config.
double step_seconds(const nlohmann::json& patch, int64_t steps, const std::string& device, const fs::path& dir) {
  nlohmann::json j = {{"name", "bench"},
                      {"model", {{"layers", 4}, {"d_model", 256}, {"heads", 4}, {"max_positions", 128}}},
                      {"data", {{"builtin_docs", 24}, {"builtin_doc_tokens", 4096}}},
                      {"train", {{"seq_len", 128}, {"batch_size", 16}, {"steps", steps + 3}, {"checkpoint_every", 0},
                                 {"device", device}}},
                      {"eval", {{"enabled", false}}}};
  j.merge_patch(patch);
  auto cfg = parse_run_config(j);
  const auto db_path = dir / "bench.db";
  for (auto s : {"", "-wal", "-shm"}) fs::remove(db_path.string() + s);
  fs::remove_all(dir / "bench.runs");
  store::RunStore db(db_path.string());
  auto prep = preflight(db, cfg);
  TrainRequest req;
  req.store = &db;
  req.run_id = create_run(db, cfg);
  req.config = cfg;
  req.prepared = prep;
  Timer t;
  auto out = run_training(req, t);
  if (out.status != store::RunStatus::Finished) throw std::runtime_error("bench run failed: " + out.error);
  return t.median();
}

}  // namespace

int cmd_bench_methods(const Common& c, int64_t steps, const std::string& device) {
  const std::string dev = device.empty() ? "cpu" : device;
  const fs::path dir = fs::temp_directory_path() / ("ctxlab-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const nlohmann::json L0 = {{"original_max_position_embeddings", 128}};
  auto scaling = [&](nlohmann::json s, bool with_l0 = true) {
    if (with_l0) s.merge_patch(L0);
    return nlohmann::json{{"rope_scaling", s}};
  };
  auto sampler = [](nlohmann::json s) { return nlohmann::json{{"train", {{"positions", s}}}}; };
  auto position = [](nlohmann::json s) { return nlohmann::json{{"model", {{"position", s}}}}; };
  const std::vector<Row> rows = {
      {"contiguous rope (baseline)", nlohmann::json::object()},
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
      {"contiguous rope (again)", nlohmann::json::object()},
  };
  nlohmann::json out = nlohmann::json::array();
  double base = 0;
  if (!c.json) std::printf("%-44s %12s %8s\n", "method (default small model, 16x128)", "ms/step", "ratio");
  for (const auto& r : rows) {
    const double s = step_seconds(r.patch, steps, dev, dir);
    if (base == 0) base = s;
    out.push_back({{"method", r.label}, {"seconds_per_step", s}, {"ratio", s / base}});
    if (!c.json) std::printf("%-44s %12.1f %8.3f\n", r.label.c_str(), s * 1e3, s / base);
    std::fflush(stdout);
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
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double ode16 = ode_seconds(16), ode8 = ode_seconds(8);
  if (c.json) {
    print_json({{"rows", out}, {"clex_ode_seconds_t16", ode16}, {"clex_ode_seconds_t8", ode8},
                {"baseline_seconds_per_step", base}});
  } else {
    std::printf("CLEX ODE forward+backward: t=16 %.2f ms (%.1f%% of a baseline step), t=8 %.2f ms (%.1f%%)\n",
                ode16 * 1e3, 100 * ode16 / base, ode8 * 1e3, 100 * ode8 / base);
  }
  fs::remove_all(dir);
  return 0;
}

}  // namespace ctx::cli
