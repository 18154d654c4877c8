// Study files: strict parsing, dependency order, and the checks as pure functions of the results.
// Check kinds (each a JSON object with "kind"):
//   at_most            ppl(run, L) <= ppl(than, L) * (1 + tolerance) at every length
//   bounded            ppl(run, L) <= max_ratio * ppl(run, reference_length) at every length
//   blows_up           ppl(run, length) >= min_ratio * ppl(run, reference_length)
//   retrieval_at_least mean accuracy of run >= than's over the cells of `task` with y in [y_min,
//                      y_max], and run's mean above 0 and at least min_accuracy (default 0): two
//                      runs that both retrieve nothing there show nothing, so that never holds
#include "train/study.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>
#include <sstream>

#include "config/eval_modes.h"
#include "config/run_config.h"

namespace ctx {
namespace {

std::string num(double v) {
  std::ostringstream s;
  s.precision(4);
  s << v;
  return s.str();
}

template <class T>
T get(const nlohmann::json& j, const std::string& key, const std::string& where) {
  if (!j.contains(key)) throw ConfigError(where + "." + key + ": required");
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw ConfigError(where + "." + key + ": wrong type (got " + j.at(key).dump() + ")");
  }
}

void check_keys(const nlohmann::json& j, const std::set<std::string>& known,
                const std::string& where) {
  if (!j.is_object()) throw ConfigError(where + ": must be an object");
  for (auto& [k, v] : j.items())
    if (!known.count(k)) throw ConfigError(where + "." + k + ": unknown key");
}

double ppl_of(const StudyResults& r, const std::string& run, const std::string& mode, int64_t L,
              std::string* missing) {
  auto it = r.ppl.find(run);
  if (it != r.ppl.end()) {
    auto v = it->second.find({mode, L});
    if (v != it->second.end()) return v->second;
  }
  if (missing->empty())
    *missing = "no " + mode + " perplexity of " + run + " at " + std::to_string(L);
  return NAN;
}

CheckOutcome check_at_most(const nlohmann::json& c, const StudyResults& r) {
  const auto run = c["run"].get<std::string>(), than = c["than"].get<std::string>();
  const auto mode = c.value("mode", "nonoverlap");
  const double tol = c.value("tolerance", 0.0);
  CheckOutcome o;
  o.description = run + "'s perplexity is at most " + than + "'s" +
                  (tol > 0 ? " (+" + num(100 * tol) + " %)" : "");
  std::string missing;
  o.held = true;
  for (int64_t L : c["lengths"].get<std::vector<int64_t>>()) {
    const double a = ppl_of(r, run, mode, L, &missing), b = ppl_of(r, than, mode, L, &missing);
    o.detail +=
        (o.detail.empty() ? "" : "; ") + std::to_string(L) + ": " + num(a) + " vs " + num(b);
    o.held = o.held && std::isfinite(a) && std::isfinite(b) && a <= b * (1 + tol);
  }
  if (!missing.empty()) o.detail = missing;
  return o;
}

CheckOutcome check_bounded(const nlohmann::json& c, const StudyResults& r) {
  const auto run = c["run"].get<std::string>();
  const auto mode = c.value("mode", "nonoverlap");
  const auto ref_len = c["reference_length"].get<int64_t>();
  const double max_ratio = c["max_ratio"].get<double>();
  CheckOutcome o;
  o.description = run + "'s perplexity stays within " + num(max_ratio) + "x of its value at " +
                  std::to_string(ref_len);
  std::string missing;
  const double ref = ppl_of(r, run, mode, ref_len, &missing);
  o.held = std::isfinite(ref);
  for (int64_t L : c["lengths"].get<std::vector<int64_t>>()) {
    const double v = ppl_of(r, run, mode, L, &missing);
    o.detail += (o.detail.empty() ? "" : "; ") + std::to_string(L) + ": " + num(v / ref) + "x";
    o.held = o.held && std::isfinite(v) && v <= max_ratio * ref;
  }
  if (!missing.empty()) o.detail = missing;
  return o;
}

CheckOutcome check_blows_up(const nlohmann::json& c, const StudyResults& r) {
  const auto run = c["run"].get<std::string>();
  const auto mode = c.value("mode", "nonoverlap");
  const auto L = c["length"].get<int64_t>(), ref_len = c["reference_length"].get<int64_t>();
  const double min_ratio = c["min_ratio"].get<double>();
  CheckOutcome o;
  o.description = run + "'s perplexity at " + std::to_string(L) + " is at least " + num(min_ratio) +
                  "x its value at " + std::to_string(ref_len);
  std::string missing;
  const double ref = ppl_of(r, run, mode, ref_len, &missing), v = ppl_of(r, run, mode, L, &missing);
  o.held = std::isfinite(ref) && std::isfinite(v) && v >= min_ratio * ref;
  o.detail = missing.empty() ? num(v) + " vs " + num(ref) + " (" + num(v / ref) + "x)" : missing;
  return o;
}

CheckOutcome check_retrieval(const nlohmann::json& c, const StudyResults& r) {
  const auto run = c["run"].get<std::string>(), than = c["than"].get<std::string>();
  const auto task = c["task"].get<std::string>();
  const double lo = c.value("y_min", -1e300), hi = c.value("y_max", 1e300);
  const double min_acc = c.value("min_accuracy", 0.0);
  std::set<int64_t> lengths;
  if (c.contains("lengths"))
    for (auto L : c["lengths"].get<std::vector<int64_t>>()) lengths.insert(L);
  auto mean = [&](const std::string& who, int* n) -> double {
    double sum = 0;
    *n = 0;
    auto it = r.retrieval.find(who);
    if (it == r.retrieval.end() || !it->second.count(task)) return NAN;
    for (auto [L, y, acc] : it->second.at(task))
      if (y >= lo && y <= hi && (lengths.empty() || lengths.count(L))) {
        sum += acc;
        ++*n;
      }
    return *n ? sum / *n : NAN;
  };
  int na = 0, nb = 0;
  const double a = mean(run, &na), b = mean(than, &nb);
  CheckOutcome o;
  o.description = run + " retrieves (" + task + ") at least as well as " + than + " for y in [" +
                  num(lo) + ", " + num(hi) + "]";
  if (!lengths.empty()) {
    o.description += " at";
    for (auto L : lengths) o.description += " " + std::to_string(L);
    o.description += " tokens";
  }
  const bool shown = a > 0 && a >= min_acc;
  o.held = na > 0 && nb > 0 && a >= b && shown;
  o.detail = na && nb ? num(a) + " vs " + num(b) + " (" + std::to_string(na) + " cells)"
                      : "no " + task + " results of " + (na ? than : run) + " in that range";
  if (na && nb && a >= b && !shown)
    o.detail += a > 0 ? ": " + run + " is below min_accuracy " + num(min_acc) + " there"
                      : ": neither run retrieves there, so the comparison shows nothing";
  return o;
}

// The check registry: each kind's keys and evaluation.
struct CheckKind {
  std::set<std::string> keys;
  CheckOutcome (*evaluate)(const nlohmann::json&, const StudyResults&);
};

const std::map<std::string, CheckKind>& check_kinds() {
  static const std::map<std::string, CheckKind> kinds = {
      {"at_most", {{"kind", "run", "than", "lengths", "mode", "tolerance", "why"}, check_at_most}},
      {"bounded",
       {{"kind", "run", "lengths", "reference_length", "max_ratio", "mode", "why"}, check_bounded}},
      {"blows_up",
       {{"kind", "run", "length", "reference_length", "min_ratio", "mode", "why"}, check_blows_up}},
      {"retrieval_at_least",
       {{"kind", "run", "than", "task", "y_min", "y_max", "lengths", "min_accuracy", "why"},
        check_retrieval}},
  };
  return kinds;
}

void validate_check(const nlohmann::json& c, size_t i, const std::set<std::string>& names) {
  const std::string where = "checks[" + std::to_string(i) + "]";
  const auto kind = get<std::string>(c, "kind", where);
  auto it = check_kinds().find(kind);
  if (it == check_kinds().end())
    throw ConfigError(where + ".kind: unknown check '" + kind +
                      "' (at_most, bounded, blows_up, retrieval_at_least)");
  check_keys(c, it->second.keys, where);
  for (const char* key : {"run", "than"})
    if (c.contains(key) && !names.count(get<std::string>(c, key, where)))
      throw ConfigError(where + "." + key + ": no run '" + c[key].get<std::string>() +
                        "' in the study");
  if (c.contains("min_accuracy") &&
      !(c["min_accuracy"].is_number() && c["min_accuracy"].get<double>() >= 0 &&
        c["min_accuracy"].get<double>() <= 1))
    throw ConfigError(where + ".min_accuracy: must be a number in [0, 1] (got " +
                      c["min_accuracy"].dump() + ")");
}

}  // namespace

StudyFile parse_study(const nlohmann::json& j, const std::string& what) {
  try {
    check_keys(
        j,
        {"name", "claim", "paper", "figure", "plot", "setup", "base", "runs", "evaluations", "checks"},
        "study");
    StudyFile s;
    s.name = get<std::string>(j, "name", "study");
    s.claim = j.value("claim", "");
    s.paper = j.value("paper", "");
    s.figure = j.value("figure", "");
    s.setup = j.value("setup", "");
    if (!j.contains("base"))
      throw ConfigError("study.base: required (a preset, config, run_named or hf folder)");
    s.base = j["base"];
    check_keys(s.base, {"preset", "config", "run_named", "hf"}, "study.base");
    if (s.base.size() != 1)
      throw ConfigError("study.base: give exactly one of preset, config, run_named, hf");
    std::set<std::string> names = {"base"};
    const auto runs = j.value("runs", nlohmann::json::array());
    for (size_t i = 0; i < runs.size(); ++i) {
      const std::string where = "runs[" + std::to_string(i) + "]";
      check_keys(runs[i], {"name", "init", "preset", "config"}, where);
      StudyRun r;
      r.name = get<std::string>(runs[i], "name", where);
      r.init = runs[i].value("init", "base");
      r.preset = runs[i].value("preset", "");
      r.config = runs[i].value("config", nlohmann::json::object());
      if (!names.insert(r.name).second)
        throw ConfigError(where + ".name: '" + r.name + "' is used twice");
      s.runs.push_back(std::move(r));
    }
    for (size_t i = 0; i < s.runs.size(); ++i)
      if (!s.runs[i].init.empty() && !names.count(s.runs[i].init))
        throw ConfigError("runs[" + std::to_string(i) + "].init: no run '" + s.runs[i].init +
                          "' in the study");
    const auto evals = j.value("evaluations", nlohmann::json::array());
    for (size_t i = 0; i < evals.size(); ++i) {
      const std::string where = "evaluations[" + std::to_string(i) + "]";
      check_keys(evals[i], {"runs", "lengths", "mode"}, where);
      StudyEvaluation e;
      e.runs = evals[i].value("runs", std::vector<std::string>{});
      for (const auto& n : e.runs)
        if (!names.count(n)) throw ConfigError(where + ".runs: no run '" + n + "' in the study");
      e.lengths = get<std::vector<int64_t>>(evals[i], "lengths", where);
      e.mode = evals[i].value("mode", "nonoverlap");
      if (!is_eval_mode(e.mode))
        throw ConfigError(where + ".mode: unknown mode '" + e.mode + "' (" + kEvalModesText + ")");
      s.evaluations.push_back(std::move(e));
    }
    const auto checks = j.value("checks", nlohmann::json::array());
    for (size_t i = 0; i < checks.size(); ++i) {
      validate_check(checks[i], i, names);
      s.checks.push_back(checks[i]);
    }
    try {
      s.plot = parse_study_plot(j);
    } catch (const StudyPlotError& e) {
      throw ConfigError(e.what());
    }
    study_order(s);  // throws on a cycle
    return s;
  } catch (const ConfigError& e) {
    throw ConfigError(what + ": " + e.what());
  }
}

StudyFile read_study(const std::string& path) {
  return parse_study(read_config_file(path), path);
}

std::vector<std::string> study_order(const StudyFile& s) {
  std::map<std::string, std::string> parent;
  for (const auto& r : s.runs) parent[r.name] = r.init;
  std::vector<std::string> order;
  std::set<std::string> done = {"base"}, visiting;
  std::function<void(const std::string&)> visit = [&](const std::string& name) {
    if (done.count(name)) return;
    if (!visiting.insert(name).second)
      throw ConfigError("runs: '" + name + "' starts from itself through a cycle");
    const auto& p = parent[name];
    if (!p.empty()) visit(p);
    visiting.erase(name);
    done.insert(name);
    order.push_back(name);
  };
  for (const auto& r : s.runs) visit(r.name);
  return order;
}

std::vector<CheckOutcome> evaluate_checks(const StudyFile& s, const StudyResults& r) {
  std::vector<CheckOutcome> out;
  for (const auto& c : s.checks) {
    CheckOutcome o = check_kinds().at(c["kind"].get<std::string>()).evaluate(c, r);
    if (c.contains("why")) o.description += " (" + c["why"].get<std::string>() + ")";
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace ctx
