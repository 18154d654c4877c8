// Fixtures for the analysis-tab tests: run summaries and details fed straight into a DataCache,
// synthetic attention captures and retrieval results with the shapes issue 5's engine writes, and the
// fixtures the tests share (run 7 with captures at two lengths, layers and steps; retrieval grids).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "widgets/attention_data.h"
#include "widgets/data_cache.h"

namespace fixture {

using ctx::store::Artifact;
using ctx::store::EvalRecord;
using ctx::store::RunSummary;

inline RunSummary run(int64_t id, const std::string& name, const nlohmann::json& config,
                      std::vector<RunSummary::Ppl> ppl = {}, double loss = NAN, int64_t step = 0) {
  RunSummary s;
  s.run.id = id;
  s.run.name = name;
  s.run.status = ctx::store::RunStatus::Finished;
  s.run.config_json = config.dump();
  s.run.method = name;
  s.ppl = std::move(ppl);
  if (!std::isnan(loss)) s.latest["loss"] = ctx::store::MetricPoint{step, loss, 0};
  return s;
}

inline void load(ctx::gui::DataCache& cache, const std::vector<RunSummary>& runs) {
  auto b = std::make_shared<ctx::gui::SummaryBatch>();
  b->full = true;
  b->runs = runs;
  cache.applySummaries(b);
  QVector<qint64> ids;
  for (const auto& r : runs) ids << r.run.id;
  cache.setWatched(ids);
}

// Gives a watched run its evaluations and artifacts; `with_blobs` false lists the artifacts only
// (as the follower does for attention maps) so the tab has to ask for them.
inline void details(ctx::gui::DataCache& cache, int64_t run, const std::vector<EvalRecord>& evals,
                    const std::vector<Artifact>& artifacts, bool with_blobs = true) {
  auto batch = std::make_shared<std::vector<ctx::gui::DetailDelta>>(1);
  auto& d = batch->front();
  d.run = run;
  d.reset = true;
  d.evals = evals;
  std::map<std::string, std::vector<int64_t>> steps;
  for (const auto& a : artifacts) {
    steps[a.name].push_back(a.step);
    if (with_blobs) d.blobs.push_back(std::make_shared<Artifact>(a));
  }
  for (auto& [n, s] : steps) {
    std::sort(s.begin(), s.end());
    s.erase(std::unique(s.begin(), s.end()), s.end());
  }
  d.artifact_steps = steps;
  cache.applyDetails(batch);
}

inline nlohmann::json ropeConfig(const std::string& name, nlohmann::json scaling, std::vector<int> lengths = {128, 256, 512, 1024}) {
  return {{"name", name},
          {"model", {{"layers", 2}, {"d_model", 64}, {"heads", 2}, {"max_positions", 1024}, {"position", {{"type", "rope"}, {"theta", 10000}}}}},
          {"rope_scaling", scaling},
          {"train", {{"seq_len", 128}, {"steps", 120}, {"positions", {{"type", "contiguous"}}}}},
          {"eval", {{"lengths", lengths}, {"mode", "nonoverlap"}}}};
}

// One capture of one (length, layer) at one step: tile maps with a sink on the first tile and
// locality that sharpens with training, and the profiles derived from them.
struct AttentionShape {
  int heads = 2, tiles = 8;
};

inline std::vector<Artifact> attentionCapture(int64_t L, int layer, int64_t step, AttentionShape s = {}) {
  using ctx::gui::attentionName;
  const int H = s.heads, G = s.tiles;
  std::vector<float> mean(static_cast<size_t>(H * G * G), 0.f), mx(mean.size(), 0.f), entropy(static_cast<size_t>(H * G)),
      sink(static_cast<size_t>(H * G));
  for (int h = 0; h < H; ++h) {
    const double tau = (0.6 + h + 0.4 * layer) * (1.0 + static_cast<double>(step) / 100.0);  // heads differ, training widens
    const double sink_w = 0.5 + 0.8 * h + 0.2 * layer;
    for (int i = 0; i < G; ++i) {
      std::vector<double> w(static_cast<size_t>(i + 1));
      double z = 0;
      for (int j = 0; j <= i; ++j) z += w[static_cast<size_t>(j)] = std::exp(-(i - j) / tau) + (j == 0 ? sink_w : 0.0);
      double ent = 0;
      for (int j = 0; j <= i; ++j) {
        const auto [k0, k1] = ctx::gui::tileRange(j, L, G);
        const double mass = w[static_cast<size_t>(j)] / z;
        const size_t at = static_cast<size_t>((h * G + i) * G + j);
        mean[at] = static_cast<float>(mass / static_cast<double>(k1 - k0));
        mx[at] = static_cast<float>(std::min(1.0, 3.0 * mass / std::sqrt(static_cast<double>(k1 - k0))));
        ent -= mass * std::log(mass);
      }
      const auto [q0, q1] = ctx::gui::tileRange(i, L, G);
      entropy[static_cast<size_t>(h * G + i)] = static_cast<float>(ent + std::log(0.5 * (q0 + q1) + 1) * 0.5);
      sink[static_cast<size_t>(h * G + i)] = static_cast<float>(w[0] / z * (i == 0 ? 1.0 : 0.8));
    }
  }
  std::vector<float> edges{0, 1};
  while (edges.back() < static_cast<float>(L)) edges.push_back(edges.back() * 2);
  const int B = static_cast<int>(edges.size()) - 1;
  std::vector<float> dist(static_cast<size_t>(H * B));
  for (int h = 0; h < H; ++h) {
    double z = 0;
    std::vector<double> m(static_cast<size_t>(B));
    for (int b = 0; b < B; ++b) z += m[static_cast<size_t>(b)] = (b == B - 1 ? 0.3 * (h + 1) : 0.0) + std::exp(-0.5 * std::pow(b - 2.0 - h - 0.01 * static_cast<double>(step), 2));
    for (int b = 0; b < B; ++b) dist[static_cast<size_t>(h * B + b)] = static_cast<float>(m[static_cast<size_t>(b)] / z);
  }
  using ctx::store::make_f32_artifact;
  return {make_f32_artifact(attentionName(L, layer, "mean"), step, mean, {H, G, G}),
          make_f32_artifact(attentionName(L, layer, "max"), step, mx, {H, G, G}),
          make_f32_artifact(attentionName(L, layer, "entropy"), step, entropy, {H, G}),
          make_f32_artifact(attentionName(L, layer, "sink"), step, sink, {H, G}),
          make_f32_artifact(attentionName(L, layer, "distance"), step, dist, {H, B}),
          make_f32_artifact(ctx::gui::distanceEdgesName(L), step, edges, {B + 1})};
}

inline EvalRecord acc(const std::string& task, double x, double y, double value, int trials = 10) {
  EvalRecord e;
  e.task = task;
  e.mode = "greedy";
  e.x = x;
  e.y = y;
  e.metric = "accuracy";
  e.value = value;
  e.extra_json = nlohmann::json{{"trials", trials}, {"correct", static_cast<int>(std::lround(value * trials))}}.dump();
  return e;
}

// Run 7: layers 0 and 1, lengths 128 and 300 (tiles that do not divide evenly), steps 50 and 100.
inline std::vector<ctx::store::Artifact> attentionFixture() {
  std::vector<ctx::store::Artifact> all;
  for (int64_t step : {50, 100})
    for (int layer : {0, 1})
      for (int64_t L : {128, 300}) {
        auto a = fixture::attentionCapture(L, layer, step);
        all.insert(all.end(), a.begin(), a.end());
      }
  return all;
}

inline std::vector<ctx::store::EvalRecord> attentionEvals() {
  std::vector<ctx::store::EvalRecord> ev;
  for (int64_t L : {128, 300})
    for (int layer : {0, 1}) {
      ctx::store::EvalRecord e;
      e.task = "attention";
      e.mode = "capture";
      e.x = static_cast<double>(L);
      e.y = layer;
      e.metric = "sink_mass";
      e.value = 0.4;
      e.extra_json = R"({"grid":8,"chunk":64,"sink_k":4,"heads":2,"probe":"builtin"})";
      ev.push_back(e);
    }
  return ev;
}

inline std::vector<float> stored(const std::vector<ctx::store::Artifact>& all, const std::string& name, int64_t step) {
  for (const auto& a : all)
    if (a.name == name && a.step == step) return ctx::store::artifact_as_f32(a);
  ADD_FAILURE() << "no " << name << " at " << step;
  return {};
}


inline std::vector<ctx::store::EvalRecord> retrievalFixture(double skill, bool hole) {
  std::vector<ctx::store::EvalRecord> ev;
  for (double L : {128, 256, 512, 1024, 2048}) {
    const double base = std::clamp(skill * 1.6 - std::log2(L / 128) * 0.2, 0.0, 1.0);
    ev.push_back(fixture::acc("passkey", L, -1, base));
    for (double depth : {0, 25, 50, 75, 100}) {
      if (hole && L == 2048 && depth == 50) continue;
      const double mid = 1 - 0.5 * std::sin(M_PI * depth / 100);  // worse in the middle
      ev.push_back(fixture::acc("needle", L, depth, std::round(10 * std::clamp(base * (0.6 + 0.4 * mid), 0.0, 1.0)) / 10));
    }
  }
  for (double L : {512, 1024})
    for (double pos : {0.1, 0.3, 0.5, 0.7, 0.9})
      ev.push_back(fixture::acc("kvretrieval", L, pos, std::clamp(skill - (L / 2048) * 0.3 - 0.5 * std::sin(M_PI * pos) + 0.3, 0.0, 1.0)));
  return ev;
}

}  // namespace fixture
