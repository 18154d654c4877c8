// Helpers shared by the position-sampler tests: synthetic documents whose token values encode
// their position, samplers built through the registry, and the common property checks.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "methods/registry.h"
#include "config/run_config.h"

namespace samplers_test {

constexpr int kMod = 251;  // token value = index in its document % 251

// Documents of the given lengths; token j of every document is j % 251.
inline std::vector<ctx::data::Document> docs_of(const std::vector<int>& lengths) {
  std::vector<ctx::data::Document> d;
  for (int n : lengths) {
    ctx::data::Document doc;
    for (int i = 0; i < n; ++i) doc.tokens.push_back(i % kMod);
    d.push_back(doc);
  }
  return d;
}

inline nlohmann::json resolve(const std::string& name, const nlohmann::json& params) {
  const auto* m = ctx::find_method(ctx::MethodKind::Sampler, name);
  EXPECT_NE(m, nullptr) << name;
  return ctx::resolve_params(m->params, params, "train.positions");
}

// The sampler `name` with `params` (defaults filled as the config parser does).
inline std::unique_ptr<ctx::PositionSampler> make(const std::string& name,
                                                  const nlohmann::json& params,
                                                  const ctx::SamplerContext& sc) {
  const auto* m = ctx::find_method(ctx::MethodKind::Sampler, name);
  return m->sampler(resolve(name, params), sc);
}

// The registry's validation message ("" when the parameters fit the run).
inline std::string validate(const std::string& name, const nlohmann::json& params, int64_t seq_len,
                            int64_t max_positions = 256, const std::string& position = "rope") {
  const auto* m = ctx::find_method(ctx::MethodKind::Sampler, name);
  ctx::MethodContext c;
  c.seq_len = seq_len;
  c.max_positions = max_positions;
  c.position = position;
  return m->validate ? m->validate(resolve(name, params), c) : "";
}

// The ConfigError message of building the sampler, or "" if it built.
inline std::string build_error(const std::string& name, const nlohmann::json& params,
                               const ctx::SamplerContext& sc) {
  try {
    make(name, params, sc);
  } catch (const ctx::ConfigError& e) {
    return e.what();
  }
  return "";
}

// The message of parsing a run config with these train.positions, or "" if it parsed.
inline std::string config_error(const nlohmann::json& positions) {
  try {
    ctx::parse_run_config({{"train", {{"positions", positions}}}});
  } catch (const ctx::ConfigError& e) {
    return e.what();
  }
  return "";
}

// Sizes agree, and every scored target is the true next token of a document built by docs_of
// (inputs drawn from inside one document: the successor of value v is (v + 1) % 251).
inline void expect_well_formed(const ctx::data::Example& ex, size_t T) {
  ASSERT_EQ(ex.tokens.size(), T);
  ASSERT_EQ(ex.targets.size(), T);
  ASSERT_EQ(ex.positions.size(), T);
  ASSERT_EQ(ex.loss_mask.size(), T);
  for (size_t i = 0; i < T; ++i)
    if (ex.loss_mask[i]) {
      EXPECT_EQ(ex.targets[i], (ex.tokens[i] + 1) % kMod) << "at " << i;
    }
}

// The same per-example seed gives the same example; another seed a different one.
inline void expect_deterministic(ctx::PositionSampler& s, uint64_t seed = 11) {
  ctx::Rng b1(seed), b2(seed);
  s.begin_batch(b1);
  ctx::Rng r1(seed + 1);
  auto x = s.sample(r1);
  s.begin_batch(b2);
  ctx::Rng r2(seed + 1);
  auto y = s.sample(r2);
  EXPECT_EQ(x.tokens, y.tokens);
  EXPECT_EQ(x.targets, y.targets);
  EXPECT_EQ(x.positions, y.positions);
  EXPECT_EQ(x.loss_mask, y.loss_mask);
  EXPECT_EQ(x.info, y.info);
  bool differs = false;
  for (uint64_t other = seed + 100; other < seed + 110 && !differs; ++other) {
    ctx::Rng b3(other), r3(other + 1);
    s.begin_batch(b3);
    auto z = s.sample(r3);
    differs = z.positions != x.positions || z.tokens != x.tokens;
  }
  EXPECT_TRUE(differs);
}

}  // namespace samplers_test
