// Study files: invalid ones (an unknown run reference, a missing base, a cycle, a duplicate name,
// an unknown check, a bad plot spec) are refused by name; runs come in dependency order; every
// check kind is evaluated correctly on stored-looking results, both when the finding holds and when it fails.
#include <gtest/gtest.h>

#include "config/run_config.h"
#include "train/study.h"

using namespace ctx;
using nlohmann::json;

namespace {

json minimal() {
  return {
      {"name", "s"},
      {"base", {{"preset", "quickstart"}}},
      {"runs", {{{"name", "pi"}, {"config", json::object()}}, {{"name", "yarn"}, {"init", "pi"}}}}};
}

std::string error_of(const json& j) {
  try {
    parse_study(j, "s.json");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

StudyFile with_checks(const json& checks) {
  auto j = minimal();
  j["checks"] = checks;
  return parse_study(j, "s.json");
}

StudyResults results() {
  StudyResults r;
  r.ppl["base"] = {{{"nonoverlap", 128}, 3.0}, {{"nonoverlap", 512}, 9.0}};
  r.ppl["pi"] = {{{"nonoverlap", 128}, 3.3}, {{"nonoverlap", 512}, 3.6}};
  r.ppl["yarn"] = {{{"nonoverlap", 128}, 3.1}, {{"nonoverlap", 512}, 3.4}};
  r.retrieval["pi"]["kvretrieval"] = {{512, 0.1, 0.9}, {512, 0.5, 0.2}, {512, 0.9, 0.8}};
  r.retrieval["yarn"]["kvretrieval"] = {{512, 0.1, 0.6}, {512, 0.5, 0.5}, {512, 0.9, 0.6}};
  // Passkey: both retrieve at 128; at 512 only next to the question (depth 1), none in the middle.
  r.retrieval["pi"]["passkey"] = {{128, 0.5, 0.4}, {512, 0.5, 0.0}, {512, 1.0, 0.2}};
  r.retrieval["yarn"]["passkey"] = {{128, 0.5, 0.7}, {512, 0.5, 0.0}, {512, 1.0, 0.1}};
  return r;
}

}  // namespace

TEST(Study, InvalidFilesAreRefusedByName) {
  auto j = minimal();
  j["runs"][1]["init"] = "nope";
  EXPECT_NE(error_of(j).find("s.json: runs[1].init: no run 'nope'"), std::string::npos)
      << error_of(j);
  j = minimal();
  j.erase("base");
  EXPECT_NE(error_of(j).find("study.base: required"), std::string::npos);
  j = minimal();
  j["runs"][0]["init"] = "yarn";  // pi <- yarn <- pi
  EXPECT_NE(error_of(j).find("cycle"), std::string::npos) << error_of(j);
  j = minimal();
  j["runs"][1]["name"] = "pi";
  EXPECT_NE(error_of(j).find("'pi' is used twice"), std::string::npos);
  j = minimal();
  j["checks"] = {{{"kind", "better"}, {"run", "pi"}}};
  EXPECT_NE(error_of(j).find("checks[0].kind: unknown check 'better'"), std::string::npos);
  j["checks"] = {{{"kind", "at_most"}, {"run", "gone"}, {"than", "pi"}, {"lengths", {128}}}};
  EXPECT_NE(error_of(j).find("checks[0].run: no run 'gone'"), std::string::npos);
  j["checks"] = {{{"kind", "retrieval_at_least"},
                  {"run", "pi"},
                  {"than", "yarn"},
                  {"task", "passkey"},
                  {"min_accuracy", 2}}};
  EXPECT_NE(error_of(j).find("checks[0].min_accuracy: must be a number in [0, 1] (got 2)"),
            std::string::npos)
      << error_of(j);
  j = minimal();
  j["base"] = {{"preset", "a"}, {"run_named", "b"}};
  EXPECT_NE(error_of(j).find("exactly one"), std::string::npos);
}

TEST(Study, ThePlotSpecIsParsedAndABadOneNamesTheFileAndKey) {
  auto j = minimal();
  EXPECT_TRUE(parse_study(j, "s.json").plot.derived);  // older files have none: still valid
  j["plot"] = {{"kind", "ppl_by_scale"}, {"train_length", 128}, {"runs", {"base", "yarn"}}};
  const auto s = parse_study(j, "s.json");
  EXPECT_EQ(s.plot.kind, "ppl_by_scale");
  EXPECT_EQ(s.plot.train_length, 128);
  EXPECT_FALSE(s.plot.derived);
  j["plot"] = {{"kind", "retrieval_by_depth"}, {"task", "kvretrieval"}, {"length", "long"}};
  EXPECT_EQ(error_of(j),
            "s.json: plot.length: must be a positive whole number of tokens, got \"long\"");
  j["plot"] = {{"kind", "ppl_vs_length"}, {"runs", json::array({"ntk"})}};
  EXPECT_EQ(error_of(j), "s.json: plot.runs: no run 'ntk' in the study");
}

TEST(Study, RunsComeAfterTheRunTheyStartFrom) {
  auto j = minimal();
  j["runs"] = {{{"name", "c"}, {"init", "b"}}, {{"name", "b"}, {"init", "a"}}, {{"name", "a"}}};
  const auto order = study_order(parse_study(j, "s"));
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(Study, ChecksHoldAndFailAsTheNumbersSay) {
  const auto r = results();
  auto outcome = [&](const json& check) {
    return evaluate_checks(with_checks(json::array({check})), r).at(0);
  };
  // at_most: yarn <= pi holds; pi <= yarn fails; a tolerance of 10 % makes it hold.
  EXPECT_TRUE(
      outcome({{"kind", "at_most"}, {"run", "yarn"}, {"than", "pi"}, {"lengths", {128, 512}}})
          .held);
  EXPECT_FALSE(
      outcome({{"kind", "at_most"}, {"run", "pi"}, {"than", "yarn"}, {"lengths", {128, 512}}})
          .held);
  EXPECT_TRUE(outcome({{"kind", "at_most"},
                       {"run", "pi"},
                       {"than", "yarn"},
                       {"lengths", {128, 512}},
                       {"tolerance", 0.1}})
                  .held);
  // bounded: pi's 512 is 1.09x its 128; base's is 3x.
  EXPECT_TRUE(outcome({{"kind", "bounded"},
                       {"run", "pi"},
                       {"lengths", {512}},
                       {"reference_length", 128},
                       {"max_ratio", 1.5}})
                  .held);
  EXPECT_FALSE(outcome({{"kind", "bounded"},
                        {"run", "base"},
                        {"lengths", {512}},
                        {"reference_length", 128},
                        {"max_ratio", 1.5}})
                   .held);
  // blows_up: base 3x holds at 2x, fails at 4x.
  EXPECT_TRUE(outcome({{"kind", "blows_up"},
                       {"run", "base"},
                       {"length", 512},
                       {"reference_length", 128},
                       {"min_ratio", 2}})
                  .held);
  EXPECT_FALSE(outcome({{"kind", "blows_up"},
                        {"run", "base"},
                        {"length", 512},
                        {"reference_length", 128},
                        {"min_ratio", 4}})
                   .held);
  // retrieval in the middle: yarn 0.5 >= pi 0.2; over everything pi (0.633) beats yarn (0.567).
  EXPECT_TRUE(outcome({{"kind", "retrieval_at_least"},
                       {"run", "yarn"},
                       {"than", "pi"},
                       {"task", "kvretrieval"},
                       {"y_min", 0.25},
                       {"y_max", 0.75}})
                  .held);
  EXPECT_FALSE(outcome({{"kind", "retrieval_at_least"},
                        {"run", "yarn"},
                        {"than", "pi"},
                        {"task", "kvretrieval"}})
                   .held);
  // A floor on the run's own accuracy: 0.5 in the middle passes 0.5, not 0.6.
  json floor = {{"kind", "retrieval_at_least"}, {"run", "yarn"}, {"than", "pi"},
                {"task", "kvretrieval"},        {"y_min", 0.25}, {"y_max", 0.75}};
  floor["min_accuracy"] = 0.5;
  EXPECT_TRUE(outcome(floor).held);
  floor["min_accuracy"] = 0.6;
  const auto below = outcome(floor);
  EXPECT_FALSE(below.held);
  EXPECT_NE(below.detail.find("below min_accuracy 0.6"), std::string::npos) << below.detail;
  // Lengths select cells: at 128 yarn's 0.7 beats pi's 0.4; in the middle at 512 both are 0,
  // which shows nothing and never holds, whichever run is asked first.
  json passkey = {{"kind", "retrieval_at_least"},
                  {"run", "yarn"},
                  {"than", "pi"},
                  {"task", "passkey"},
                  {"y_min", 0.25},
                  {"y_max", 0.75}};
  passkey["lengths"] = {128};
  EXPECT_TRUE(outcome(passkey).held);
  passkey["lengths"] = {512};
  for (const char* who : {"yarn", "pi"}) {
    passkey["run"] = who;
    passkey["than"] = std::string(who) == "yarn" ? "pi" : "yarn";
    const auto vacuous = outcome(passkey);
    EXPECT_FALSE(vacuous.held) << who;
    EXPECT_NE(vacuous.detail.find("0 vs 0 (1 cells): neither run retrieves there"),
              std::string::npos)
        << vacuous.detail;
    EXPECT_NE(vacuous.description.find("at 512 tokens"), std::string::npos) << vacuous.description;
  }
  // Over all of 512 pi (0.1) is ahead of yarn (0.05): the order of the numbers decides again.
  passkey.erase("y_min");
  passkey.erase("y_max");
  passkey["run"] = "pi";
  passkey["than"] = "yarn";
  EXPECT_TRUE(outcome(passkey).held);
  // Missing numbers never hold, and say what is missing.
  auto missing =
      outcome({{"kind", "at_most"}, {"run", "yarn"}, {"than", "pi"}, {"lengths", {2048}}});
  EXPECT_FALSE(missing.held);
  EXPECT_NE(missing.detail.find("no nonoverlap perplexity of yarn at 2048"), std::string::npos)
      << missing.detail;
}
