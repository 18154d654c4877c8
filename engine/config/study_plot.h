// The figure of a study file (its "plot" object): which of the study's stored results the window
// draws and how. Header-only and free of LibTorch and Qt, like json_strict.h, so that the engine
// (train/study.cpp validates study files with it) and the window (widgets/study_view.cpp draws
// with it) read the same keys the same way without linking each other. Assumes the rest of the
// study object was validated by parse_study (run names are strings) or is read leniently.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "config/eval_modes.h"
#include "config/input_error.h"

namespace ctx {

// A bad "plot" value, as one line naming the key: "plot.kind: unknown kind 'x' (...)".
struct StudyPlotError : InputError {
  using InputError::InputError;
};

struct StudyPlot {
  // ppl_vs_length:      perplexity against evaluation length, one line per run, log axes, the
  //                     training length marked (the PI / YaRN figure).
  // ppl_by_scale:       perplexity against the scale L / L0 (L0 = the training length), one line
  // per
  //                     run: one E2-LLM checkpoint serving several inference scales g.
  // retrieval_by_depth: retrieval accuracy against the depth (or the asked pair's position) at one
  //                     prompt length, one line per run (CREAM's "lost in the middle" figure).
  std::string kind = "ppl_vs_length";
  std::string mode = "nonoverlap";  // the perplexity kinds: evaluation mode (nonoverlap | sliding)
  std::string task;                 // retrieval_by_depth: kvretrieval | needle | passkey
  int64_t length = 0;        // retrieval_by_depth: the prompt length (0 = the longest recorded)
  int64_t train_length = 0;  // the training length L0 marked (0 = the base run's train.seq_len)
  std::vector<std::string> runs;  // the study's run names drawn, "base" included (empty = all)
  bool derived = false;           // the file has no "plot": derived from its evaluations, checks
};

inline const std::vector<std::string>& study_plot_kinds() {
  static const std::vector<std::string> kinds = {"ppl_vs_length", "ppl_by_scale",
                                                 "retrieval_by_depth"};
  return kinds;
}

namespace study_plot_detail {

inline std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

inline std::string text_of(const nlohmann::json& p, const char* key) {
  if (!p[key].is_string())
    throw StudyPlotError(std::string("plot.") + key + ": must be a string, got " + p[key].dump());
  return p[key].get<std::string>();
}

inline int64_t length_of(const nlohmann::json& p, const char* key) {
  const auto& v = p[key];
  if (!v.is_number_integer() || v.get<int64_t>() <= 0)
    throw StudyPlotError(std::string("plot.") + key +
                         ": must be a positive whole number of tokens, got " + v.dump());
  return v.get<int64_t>();
}

// The plot a study without one gets: retrieval by depth when a check compares retrieval, else
// perplexity against length in the mode of its first evaluation.
inline StudyPlot derive(const nlohmann::json& study) {
  StudyPlot p;
  p.derived = true;
  const auto checks = study.value("checks", nlohmann::json::array());
  for (const auto& c : checks)
    if (c.is_object() && c.value("kind", "") == "retrieval_at_least" && c.contains("task") &&
        c["task"].is_string()) {
      p.kind = "retrieval_by_depth";
      p.task = c["task"].get<std::string>();
      p.mode.clear();
      return p;
    }
  const auto evals = study.value("evaluations", nlohmann::json::array());
  if (evals.is_array() && !evals.empty() && evals[0].is_object() && evals[0].contains("mode") &&
      evals[0]["mode"].is_string())
    p.mode = evals[0]["mode"].get<std::string>();
  return p;
}

}  // namespace study_plot_detail

// The plot of a study object (the whole file): its "plot" validated, or one derived when absent.
// Throws StudyPlotError naming the key: an unknown key or kind, a mode or task outside the lists,
// a length that is not a positive integer, a run the study does not have, a key that does not
// belong to the kind (task on a perplexity plot, mode on a retrieval plot).
inline StudyPlot parse_study_plot(const nlohmann::json& study) {
  using namespace study_plot_detail;
  if (!study.is_object() || !study.contains("plot")) return derive(study);
  const auto& j = study["plot"];
  if (!j.is_object()) throw StudyPlotError("plot: must be an object, got " + j.dump());
  static const std::set<std::string> known = {"kind",   "mode",         "task",
                                              "length", "train_length", "runs"};
  for (const auto& [k, v] : j.items())
    if (!known.count(k))
      throw StudyPlotError("plot." + k +
                           ": unknown key (kind, mode, task, length, train_length, runs)");
  if (!j.contains("kind"))
    throw StudyPlotError("plot.kind: required (" + join(study_plot_kinds()) + ")");
  StudyPlot p;
  p.kind = text_of(j, "kind");
  bool known_kind = false;
  for (const auto& k : study_plot_kinds()) known_kind = known_kind || k == p.kind;
  if (!known_kind)
    throw StudyPlotError("plot.kind: unknown kind '" + p.kind + "' (" + join(study_plot_kinds()) +
                         ")");
  const bool retrieval = p.kind == "retrieval_by_depth";
  if (retrieval) {
    p.mode.clear();
    if (j.contains("mode"))
      throw StudyPlotError("plot.mode: only for perplexity plots (retrieval is scored greedily)");
    if (!j.contains("task"))
      throw StudyPlotError(
          "plot.task: required for retrieval_by_depth (kvretrieval, needle, passkey)");
    p.task = text_of(j, "task");
    if (p.task != "kvretrieval" && p.task != "needle" && p.task != "passkey")
      throw StudyPlotError("plot.task: unknown task '" + p.task +
                           "' (kvretrieval, needle, passkey)");
    if (j.contains("length")) p.length = length_of(j, "length");
  } else {
    if (j.contains("task")) throw StudyPlotError("plot.task: only for retrieval_by_depth");
    if (j.contains("length"))
      throw StudyPlotError(
          "plot.length: only for retrieval_by_depth (perplexity plots show every length)");
    if (j.contains("mode")) p.mode = text_of(j, "mode");
    if (!is_eval_mode(p.mode))
      throw StudyPlotError("plot.mode: unknown mode '" + p.mode + "' (" + kEvalModesText + ")");
  }
  if (j.contains("train_length")) p.train_length = length_of(j, "train_length");
  if (j.contains("runs")) {
    std::set<std::string> names = {"base"};
    for (const auto& r : study.value("runs", nlohmann::json::array()))
      if (r.is_object() && r.contains("name") && r["name"].is_string())
        names.insert(r["name"].get<std::string>());
    if (!j["runs"].is_array() || j["runs"].empty())
      throw StudyPlotError("plot.runs: must be a non-empty list of the study's run names, got " +
                           j["runs"].dump());
    for (const auto& r : j["runs"]) {
      if (!r.is_string()) throw StudyPlotError("plot.runs: must hold run names, got " + r.dump());
      if (!names.count(r.get<std::string>()))
        throw StudyPlotError("plot.runs: no run '" + r.get<std::string>() + "' in the study");
      p.runs.push_back(r.get<std::string>());
    }
  }
  return p;
}

// As `study validate --json` prints it.
inline nlohmann::json to_json(const StudyPlot& p) {
  nlohmann::json j = {{"kind", p.kind}, {"derived", p.derived}};
  if (!p.mode.empty()) j["mode"] = p.mode;
  if (!p.task.empty()) j["task"] = p.task;
  if (p.length > 0) j["length"] = p.length;
  if (p.train_length > 0) j["train_length"] = p.train_length;
  if (!p.runs.empty()) j["runs"] = p.runs;
  return j;
}

}  // namespace ctx
