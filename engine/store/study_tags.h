// The tag that links a study to a base run it did not train: `study run` reuses a finished base
// (trained by an earlier study, named by run_named, or imported from a Hugging Face folder) and
// stores the study's check outcomes on it, but that run belongs to another study or to none. When
// no run of the study starts from it, nothing else in the store says where the outcomes are; the
// tag does, for the window's Studies tab (which reads run summaries, tags included, not every
// run's evaluations). Header-only: the engine writes it, the window reads it.
#pragma once

#include <cstdint>
#include <string>

namespace ctx::store {

inline std::string study_base_tag(int64_t study) {
  return "study-base:" + std::to_string(study);
}

}  // namespace ctx::store
