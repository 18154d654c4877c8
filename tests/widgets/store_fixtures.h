// A comparison store written through the store API as the engine writes it (RULER cells and the
// effective length, perplexity in three modes including longdoc, attention captures, training
// metrics with GPU memory and utilisation for a CUDA run), the values it holds for the tests to
// check against, and a DataCache filled from it by a real StoreFollower, as the window fills its own.
#pragma once

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QObject>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "analysis_fixtures.h"
#include "widgets/data_cache.h"
#include "widgets/store_follower.h"

namespace storefix {

using nlohmann::json;

// Run ids in the store: 1 yarn-x8 (CUDA, strong), 2 pi-x8 (CPU, weaker), 3 nope-base (no RULER).
constexpr int64_t kYarn = 1, kPi = 2, kBase = 3;
inline const std::vector<std::string> kTasks = {"niah_single_1",   "niah_single_2",   "niah_single_3", "niah_multikey_1",
                                                "niah_multikey_2", "niah_multikey_3", "niah_multivalue", "niah_multiquery",
                                                "vt",              "cwe",             "fwe"};
inline const std::vector<double> kRulerLengths = {1024, 2048, 4096, 8192};
inline const std::vector<double> kDepths = {0, 0.25, 0.5, 0.75, 1.0};
inline const std::vector<double> kPplLengths = {128, 256, 512, 1024, 2048, 4096, 8192};
constexpr double kThreshold = 0.856;  // RULER's: Llama-2-7B's score at 4K
constexpr int64_t kAttentionLength = 256;

inline bool hasDepths(const std::string& task) { return task.rfind("niah_single", 0) == 0 || task == "niah_multikey_1"; }
// Samples per cell: fewer at the middle depth, so a plain mean over depths differs from the true one.
inline int samplesAt(const std::string& task, double depth) { return !hasDepths(task) ? 40 : depth == 0.5 ? 10 : 20; }

// The stored score of a cell (a multiple of 1/samples); run 0 = yarn, 1 = pi.
inline double cellScore(int run, const std::string& task, double L, double depth) {
  const double skill[] = {0.99, 0.92}, decay[] = {0.035, 0.11};
  const auto t = static_cast<double>(std::find(kTasks.begin(), kTasks.end(), task) - kTasks.begin());
  double s = skill[run] - decay[run] * std::log2(L / 1024) - 0.012 * t - (depth == 0.5 ? 0.12 : 0.0);
  s = std::clamp(s, 0.0, 1.0);
  const int n = samplesAt(task, depth);
  return std::round(s * n) / n;
}

// What the tasks table must show: the cells' score over depths, weighted by their samples.
inline double taskScore(int run, const std::string& task, double L) {
  if (!hasDepths(task)) return cellScore(run, task, L, -1);
  double sum = 0, n = 0;
  for (double d : kDepths) {
    sum += cellScore(run, task, L, d) * samplesAt(task, d);
    n += samplesAt(task, d);
  }
  return sum / n;
}

inline double averageAt(int run, double L) {
  double sum = 0;
  for (const auto& t : kTasks) sum += taskScore(run, t, L);
  return sum / static_cast<double>(kTasks.size());
}

// The longest length whose average, and every shorter one's, reaches the threshold; 0 for none.
inline double effectiveLength(int run) {
  double eff = 0;
  for (double L : kRulerLengths) {
    if (averageAt(run, L) < kThreshold) break;
    eff = L;
  }
  return eff;
}

inline double ppl(int run, const std::string& mode, double L) {
  const double base[] = {9.1, 10.4, 11.0}, growth[] = {0.02, 0.09, 0.6};
  const double f = mode == "sliding" ? 0.93 : mode == "longdoc" ? 1.12 : 1.0;
  const double d = std::log2(L / 128);
  return base[run] * (1 + growth[run] * d * d) * f;
}

inline double gpuMemory(int step) { return 3.25 + 0.5 * std::sin(step / 7.0); }
inline double gpuUtil(int step) { return std::clamp(78 + 15 * std::sin(step / 5.0), 0.0, 100.0); }
// Attention captures: yarn at step 50, pi at step 100 (their maps differ).
inline int64_t attentionStep(int64_t run) { return run == kYarn ? 50 : 100; }

inline json runConfig(const std::string& name, json scaling, int64_t seq_len) {
  return {{"name", name},
          {"model", {{"layers", 2}, {"d_model", 64}, {"heads", 2}, {"max_positions", 1024}, {"position", {{"type", "rope"}}}}},
          {"rope_scaling", scaling},
          {"train", {{"seq_len", seq_len}, {"steps", 60}, {"positions", {{"type", "contiguous"}}}}},
          {"eval", {{"lengths", {1024, 2048, 4096, 8192}}, {"mode", "nonoverlap"}}}};
}

inline ctx::store::EvalRecord record(const std::string& task, const std::string& mode, double x, double y,
                                     const std::string& metric, double value, json extra = json::object()) {
  ctx::store::EvalRecord e;
  e.task = task;
  e.mode = mode;
  e.x = x;
  e.y = y;
  e.metric = metric;
  e.value = value;
  e.step = 60;
  e.extra_json = extra.dump();
  return e;
}

// Writes the store at `path`, replacing what was there.
inline void writeCompareStore(const std::string& path) {
  for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path + s);
  ctx::store::RunStore db(path);
  const json yarn = {{"rope_type", "yarn"}, {"factor", 8}, {"original_max_position_embeddings", 128}};
  const json pi = {{"rope_type", "linear"}, {"factor", 8}};
  const json configs[] = {runConfig("yarn-x8", yarn, 128), runConfig("pi-x8", pi, 128), runConfig("nope-base", nullptr, 128)};
  const char* methods[] = {"rope yarn x8 + contiguous", "rope linear x8 + contiguous", "rope + contiguous"};
  for (int k = 0; k < 3; ++k) {
    ctx::store::NewRun nr;
    nr.name = configs[k]["name"];
    nr.config_json = configs[k].dump();
    nr.method = methods[k];
    nr.status = ctx::store::RunStatus::Finished;
    nr.device = k == 0 ? "cuda:0" : "cpu";
    const int64_t id = db.create_run(nr);
    db.transaction([&] {
      for (int s = 1; s <= 60; ++s) {
        std::vector<std::pair<std::string, double>> v = {{"loss", 2.2 + 4.0 * std::exp(-s / 12.0) + 0.1 * k},
                                                         {"lr", 1e-3},
                                                         {"tokens_per_s", 40000.0 - 5000 * k},
                                                         {"tokens_seen", 2048.0 * s}};
        if (id == kYarn) {
          v.emplace_back("gpu_memory_gib", gpuMemory(s));
          v.emplace_back("gpu_util", gpuUtil(s));
        }
        db.log_metrics(id, s, v);
      }
      for (const char* mode : {"nonoverlap", "sliding", "longdoc"}) {
        if (id == kBase && std::string(mode) == "sliding") continue;
        for (double L : kPplLengths) {
          if (id == kBase && L > 2048) continue;
          const double p = ppl(k, mode, L);
          json extra = std::string(mode) == "longdoc"
                           ? json{{"docs", 12}, {"stride", L}, {"tokenizer", "byte"}, {"bos", false}}
                           : json::object();
          db.record_eval(id, record("ppl", mode, L, -1, "ppl", p, extra));
          db.record_eval(id, record("ppl", mode, L, -1, "loss", std::log(p), extra));
        }
      }
      if (id != kBase) {
        json averages = json::object();
        for (double L : kRulerLengths) {
          averages[std::to_string(static_cast<int64_t>(L))] = averageAt(k, L);
          for (const auto& t : kTasks) {
            const std::vector<double> depths = hasDepths(t) ? kDepths : std::vector<double>{-1};
            for (double d : depths) {
              const double v = cellScore(k, t, L, d);
              const int n = samplesAt(t, d);
              const json ex = json::array({{{"expected", "7314"}, {"got", v > 0.5 ? "7314" : "7341"}}});
              db.record_eval(id, record("ruler/" + t, "greedy", L, d, "accuracy", v,
                                        {{"samples", n}, {"score_sum", v * n}, {"examples", ex}}));
            }
          }
        }
        db.record_eval(id, record("ruler", "effective_length", 0, -1, "effective_length", effectiveLength(k),
                                  {{"threshold", kThreshold}, {"reference_length", 4096}, {"reference_score", kThreshold},
                                   {"averages", averages}}));
        for (int layer : {0, 1})
          for (const auto& a : fixture::attentionCapture(kAttentionLength, layer, attentionStep(id), {2, 16}))
            db.put_artifact(id, a);
      }
    });
  }
}

// The stored attention map of a run (the fixture's tiles), for comparing with what is drawn.
inline ctx::store::Artifact storedMap(int64_t run, int layer, const std::string& kind) {
  for (auto& a : fixture::attentionCapture(kAttentionLength, layer, attentionStep(run), {2, 16}))
    if (a.name == ctx::gui::attentionName(kAttentionLength, layer, kind)) return a;
  return {};
}

template <class F>
bool waitFor(F pred, int ms = 15000) {
  QElapsedTimer t;
  t.start();
  while (!pred() && t.elapsed() < ms) QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
  return pred();
}

// A DataCache fed from a store by a StoreFollower thread, wired as the main window wires them.
struct Live {
  ctx::gui::DataCache cache;
  QObject owner;
  ctx::gui::StoreFollower* follower = nullptr;

  explicit Live(const std::string& path) {
    using namespace ctx::gui;
    follower = startFollower(QString::fromStdString(path), &owner, 30);
    QObject::connect(follower, &StoreFollower::summariesReady, &cache, &DataCache::applySummaries);
    QObject::connect(follower, &StoreFollower::detailsReady, &cache, &DataCache::applyDetails);
    QObject::connect(follower, &StoreFollower::artifactReady, &cache, &DataCache::applyArtifact);
    QObject::connect(&cache, &DataCache::watchedChanged, follower, &StoreFollower::setWatched);
    QObject::connect(&cache, &DataCache::artifactWanted, follower, &StoreFollower::requestArtifact);
  }
  // Watches `runs` and waits until each one's evaluations and metrics are in the cache.
  bool watch(const QVector<qint64>& runs) {
    if (!waitFor([&] { return cache.runIds().size() >= 3; })) return false;
    cache.setWatched(runs);
    return waitFor([&] {
      for (qint64 r : runs) {
        const auto* d = cache.detail(r);
        if (!d || d->evals.empty() || !d->series.count("loss")) return false;
      }
      return true;
    });
  }
};

}  // namespace storefix
