// Position-id and distance counting for runs.
#include "train/position_stats.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace ctx {
namespace {

void bump(std::vector<int64_t>& v, double x) {
  if (!(x >= 0)) return;
  const auto k = static_cast<size_t>(std::floor(x));
  if (k >= v.size()) v.resize(k + 1, 0);
  v[k]++;
}

store::Artifact counts_artifact(const std::string& name, int64_t step, const std::vector<int64_t>& v) {
  store::Artifact a;
  a.name = name;
  a.step = step;
  a.dtype = "i64";
  a.shape = {static_cast<int64_t>(v.size())};
  a.data.resize(v.size() * sizeof(int64_t));
  if (!v.empty()) std::memcpy(a.data.data(), v.data(), a.data.size());
  return a;
}

}  // namespace

void PositionStats::add(const std::vector<data::Example>& batch) {
  last_info_.clear();
  for (const auto& ex : batch) {
    for (float p : ex.positions) bump(ids_, p);
    for (const auto& [k, v] : ex.info) last_info_["sampler/" + k] += v / static_cast<double>(batch.size());
  }
  if (batch.empty()) return;
  const auto& pos = batch.front().positions;
  const size_t T = pos.size();
  const size_t stride = std::max<size_t>(1, T / 256);
  for (size_t q = 0; q < T; q += stride)
    for (size_t k = 0; k <= q; k += stride) bump(dists_, static_cast<double>(pos[q]) - static_cast<double>(pos[k]));
}

void PositionStats::save(store::RunStore& db, int64_t run, int64_t step) const {
  db.transaction([&] {
    db.put_artifact(run, counts_artifact("positions/ids", step, ids_));
    db.put_artifact(run, counts_artifact("positions/distances", step, dists_));
  });
}

void PositionStats::load(const store::RunStore& db, int64_t run, int64_t step) {
  auto read = [&](const std::string& name, std::vector<int64_t>& out) {
    auto a = db.artifact(run, name, step);
    if (!a || a->dtype != "i64") return;
    out.resize(a->data.size() / sizeof(int64_t));
    if (!out.empty()) std::memcpy(out.data(), a->data.data(), out.size() * sizeof(int64_t));
  };
  read("positions/ids", ids_);
  read("positions/distances", dists_);
}

}  // namespace ctx
