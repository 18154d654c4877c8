// Retrieval results as curves and grids; see retrieval_data.h.
#include "widgets/retrieval_data.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

namespace ctx::gui {
namespace {

bool is_accuracy(const store::EvalRecord& e, const std::string& task) { return e.task == task && e.metric == "accuracy"; }

int extra_int(const store::EvalRecord& e, const char* key) {
  const auto j = nlohmann::json::parse(e.extra_json, nullptr, false);
  return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<int>() : -1;
}

size_t index_of(const std::vector<double>& v, double x) {
  return static_cast<size_t>(std::lower_bound(v.begin(), v.end(), x) - v.begin());
}

}  // namespace

Curve passkeyByLength(const std::vector<store::EvalRecord>& evals) {
  std::map<double, double> aggregate;
  std::map<double, std::pair<double, double>> by_depth;  // length -> (weighted sum, weight)
  for (const auto& e : evals) {
    if (!is_accuracy(e, "passkey")) continue;
    if (e.y < 0) {
      aggregate[e.x] = e.value;
    } else {
      const int n = extra_int(e, "trials");
      const double w = n > 0 ? n : 1.0;
      by_depth[e.x].first += w * e.value;
      by_depth[e.x].second += w;
    }
  }
  for (const auto& [L, sw] : by_depth)
    if (!aggregate.count(L)) aggregate[L] = sw.first / sw.second;
  Curve c;
  for (const auto& [L, a] : aggregate) {
    c.x.push_back(L);
    c.y.push_back(a);
  }
  return c;
}

DepthGrid depthGrid(const std::vector<store::EvalRecord>& evals, const std::string& task) {
  const double scale = task == "passkey" ? 100.0 : 1.0;
  std::set<double> ls, ds;
  for (const auto& e : evals)
    if (is_accuracy(e, task) && e.y >= 0) {
      ls.insert(e.x);
      ds.insert(e.y * scale);
    }
  DepthGrid g;
  g.lengths.assign(ls.begin(), ls.end());
  g.depths.assign(ds.begin(), ds.end());
  g.accuracy.assign(g.depths.size(), std::vector<double>(g.lengths.size(), NAN));
  g.trials.assign(g.depths.size(), std::vector<int>(g.lengths.size(), -1));
  g.correct = g.trials;
  for (const auto& e : evals) {
    if (!is_accuracy(e, task) || e.y < 0) continue;
    const size_t d = index_of(g.depths, e.y * scale), l = index_of(g.lengths, e.x);
    g.accuracy[d][l] = e.value;
    g.trials[d][l] = extra_int(e, "trials");
    g.correct[d][l] = extra_int(e, "correct");
  }
  return g;
}

std::map<double, Curve> kvByPosition(const std::vector<store::EvalRecord>& evals) {
  std::map<double, std::map<double, double>> pts;
  for (const auto& e : evals)
    if (is_accuracy(e, "kvretrieval")) pts[e.x][e.y] = e.value;
  std::map<double, Curve> out;
  for (const auto& [L, m] : pts)
    for (const auto& [pos, a] : m) {
      out[L].x.push_back(pos);
      out[L].y.push_back(a);
    }
  return out;
}

}  // namespace ctx::gui
