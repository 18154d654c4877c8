// Config flattening and the N-way diff behind the compare tab: dotted paths, leaves (arrays, null,
// empty objects), absent keys, number forms that must compare equal, and identical configs.
#include <gtest/gtest.h>

#include "widgets/config_diff.h"

using nlohmann::json;
using namespace ctx::gui;

TEST(ConfigDiff, FlattensNestedObjectsToDottedPaths) {
  const auto f = flattenConfig(json::parse(R"({"model": {"layers": 4, "position": {"type": "rope", "theta": 10000}},
                                               "train": {"positions": {"type": "pose", "max_skip": 3}}, "seed": 1})"));
  const std::map<std::string, std::string> want{{"model.layers", "4"},        {"model.position.type", "rope"},
                                                {"model.position.theta", "10000"}, {"train.positions.type", "pose"},
                                                {"train.positions.max_skip", "3"}, {"seed", "1"}};
  EXPECT_EQ(f, want);
}

TEST(ConfigDiff, ArraysNullAndEmptyObjectsAreLeaves) {
  const auto f = flattenConfig(json::parse(R"({"eval": {"lengths": [128, 256.0, 5e2]}, "rope_scaling": null,
                                               "extra": {}, "names": ["a, b", "c"]})"));
  EXPECT_EQ(f.at("eval.lengths"), "[128, 256, 500]");
  EXPECT_EQ(f.at("rope_scaling"), "null");
  EXPECT_EQ(f.at("extra"), "{}");
  EXPECT_EQ(f.at("names"), R"(["a, b", "c"])");  // strings inside arrays stay quoted: no ambiguity
  EXPECT_EQ(f.size(), 4u);
}

TEST(ConfigDiff, NumberFormsCompareAsNumbers) {
  EXPECT_EQ(formatConfigValue(json::parse("1e-3")), "0.001");
  EXPECT_EQ(formatConfigValue(json::parse("0.001")), "0.001");
  EXPECT_EQ(formatConfigValue(json::parse("4")), "4");
  EXPECT_EQ(formatConfigValue(json::parse("4.0")), "4");
  EXPECT_EQ(formatConfigValue(json::parse("3e-4")), "0.0003");
  EXPECT_EQ(formatConfigValue(json::parse("1e-5")), "1e-5");
  EXPECT_EQ(formatConfigValue(json::parse("0.1")), "0.1");  // shortest round trip, not 0.10000000000000001
  EXPECT_EQ(formatConfigValue(json::parse("-2.5")), "-2.5");
  EXPECT_EQ(formatConfigValue(json::parse("true")), "true");
  EXPECT_EQ(formatConfigValue(json::parse("\"yarn\"")), "yarn");
  const auto rows = diffConfigs({json::parse(R"({"train": {"lr": 1e-3, "steps": 300}})"),
                                 json::parse(R"({"train": {"lr": 0.001, "steps": 300.0}})")});
  EXPECT_TRUE(rows.empty());
}

TEST(ConfigDiff, IdenticalConfigsGiveNoRows) {
  const auto c = json::parse(R"({"model": {"layers": 4}, "rope_scaling": {"rope_type": "yarn", "factor": 8}})");
  EXPECT_TRUE(diffConfigs({c, c, c}).empty());
  EXPECT_TRUE(diffConfigs({c}).empty());  // one config: nothing to compare
  EXPECT_TRUE(diffConfigs({}).empty());
}

TEST(ConfigDiff, OnlyDifferingKeysWithAbsentShownAsDash) {
  const auto a = json::parse(R"({"name": "pi", "model": {"layers": 4, "heads": 4},
                                 "rope_scaling": {"rope_type": "linear", "factor": 4},
                                 "train": {"positions": "contiguous"}})");
  const auto b = json::parse(R"({"name": "yarn", "model": {"layers": 4, "heads": 4},
                                 "rope_scaling": {"rope_type": "yarn", "factor": 4.0, "beta_fast": 32},
                                 "train": {"positions": {"type": "pose"}}})");
  const auto c = json::parse(R"({"name": "base", "model": {"layers": 4, "heads": 8}, "rope_scaling": null,
                                 "train": {"positions": "contiguous"}})");
  const auto rows = diffConfigs({a, b, c});
  std::map<std::string, std::vector<std::string>> got;
  for (const auto& r : rows) got[r.key] = r.values;
  const std::map<std::string, std::vector<std::string>> want{
      {"model.heads", {"4", "4", "8"}},
      {"name", {"pi", "yarn", "base"}},
      {"rope_scaling", {kAbsent, kAbsent, "null"}},
      {"rope_scaling.beta_fast", {kAbsent, "32", kAbsent}},
      {"rope_scaling.factor", {"4", "4", kAbsent}},  // present in two, equal as numbers, absent in one
      {"rope_scaling.rope_type", {"linear", "yarn", kAbsent}},
      {"train.positions", {"contiguous", kAbsent, "contiguous"}},
      {"train.positions.type", {kAbsent, "pose", kAbsent}},
  };
  EXPECT_EQ(got, want);
  // Rows come in key order, and model.layers (equal everywhere) is not among them.
  for (size_t i = 1; i < rows.size(); ++i) EXPECT_LT(rows[i - 1].key, rows[i].key);
}

TEST(ConfigDiff, AbsentDiffersFromALiteralDash) {
  const auto rows = diffConfigs({json::parse(R"({"note": "—"})"), json::parse("{}")});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].key, "note");
}

TEST(ConfigDiff, ArraysDifferByAnyElement) {
  const auto rows = diffConfigs({json::parse(R"({"eval": {"lengths": [128, 256]}})"),
                                 json::parse(R"({"eval": {"lengths": [128, 256, 512]}})"),
                                 json::parse(R"({"eval": {"lengths": [128.0, 2.56e2]}})")});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].key, "eval.lengths");
  EXPECT_EQ(rows[0].values, (std::vector<std::string>{"[128, 256]", "[128, 256, 512]", "[128, 256]"}));
}
