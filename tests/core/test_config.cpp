// Run config parsing: defaults, strictness (unknown keys, types, ranges), round trip, method
// params.
#include <gtest/gtest.h>

#include "config/run_config.h"

using ctx::ConfigError;
using ctx::parse_run_config;
using nlohmann::json;

namespace {

// The error message of parsing `j`, or "" if it parsed.
std::string error_of(const json& j) {
  try {
    parse_run_config(j);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Config, EmptyObjectGivesDocumentedDefaults) {
  auto c = parse_run_config(json::object());
  EXPECT_EQ(c.model.layers, 4);
  EXPECT_EQ(c.model.d_model, 256);
  EXPECT_EQ(c.model.heads, 4);
  EXPECT_EQ(c.model.position, "rope");
  EXPECT_DOUBLE_EQ(c.model.position_params["theta"].get<double>(), 10000.0);
  EXPECT_EQ(c.model.position_params["pairing"], "half");
  EXPECT_EQ(c.train.seq_len, 128);
  EXPECT_EQ(c.train.batch_size, 16);
  EXPECT_EQ(c.train.steps, 300);
  EXPECT_EQ(c.train.positions, "contiguous");
  EXPECT_EQ(c.data.corpus, "builtin:longrange");
  EXPECT_EQ(c.eval.lengths, (std::vector<int64_t>{128, 256, 512, 1024}));
  EXPECT_TRUE(c.rope_scaling.is_null());
}

TEST(Config, RoundTripThroughJsonIsStable) {
  json given = {
      {"name", "pi-x4"},
      {"seed", 7},
      {"model",
       {{"layers", 2},
        {"d_model", 64},
        {"heads", 2},
        {"position", {{"type", "rope"}, {"theta", 500.0}}}}},
      {"rope_scaling", {{"type", "linear"}, {"factor", 4}}},
      {"train", {{"steps", 10}, {"positions", "contiguous"}}},
      {"data",
       {{"builtin_jitter", 0.5}, {"builtin_distances", {48, 64}}, {"builtin_fact_rate", 1.0}}},
      {"eval", {{"lengths", {64, 128}}, {"mode", {"nonoverlap", "sliding"}}}}};
  auto a = parse_run_config(given);
  auto b = parse_run_config(ctx::to_json(a));
  EXPECT_EQ(ctx::to_json(a), ctx::to_json(b));
  EXPECT_EQ(a.rope_scaling["rope_type"], "linear");
  EXPECT_DOUBLE_EQ(a.rope_scaling["factor"].get<double>(), 4.0);
  EXPECT_DOUBLE_EQ(b.model.position_params["theta"].get<double>(), 500.0);
  EXPECT_EQ(b.eval.modes.size(), 2u);
  EXPECT_EQ(b.data.builtin_distances, (std::vector<int64_t>{48, 64}));
  EXPECT_DOUBLE_EQ(b.data.builtin_jitter, 0.5);
  EXPECT_DOUBLE_EQ(b.data.builtin_fact_rate, 1.0);
}

TEST(Config, UnknownKeysAreNamedWithTheirPath) {
  EXPECT_NE(error_of({{"modle", json::object()}}).find("modle: unknown key"), std::string::npos);
  EXPECT_NE(error_of({{"model", {{"layer", 2}}}}).find("model.layer: unknown key"),
            std::string::npos);
  EXPECT_NE(error_of({{"train", {{"positions", {{"type", "contiguous"}, {"alpha", 1}}}}}})
                .find("train.positions.alpha"),
            std::string::npos);
  EXPECT_NE(error_of({{"rope_scaling", {{"rope_type", "linear"}, {"factor", 2}, {"fatcor", 2}}}})
                .find("rope_scaling.fatcor"),
            std::string::npos);
}

TEST(Config, WrongTypesAndRangesAreNamed) {
  EXPECT_NE(error_of({{"data", {{"builtin_jitter", 1.0}}}}).find("data.builtin_jitter"),
            std::string::npos);
  EXPECT_NE(
      error_of({{"data", {{"builtin_distances", {64, 0}}}}}).find("data.builtin_distances[1]"),
      std::string::npos);
  EXPECT_NE(error_of({{"data", {{"builtin_fact_rate", -0.1}}}}).find("data.builtin_fact_rate"),
            std::string::npos);
  EXPECT_NE(error_of({{"train", {{"steps", -5}}}}).find("train.steps: must be >= 0 (got -5)"),
            std::string::npos);
  EXPECT_NE(error_of({{"train", {{"steps", "many"}}}}).find("train.steps: must be an integer"),
            std::string::npos);
  EXPECT_NE(error_of({{"train", {{"lr", "fast"}}}}).find("train.lr: must be a number"),
            std::string::npos);
  EXPECT_NE(error_of({{"model", {{"d_model", 100}, {"heads", 3}}}})
                .find("model.heads: 3 does not divide d_model 100"),
            std::string::npos);
  EXPECT_NE(error_of({{"eval", {{"lengths", {128, -1}}}}}).find("eval.lengths[1]"),
            std::string::npos);
  EXPECT_NE(error_of({{"eval", {{"mode", "strided"}}}}).find("eval.mode"), std::string::npos);
  EXPECT_NE(error_of({{"train", {{"device", "tpu"}}}}).find("train.device"), std::string::npos);
  EXPECT_NE(error_of({{"seed", -1}}).find("seed"), std::string::npos);
}

TEST(Config, MethodsAreCheckedAgainstTheModel) {
  // A RoPE scaling on a model without RoPE.
  EXPECT_NE(error_of({{"model", {{"position", "learned"}}},
                      {"rope_scaling", {{"rope_type", "linear"}, {"factor", 2}}}})
                .find("rope_scaling: 'linear' needs model.position rope"),
            std::string::npos);
  // PI factor below 1 and a missing required factor.
  EXPECT_NE(error_of({{"rope_scaling", {{"rope_type", "linear"}, {"factor", 0.5}}}})
                .find("rope_scaling.factor: must be"),
            std::string::npos);
  EXPECT_NE(
      error_of({{"rope_scaling", {{"rope_type", "linear"}}}}).find("rope_scaling.factor: required"),
      std::string::npos);
  EXPECT_NE(
      error_of({{"rope_scaling", {{"rope_type", "warp"}}}}).find("unknown rope_scaling 'warp'"),
      std::string::npos);
  EXPECT_NE(error_of({{"model", {{"position", "spiral"}}}}).find("unknown position 'spiral'"),
            std::string::npos);
  // Partial rotary that leaves an odd number of rotated dims (head_dim 64 * 0.3 = 19).
  EXPECT_NE(error_of({{"model", {{"position", {{"type", "rope"}, {"rotary_fraction", 0.3}}}}}})
                .find("rotary_fraction"),
            std::string::npos);
  EXPECT_NE(error_of({{"model", {{"position", {{"type", "rope"}, {"pairing", "zigzag"}}}}}})
                .find("pairing"),
            std::string::npos);
}

TEST(Config, InitForms) {
  EXPECT_EQ(parse_run_config({{"init", "scratch"}}).init.kind, "scratch");
  auto r = parse_run_config({{"init", {{"run", 3}}}});
  EXPECT_EQ(r.init.kind, "run");
  EXPECT_EQ(r.init.run, 3);
  EXPECT_EQ(parse_run_config({{"init", {{"checkpoint", "a.pt"}}}}).init.checkpoint, "a.pt");
  EXPECT_NE(error_of({{"init", "pretrained"}}).find("init"), std::string::npos);
  EXPECT_NE(error_of({{"init", json::object()}}).find("init"), std::string::npos);
}

TEST(Config, MethodLabel) {
  auto c = parse_run_config({{"rope_scaling", {{"type", "linear"}, {"factor", 8}}}});
  EXPECT_EQ(ctx::method_label(c), "rope+linear x8 / contiguous");
}

TEST(Config, RulerRequestIsParsedCheckedAndRoundTrips) {
  auto c = parse_run_config(json::object());
  EXPECT_FALSE(c.eval.ruler.enabled);
  EXPECT_TRUE(ctx::to_json(c)["eval"]["ruler"].is_null());
  const json given = {{"eval", {{"lengths", {256, 512}},
                                {"ruler", {{"tasks", {"niah_single_1", "vt"}}, {"samples", 5},
                                           {"depths", {0, 0.5}}, {"threshold", 0.4}}}}}};
  c = parse_run_config(given);
  EXPECT_TRUE(c.eval.ruler.enabled);
  EXPECT_EQ(c.eval.ruler.lengths, (std::vector<int64_t>{256, 512}));  // eval.lengths by default
  EXPECT_EQ(c.eval.ruler.tasks, (std::vector<std::string>{"niah_single_1", "vt"}));
  EXPECT_EQ(c.eval.ruler.samples, 5);
  EXPECT_EQ(c.eval.ruler.depths, (std::vector<double>{0, 0.5}));
  EXPECT_DOUBLE_EQ(c.eval.ruler.threshold, 0.4);
  EXPECT_EQ(ctx::to_json(parse_run_config(ctx::to_json(c))), ctx::to_json(c));
  EXPECT_NE(error_of({{"eval", {{"ruler", {{"tasks", {"niah_single_9"}}}}}}})
                .find("eval.ruler.tasks[0]: task 'niah_single_9': unknown"),
            std::string::npos);
  EXPECT_NE(error_of({{"eval", {{"ruler", {{"depths", {1.5}}}}}}}).find("eval.ruler.depths[0]"),
            std::string::npos);
  EXPECT_NE(error_of({{"eval", {{"ruler", {{"samples", 0}}}}}}).find("eval.ruler.samples"),
            std::string::npos);
  EXPECT_NE(error_of({{"eval", {{"ruler", {{"tasks", "vt"}}}}}}).find("eval.ruler.tasks"),
            std::string::npos);
}
