// RULER-style task tables, grids and effective lengths; see task_data.h.
#include "widgets/task_data.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

namespace ctx::gui {
namespace {

const char* const kOrder[] = {"niah_single_1",   "niah_single_2",   "niah_single_3", "niah_multikey_1",
                              "niah_multikey_2", "niah_multikey_3", "niah_multivalue", "niah_multiquery",
                              "vt",              "cwe",             "fwe"};

bool isCell(const store::EvalRecord& e) { return e.metric == "accuracy" && !rulerTaskName(e.task).empty(); }

struct Extra {
  double samples = 0, score_sum = NAN;
};

Extra extraOf(const store::EvalRecord& e) {
  Extra x;
  const auto j = nlohmann::json::parse(e.extra_json, nullptr, false);
  if (!j.is_object()) return x;
  if (auto it = j.find("samples"); it != j.end() && it->is_number()) x.samples = it->get<double>();
  if (auto it = j.find("score_sum"); it != j.end() && it->is_number()) x.score_sum = it->get<double>();
  return x;
}

// Mean of cells over depths: the y = -1 record when there is one, else weighted by samples when
// every record has them, else the plain mean.
struct Acc {
  double aggregate = NAN;
  int aggregate_samples = 0;
  double sum = 0, weighted = 0, weight = 0;
  int count = 0, samples = 0;
  bool all_weighted = true;
  void add(const store::EvalRecord& e) {
    const Extra x = extraOf(e);
    if (e.y < 0) {
      aggregate = e.value;
      aggregate_samples = static_cast<int>(x.samples);
      return;
    }
    sum += e.value;
    ++count;
    samples += static_cast<int>(x.samples);
    if (x.samples > 0) {
      weighted += std::isnan(x.score_sum) ? e.value * x.samples : x.score_sum;
      weight += x.samples;
    } else {
      all_weighted = false;
    }
  }
  double mean() const {
    if (!std::isnan(aggregate)) return aggregate;
    if (count == 0) return NAN;
    return all_weighted && weight > 0 ? weighted / weight : sum / count;
  }
  int n() const { return !std::isnan(aggregate) ? aggregate_samples : samples; }
};

size_t indexOf(const std::vector<double>& v, double x) {
  return static_cast<size_t>(std::lower_bound(v.begin(), v.end(), x) - v.begin());
}

}  // namespace

std::string rulerTaskName(const std::string& task) {
  static const std::string prefix = "ruler/";
  return task.size() > prefix.size() && task.compare(0, prefix.size(), prefix) == 0 ? task.substr(prefix.size())
                                                                                     : std::string();
}

void sortRulerTasks(std::vector<std::string>& tasks) {
  auto rank = [](const std::string& t) {
    const auto* end = std::end(kOrder);
    return static_cast<int>(std::find(std::begin(kOrder), end, t) - std::begin(kOrder));
  };
  std::sort(tasks.begin(), tasks.end(), [&](const std::string& a, const std::string& b) {
    const int ra = rank(a), rb = rank(b);
    return ra != rb ? ra < rb : a < b;
  });
}

int TaskTable::taskIndex(const std::string& task) const {
  const auto it = std::find(tasks.begin(), tasks.end(), task);
  return it == tasks.end() ? -1 : static_cast<int>(it - tasks.begin());
}

int TaskTable::lengthIndex(double length) const {
  const auto it = std::find(lengths.begin(), lengths.end(), length);
  return it == lengths.end() ? -1 : static_cast<int>(it - lengths.begin());
}

TaskTable taskTable(const std::vector<store::EvalRecord>& evals) {
  std::map<std::string, std::map<double, Acc>> cells;
  std::set<double> ls;
  for (const auto& e : evals)
    if (isCell(e)) {
      cells[rulerTaskName(e.task)][e.x].add(e);
      ls.insert(e.x);
    }
  TaskTable t;
  for (const auto& [task, row] : cells) t.tasks.push_back(task);
  sortRulerTasks(t.tasks);
  t.lengths.assign(ls.begin(), ls.end());
  t.score.assign(t.tasks.size(), std::vector<double>(t.lengths.size(), NAN));
  t.samples.assign(t.tasks.size(), std::vector<int>(t.lengths.size(), 0));
  for (size_t k = 0; k < t.tasks.size(); ++k)
    for (const auto& [L, acc] : cells[t.tasks[k]]) {
      const size_t l = indexOf(t.lengths, L);
      t.score[k][l] = acc.mean();
      t.samples[k][l] = acc.n();
    }
  // The engine's averages (what its effective length was judged on), else the mean over tasks.
  std::map<double, double> stored;
  int64_t stored_step = -1;
  for (const auto& e : evals) {
    if (e.task != "ruler" || e.mode != "effective_length" || e.step < stored_step) continue;
    const auto j = nlohmann::json::parse(e.extra_json, nullptr, false);
    if (!j.is_object() || !j.contains("averages") || !j["averages"].is_object()) continue;
    stored.clear();
    stored_step = e.step;
    for (auto it = j["averages"].begin(); it != j["averages"].end(); ++it) {
      try {
        if (it.value().is_number()) stored[std::stod(it.key())] = it.value().get<double>();
      } catch (const std::exception&) {
        // a key that is not a length: not an average the table can place
      }
    }
  }
  t.average.assign(t.lengths.size(), NAN);
  for (size_t l = 0; l < t.lengths.size(); ++l) {
    if (auto it = stored.find(t.lengths[l]); it != stored.end()) {
      t.average[l] = it->second;
      continue;
    }
    double sum = 0;
    int n = 0;
    for (size_t k = 0; k < t.tasks.size(); ++k)
      if (!std::isnan(t.score[k][l])) sum += t.score[k][l], ++n;
    if (n > 0) t.average[l] = sum / n;
  }
  return t;
}

std::string EffectiveLength::text() const {
  if (!present) return {};
  auto pct = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", 100 * v);
    return std::string(buf);
  };
  std::string why;
  if (!std::isnan(threshold)) {
    why = " (threshold " + pct(threshold);
    if (!std::isnan(reference_length))
      why += ": " + (std::isnan(reference_score) ? std::string("the reference") : pct(reference_score)) + " at " +
             std::to_string(static_cast<int64_t>(reference_length));
    why += ")";
  }
  if (length <= 0) return "no effective length" + why;
  return "effective length " + std::to_string(static_cast<int64_t>(length)) + why;
}

EffectiveLength effectiveLength(const std::vector<store::EvalRecord>& evals) {
  EffectiveLength out;
  int64_t step = -1;
  for (const auto& e : evals) {
    if (e.task != "ruler" || e.mode != "effective_length" || e.metric != "effective_length" || e.step < step) continue;
    step = e.step;
    out = EffectiveLength{};
    out.present = true;
    out.length = e.value;
    const auto j = nlohmann::json::parse(e.extra_json, nullptr, false);
    if (!j.is_object()) continue;
    auto num = [&](const char* k) { return j.contains(k) && j[k].is_number() ? j[k].get<double>() : NAN; };
    out.threshold = num("threshold");
    out.reference_length = num("reference_length");
    out.reference_score = num("reference_score");
  }
  return out;
}

std::vector<std::string> depthTasks(const std::vector<store::EvalRecord>& evals) {
  std::set<std::string> s;
  for (const auto& e : evals)
    if (isCell(e) && e.y >= 0) s.insert(rulerTaskName(e.task));
  std::vector<std::string> out(s.begin(), s.end());
  sortRulerTasks(out);
  return out;
}

TaskDepthGrid taskDepthGrid(const std::vector<store::EvalRecord>& evals, const std::string& task) {
  const std::string full = "ruler/" + task;
  std::set<double> ls, ds;
  for (const auto& e : evals)
    if (e.task == full && e.metric == "accuracy" && e.y >= 0) {
      ls.insert(e.x);
      ds.insert(e.y * 100);
    }
  TaskDepthGrid g;
  g.lengths.assign(ls.begin(), ls.end());
  g.depths.assign(ds.begin(), ds.end());
  g.score.assign(g.depths.size(), std::vector<double>(g.lengths.size(), NAN));
  g.samples.assign(g.depths.size(), std::vector<int>(g.lengths.size(), 0));
  for (const auto& e : evals)
    if (e.task == full && e.metric == "accuracy" && e.y >= 0) {
      const size_t d = indexOf(g.depths, e.y * 100), l = indexOf(g.lengths, e.x);
      g.score[d][l] = e.value;
      g.samples[d][l] = static_cast<int>(extraOf(e).samples);
    }
  return g;
}

}  // namespace ctx::gui
