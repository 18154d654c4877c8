// Studies: a file that names a base model, the runs that start from it (or from each other), the
// evaluations to make and the checks that state a paper's finding ("YaRN's perplexity is at most
// PI's at 4-8x"). `ctxlab-cli study run FILE` trains the runs in dependency order into one study
// group of the store, evaluates them, and says whether each check held.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/study_plot.h"

namespace ctx {

struct StudyRun {
  std::string name;
  std::string init;    // "base", another run's name, or "" (the config's own init)
  std::string preset;  // a preset to start from ("" = none); `config` is merged over it
  nlohmann::json config;
};

struct StudyEvaluation {
  std::vector<std::string> runs;  // empty = every run and the base
  std::vector<int64_t> lengths;
  std::string mode = "nonoverlap";  // nonoverlap | sliding
};

struct StudyFile {
  std::string name, claim, paper, figure;
  std::string setup;  // what to run before the study (a data script), in words
  nlohmann::json
      base;  // {"preset": NAME} | {"config": {...}} | {"run_named": NAME} | {"hf": FOLDER}
  std::vector<StudyRun> runs;
  std::vector<StudyEvaluation> evaluations;
  std::vector<nlohmann::json> checks;
  StudyPlot plot;  // the paper's figure: "plot" as given, or derived (config/study_plot.h)
};

// Parses and validates a study (one line naming the file and the key: an unknown run reference, a
// missing base, a cycle, duplicate names, an unknown check kind, a bad "plot" value). Throws
// ConfigError.
StudyFile parse_study(const nlohmann::json& j, const std::string& what);
StudyFile read_study(const std::string& path);

// The runs in an order where every run comes after the run it starts from.
std::vector<std::string> study_order(const StudyFile& s);

// What the checks read: perplexity by (run, mode, length) and retrieval accuracy by (run, task,
// length, y). "base" names the base run.
struct StudyResults {
  std::map<std::string, std::map<std::pair<std::string, int64_t>, double>> ppl;
  std::map<std::string, std::map<std::string, std::vector<std::tuple<int64_t, double, double>>>>
      retrieval;
};

struct CheckOutcome {
  std::string description;  // the check in words
  bool held = false;
  std::string detail;  // the numbers it compared
};

// Pure: each check of `s` on `r`. A check whose numbers are missing does not hold, and says which.
std::vector<CheckOutcome> evaluate_checks(const StudyFile& s, const StudyResults& r);

}  // namespace ctx
