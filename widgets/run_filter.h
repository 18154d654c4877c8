// The run browser's filter language, as plain functions: space-separated terms, all must match.
//   yarn            a word: name, method, status, tags, note, study or base model contain it (any case)
//   status:running  name: method: tag: study: note: base:  that field contains the text
//                   (base: the Hugging Face model a run descends from, _resolved.base_model)
//   rope_scaling.factor=8   model.position.type=rope   a config key path equals the value
//   train.steps>100  eval.lengths<2048                 numeric comparison on a config key
#pragma once

#include <QString>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "store/run_store.h"

namespace ctx::gui {

struct FilterTerm {
  enum Kind { Word, Field, KeyEq, KeyLess, KeyGreater } kind = Word;
  std::string field;  // Field: name/method/status/tag/study/note/base; Key*: the config key path
  std::string text;   // lower-cased for Word and Field
  double number = 0;  // KeyLess / KeyGreater
};

struct RunFilter {
  std::vector<FilterTerm> terms;
  bool empty() const { return terms.empty(); }
};

RunFilter parseRunFilter(const QString& text);

// The value at a dotted key path ("rope_scaling.factor"), or null when absent.
const nlohmann::json* configAt(const nlohmann::json& config, const std::string& path);

bool runMatches(const RunFilter& f, const store::RunSummary& run, const nlohmann::json& config,
                const std::string& study_name, const std::string& base_model = {});

}  // namespace ctx::gui
