// Fixture data for the plot-tab tests: runs fed straight into a DataCache (as the follower would
// hand them over), a realistic three-run set for screenshots, and readers of what a plot holds.
#pragma once

#include <QCoreApplication>
#include <QElapsedTimer>

#include <cmath>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "widgets/data_cache.h"
#include "widgets/plot_view.h"

namespace ctx::gui::testing {

inline nlohmann::json run_config(int64_t seq_len, std::vector<int64_t> lengths = {128, 256, 512, 1024},
                                 nlohmann::json rope_scaling = nullptr, const std::string& mode = "nonoverlap") {
  return {{"name", "fixture"},
          {"model", {{"layers", 2}, {"d_model", 64}, {"heads", 2}, {"max_positions", 1024}, {"position", {{"type", "rope"}}}}},
          {"rope_scaling", rope_scaling},
          {"train", {{"seq_len", seq_len}, {"steps", 300}, {"positions", {{"type", "contiguous"}}}}},
          {"eval", {{"lengths", lengths}, {"mode", mode}}},
          {"_given", {{"x", 1}}}};
}

inline store::RunSummary run_summary(int64_t id, const std::string& name, const nlohmann::json& config) {
  store::RunSummary s;
  s.run.id = id;
  s.run.name = name;
  s.run.status = store::RunStatus::Running;
  s.run.config_json = config.dump();
  return s;
}

inline void add_runs(DataCache& cache, std::vector<store::RunSummary> runs) {
  auto b = std::make_shared<SummaryBatch>();
  b->full = true;
  b->runs = std::move(runs);
  cache.applySummaries(b);
}

inline void send(DataCache& cache, std::vector<DetailDelta> deltas) {
  cache.applyDetails(std::make_shared<const std::vector<DetailDelta>>(std::move(deltas)));
}

inline Series series(const std::vector<double>& steps, const std::vector<double>& values) {
  Series s;
  s.step = steps;
  s.value = values;
  s.wall.assign(steps.size(), 0.0);
  return s;
}

inline store::EvalRecord ppl_record(const std::string& mode, double length, double ppl,
                                    const std::string& metric = "ppl") {
  store::EvalRecord e;
  e.task = "ppl";
  e.mode = mode;
  e.x = length;
  e.metric = metric;
  e.value = ppl;
  e.step = 300;
  return e;
}

inline ArtifactPtr i64_artifact(const std::string& name, const std::vector<int64_t>& counts, int64_t step = 300) {
  auto a = std::make_shared<store::Artifact>();
  a->name = name;
  a->step = step;
  a->dtype = "i64";
  a->shape = {static_cast<int64_t>(counts.size())};
  a->data.resize(counts.size() * sizeof(int64_t));
  if (!counts.empty()) std::memcpy(a->data.data(), counts.data(), a->data.size());
  return a;
}

inline ArtifactPtr f32_artifact(const std::string& name, const std::vector<float>& v, int64_t step = 300) {
  return std::make_shared<const store::Artifact>(store::make_f32_artifact(name, step, v));
}

// A delta carrying artifacts: the blobs and the name -> steps index the follower sends with them.
inline void with_artifacts(DetailDelta& d, const std::vector<ArtifactPtr>& blobs) {
  std::map<std::string, std::vector<int64_t>> index;
  for (const auto& b : blobs) {
    index[b->name].push_back(b->step);
    d.blobs.push_back(b);
  }
  d.artifact_steps = index;
}

inline std::vector<std::pair<double, double>> points(const QCPGraph* g) {
  std::vector<std::pair<double, double>> out;
  for (auto it = g->data()->constBegin(); it != g->data()->constEnd(); ++it) out.emplace_back(it->key, it->value);
  return out;
}

inline QCPGraph* graph_named(const QCustomPlot* plot, const QString& name) {
  for (int i = 0; i < plot->graphCount(); ++i)
    if (plot->graph(i)->name() == name) return plot->graph(i);
  return nullptr;
}

// Texts of the visible text items (the empty-plot message, mark labels).
inline QStringList visible_texts(const QCustomPlot* plot) {
  QStringList out;
  for (int i = 0; i < plot->itemCount(); ++i)
    if (auto* t = qobject_cast<QCPItemText*>(plot->item(i)); t && t->visible() && !t->text().isEmpty())
      out << t->text();
  return out;
}

inline std::vector<double> vertical_lines(const QCustomPlot* plot) {
  std::vector<double> xs;
  for (int i = 0; i < plot->itemCount(); ++i)
    if (auto* l = qobject_cast<QCPItemStraightLine*>(plot->item(i))) xs.push_back(l->point1->coords().x());
  std::sort(xs.begin(), xs.end());
  return xs;
}

inline void process_events_for(int ms) {
  QElapsedTimer t;
  t.start();
  while (t.elapsed() < ms) QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
}

// Three runs as a real comparison looks: PI, YaRN and PoSE+YaRN trained at 128 (PoSE simulating
// 1024 within 128), 300 steps each, ppl at 128..1024 in both modes, per-position loss and the
// position histograms. Deterministic (a fixed LCG for the noise).
inline void realistic_fixture(DataCache& cache, QVector<qint64>& ids) {
  const nlohmann::json yarn = {{"rope_type", "yarn"}, {"factor", 8}, {"original_max_position_embeddings", 128}};
  const nlohmann::json pi = {{"rope_type", "linear"}, {"factor", 8}};
  add_runs(cache, {run_summary(1, "pi-x8", run_config(128, {128, 256, 512, 1024}, pi)),
                   run_summary(2, "yarn-x8", run_config(128, {128, 256, 512, 1024}, yarn)),
                   run_summary(3, "pose-yarn-x8", run_config(256, {128, 256, 512, 1024}, yarn))});
  ids = {1, 2, 3};
  cache.setWatched(ids);
  uint64_t state = 12345;
  auto noise = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) / 9007199254740992.0 - 0.5;
  };
  const double end_loss[] = {2.35, 2.2, 2.28};
  const double ppl_at[3][4] = {{10.4, 11.9, 16.8, 31.5}, {9.1, 9.5, 10.6, 12.9}, {9.6, 9.7, 10.1, 10.8}};
  const int lengths[] = {128, 256, 512, 1024};
  std::vector<DetailDelta> deltas;
  for (int r = 0; r < 3; ++r) {
    DetailDelta d;
    d.run = r + 1;
    d.reset = true;
    const int seq = r == 2 ? 256 : 128;
    std::vector<double> st, loss, lr, tps, tok;
    for (int s = 1; s <= 300; ++s) {
      st.push_back(s);
      loss.push_back(end_loss[r] + 5.8 * std::exp(-s / (35.0 + 10 * r)) + 0.18 * noise());
      const double warm = std::min(1.0, s / 30.0);
      lr.push_back(1e-3 * warm * (0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * std::max(0, s - 30) / 270.0))));
      tps.push_back((s == 1 ? 9000.0 : 41000.0 - 6000 * r) + 1500 * noise());
      tok.push_back(static_cast<double>(s) * 16 * seq);
    }
    d.appended["loss"] = series(st, loss);
    d.appended["lr"] = series(st, lr);
    d.appended["tokens_per_s"] = series(st, tps);
    d.appended["tokens_seen"] = series(st, tok);
    std::vector<store::EvalRecord> evals;
    std::vector<ArtifactPtr> blobs;
    for (int k = 0; k < 4; ++k)
      for (const char* mode : {"nonoverlap", "sliding"}) {
        const double v = ppl_at[r][k] * (std::string(mode) == "sliding" ? 0.93 : 1.0);
        evals.push_back(ppl_record(mode, lengths[k], v));
        evals.push_back(ppl_record(mode, lengths[k], std::log(v), "loss"));
        std::vector<float> pl(static_cast<size_t>(lengths[k]));
        for (size_t p = 0; p < pl.size(); ++p) {
          const double beyond = p > 128 ? std::log2(p / 128.0) : 0.0;
          const double grow = r == 0 ? 0.55 : r == 1 ? 0.12 : 0.04;
          pl[p] = static_cast<float>(end_loss[r] - 0.1 + 2.6 / (1 + p / 6.0) + grow * beyond * beyond + 0.25 * noise());
        }
        blobs.push_back(f32_artifact("position_loss/" + std::string(mode) + "/" + std::to_string(lengths[k]), pl));
      }
    d.evals = evals;
    std::vector<int64_t> idc(r == 2 ? 1024 : 128, 0), dist(r == 2 ? 1024 : 128, 0);
    for (size_t p = 0; p < idc.size(); ++p)
      idc[p] = r == 2 ? static_cast<int64_t>(4800 * (p < 64 ? 1.0 : 0.125 * (1.0 + 0.3 * noise()))) : 4800;
    for (size_t q = 0; q < dist.size(); ++q)
      dist[q] = static_cast<int64_t>((dist.size() - q) * 300 * (r == 2 ? 0.6 + 0.4 * std::exp(-static_cast<double>(q) / 200.0) : 1.0));
    blobs.push_back(i64_artifact("positions/ids", idc));
    blobs.push_back(i64_artifact("positions/distances", dist));
    with_artifacts(d, blobs);
    deltas.push_back(std::move(d));
  }
  send(cache, std::move(deltas));
}

}  // namespace ctx::gui::testing
