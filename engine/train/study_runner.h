// Running a study file: the base, then every run in dependency order (each one a normal training
// run of the store, grouped in one study), the study's evaluations, and its checks, whose outcomes
// are stored with the base run (eval task "study_check").
#pragma once

#include <string>
#include <vector>

#include "store/run_store.h"
#include "train/events.h"
#include "train/study.h"

namespace ctx {

struct StudyOutcome {
  int64_t study_id = 0;
  std::map<std::string, int64_t> run_ids;  // "base" and every run
  std::vector<CheckOutcome> checks;
};

// `device`: "" keeps each config's own. `presets_dir`: where {"preset": NAME} bases are read.
StudyOutcome run_study(store::RunStore& db, const StudyFile& s, const std::string& device,
                       const std::string& presets_dir, EventSink& events);

// The results the checks read, from the store.
// Throws ConfigError naming a corpus path that a run of `s` reads and that does not exist, with
// the study's setup line; run_study calls it before it stores anything.
void check_study_data(const StudyFile& s, const std::string& presets_dir);

StudyResults collect_results(store::RunStore& db, const std::map<std::string, int64_t>& run_ids);

}  // namespace ctx
