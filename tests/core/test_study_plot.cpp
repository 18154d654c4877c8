// A study file's "plot" (config/study_plot.h): valid specs parse with their defaults, a study
// without one gets a figure derived from its checks and evaluations, and every bad value is
// refused with one line that names the key.
#include <gtest/gtest.h>

#include "config/study_plot.h"

using namespace ctx;
using nlohmann::json;

namespace {

json study(json plot) {
  json s = {{"name", "s"},
            {"base", {{"preset", "quickstart"}}},
            {"runs", {{{"name", "pi"}}, {{"name", "yarn"}}}},
            {"evaluations", {{{"lengths", {128, 256}}, {"mode", "sliding"}}}}};
  if (!plot.is_null()) s["plot"] = plot;
  return s;
}

std::string error_of(const json& plot) {
  try {
    parse_study_plot(study(plot));
  } catch (const StudyPlotError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(StudyPlot, ValidSpecsParseWithTheirDefaults) {
  auto p = parse_study_plot(study({{"kind", "ppl_vs_length"}}));
  EXPECT_EQ(p.kind, "ppl_vs_length");
  EXPECT_EQ(p.mode, "nonoverlap");
  EXPECT_FALSE(p.derived);
  EXPECT_TRUE(p.runs.empty());

  p = parse_study_plot(study({{"kind", "ppl_by_scale"},
                              {"mode", "sliding"},
                              {"train_length", 128},
                              {"runs", {"base", "yarn"}}}));
  EXPECT_EQ(p.kind, "ppl_by_scale");
  EXPECT_EQ(p.mode, "sliding");
  EXPECT_EQ(p.train_length, 128);
  EXPECT_EQ(p.runs, (std::vector<std::string>{"base", "yarn"}));

  p = parse_study_plot(
      study({{"kind", "retrieval_by_depth"}, {"task", "kvretrieval"}, {"length", 512}}));
  EXPECT_EQ(p.kind, "retrieval_by_depth");
  EXPECT_EQ(p.task, "kvretrieval");
  EXPECT_EQ(p.length, 512);
  EXPECT_EQ(p.mode, "");
  EXPECT_EQ(to_json(p), (json{{"kind", "retrieval_by_depth"},
                              {"derived", false},
                              {"task", "kvretrieval"},
                              {"length", 512}}));
}

TEST(StudyPlot, AbsentPlotIsDerivedFromTheStudy) {
  auto p = parse_study_plot(study(nullptr));
  EXPECT_TRUE(p.derived);
  EXPECT_EQ(p.kind, "ppl_vs_length");
  EXPECT_EQ(p.mode, "sliding");  // the first evaluation's mode

  auto s = study(nullptr);
  s.erase("evaluations");
  s["checks"] = {
      {{"kind", "retrieval_at_least"}, {"run", "yarn"}, {"than", "pi"}, {"task", "needle"}}};
  p = parse_study_plot(s);
  EXPECT_TRUE(p.derived);
  EXPECT_EQ(p.kind, "retrieval_by_depth");
  EXPECT_EQ(p.task, "needle");
}

TEST(StudyPlot, BadValuesAreRefusedNamingTheKey) {
  const std::vector<std::pair<json, std::string>> bad = {
      {"ppl", "plot: must be an object"},
      {json::object(), "plot.kind: required (ppl_vs_length, ppl_by_scale, retrieval_by_depth)"},
      {{{"kind", "heatmap"}},
       "plot.kind: unknown kind 'heatmap' (ppl_vs_length, ppl_by_scale, retrieval_by_depth)"},
      {{{"kind", 3}}, "plot.kind: must be a string, got 3"},
      {{{"kind", "ppl_vs_length"}, {"colour", "red"}}, "plot.colour: unknown key"},
      {{{"kind", "ppl_vs_length"}, {"mode", "strided"}},
       "plot.mode: unknown mode 'strided' (nonoverlap, sliding or randpos)"},
      {{{"kind", "ppl_vs_length"}, {"task", "needle"}}, "plot.task: only for retrieval_by_depth"},
      {{{"kind", "ppl_vs_length"}, {"length", 512}}, "plot.length: only for retrieval_by_depth"},
      {{{"kind", "ppl_by_scale"}, {"train_length", 0}},
       "plot.train_length: must be a positive whole number"},
      {{{"kind", "ppl_by_scale"}, {"train_length", 12.5}},
       "plot.train_length: must be a positive whole number"},
      {{{"kind", "retrieval_by_depth"}}, "plot.task: required for retrieval_by_depth"},
      {{{"kind", "retrieval_by_depth"}, {"task", "ruler"}},
       "plot.task: unknown task 'ruler' (kvretrieval, needle, passkey)"},
      {{{"kind", "retrieval_by_depth"}, {"task", "needle"}, {"mode", "sliding"}},
       "plot.mode: only for perplexity plots"},
      {{{"kind", "retrieval_by_depth"}, {"task", "needle"}, {"length", -4}},
       "plot.length: must be a positive whole number"},
      {{{"kind", "ppl_vs_length"}, {"runs", json::array({"base", "ntk"})}},
       "plot.runs: no run 'ntk' in the study"},
      {{{"kind", "ppl_vs_length"}, {"runs", json::array()}}, "plot.runs: must be a non-empty list"},
      {{{"kind", "ppl_vs_length"}, {"runs", json::array({1})}},
       "plot.runs: must hold run names, got 1"},
  };
  for (const auto& [plot, want] : bad) {
    const std::string got = error_of(plot);
    EXPECT_EQ(got.rfind(want, 0), 0u) << plot.dump() << " gave: " << got;
    EXPECT_EQ(got.find('\n'), std::string::npos) << got;
  }
}
