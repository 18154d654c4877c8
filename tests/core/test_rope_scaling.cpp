// RoPE frequency formulas against values worked out by hand from METHODS.md §6 and §8.1.
#include <gtest/gtest.h>

#include <cmath>

#include "methods/registry.h"
#include "methods/rope_scaling.h"
#include "config/run_config.h"

TEST(RopeScaling, BaseFrequenciesByHand) {
  // d = 8, theta = 10000: theta^(-2j/8) = 1, 0.1, 0.01, 0.001.
  auto f = ctx::base_inv_freq(8, 10000.0);
  ASSERT_EQ(f.size(), 4u);
  EXPECT_DOUBLE_EQ(f[0], 1.0);
  EXPECT_NEAR(f[1], 0.1, 1e-15);
  EXPECT_NEAR(f[2], 0.01, 1e-16);
  EXPECT_NEAR(f[3], 0.001, 1e-17);
}

TEST(RopeScaling, DefaultAndLegacyTypeKey) {
  ctx::RopeBase b{8, 10000.0, 128};
  auto d = ctx::rope_frequencies(nullptr, b, 512);
  EXPECT_EQ(d.resolved["rope_type"], "default");
  EXPECT_DOUBLE_EQ(d.attention_factor, 1.0);
  // HF's legacy "type" key selects the method like "rope_type".
  EXPECT_EQ(ctx::rope_scaling_name({{"type", "linear"}}), "linear");
  EXPECT_EQ(ctx::rope_scaling_name({{"rope_type", "linear"}, {"type", "default"}}), "linear");
}

TEST(RopeScaling, LinearDividesEveryFrequencyByTheFactor) {
  ctx::RopeBase b{8, 10000.0, 128};
  auto cfg = ctx::parse_run_config({{"model", {{"d_model", 32}, {"heads", 4}}},
                                    {"rope_scaling", {{"type", "linear"}, {"factor", 4.0}}}});
  auto f = ctx::rope_frequencies(cfg.rope_scaling, b, 512);
  const double expected[] = {0.25, 0.025, 0.0025, 0.00025};
  for (int j = 0; j < 4; ++j) EXPECT_NEAR(f.inv_freq[j], expected[j], 1e-15) << j;
  EXPECT_DOUBLE_EQ(f.attention_factor, 1.0);
  EXPECT_DOUBLE_EQ(f.resolved["factor"].get<double>(), 4.0);
}

TEST(Registry, EveryMethodListsTypedParametersWithDocs) {
  auto reg = ctx::registry_json();
  ASSERT_TRUE(reg.is_array());
  int rope_scalings = 0, positions = 0, samplers = 0;
  for (auto& m : reg) {
    EXPECT_FALSE(m["doc"].get<std::string>().empty()) << m["name"];
    for (auto& p : m["params"]) {
      EXPECT_TRUE(p.contains("type"));
      EXPECT_FALSE(p["doc"].get<std::string>().empty()) << m["name"] << "." << p["key"];
    }
    auto k = m["kind"].get<std::string>();
    rope_scalings += k == "rope_scaling";
    positions += k == "position";
    samplers += k == "sampler";
  }
  EXPECT_GE(rope_scalings, 2);
  EXPECT_GE(positions, 4);
  EXPECT_GE(samplers, 1);
  EXPECT_NE(ctx::find_method(ctx::MethodKind::Position, "rope"), nullptr);
  EXPECT_EQ(ctx::find_method(ctx::MethodKind::Position, "nonexistent"), nullptr);
}

TEST(ParamSpec, ResolveFillsDefaultsAndRejectsBadValues) {
  std::vector<ctx::ParamSpec> specs = {
      {"n", ctx::ParamType::Int, 3, 1, 10, {}, "count"},
      {"mode", ctx::ParamType::Choice, "a", -INFINITY, INFINITY, {"a", "b"}, "mode"},
  };
  auto r = ctx::resolve_params(specs, nlohmann::json::object(), "x");
  EXPECT_EQ(r["n"], 3);
  EXPECT_EQ(r["mode"], "a");
  EXPECT_THROW(ctx::resolve_params(specs, {{"n", 11}}, "x"), ctx::ConfigError);
  EXPECT_THROW(ctx::resolve_params(specs, {{"n", 2.5}}, "x"), ctx::ConfigError);
  EXPECT_THROW(ctx::resolve_params(specs, {{"mode", "c"}}, "x"), ctx::ConfigError);
  EXPECT_THROW(ctx::resolve_params(specs, {{"other", 1}}, "x"), ctx::ConfigError);
  EXPECT_NO_THROW(ctx::resolve_params(specs, {{"type", "ignored"}}, "x", {"type"}));
}
