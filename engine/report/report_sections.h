// The sections of the study report (study_report.h), each from the runs' records: runs, config
// differences, study checks, perplexity, retrieval (passkey, needle, key-value) and the RULER-style
// suite. A
// section with nothing to show returns "". Internal to report/.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/run_store.h"

namespace ctx::report {

struct RunData {
  store::RunRecord run;
  nlohmann::json config;  // the resolved config ("_given" removed)
  std::vector<store::EvalRecord> evals;
  std::string label() const;  // "#3 yarn-x4"
};

// An HTML table; cells are escaped.
std::string html_table(const std::vector<std::string>& header,
                       const std::vector<std::vector<std::string>>& rows);

// One check of `ctxlab-cli study run` (stored as task "study_check" on the study's base run).
struct CheckRow {
  std::string description, detail;
  bool held = false;
};

std::string runs_section(const std::vector<RunData>& runs);
// The study's claim and its checks, held or not ("" when the study has no check outcomes).
std::string checks_section(const std::string& claim, const std::vector<CheckRow>& checks);
std::string config_section(const std::vector<RunData>& runs);
std::string perplexity_section(const std::vector<RunData>& runs);
std::string retrieval_section(const std::vector<RunData>& runs);
std::string ruler_section(const std::vector<RunData>& runs);

}  // namespace ctx::report
