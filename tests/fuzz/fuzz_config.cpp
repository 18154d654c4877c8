// Fuzz target: run configs as `check` and `train` read them (strict JSON, every section, every
// method resolved). Bad input must be a ConfigError / JsonError (exit 2); a config that parses
// must round-trip through its resolved JSON unchanged.
#include "config/json_strict.h"
#include "config/run_config.h"
#include "fuzz/fuzz_target.h"

CTXLAB_FUZZ_TARGET(config) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  nlohmann::json given;
  try {
    given = ctx::parse_json_strict(text, "fuzz.json");
  } catch (const ctx::JsonError&) {
    return;
  }
  ctx::RunConfig cfg;
  try {
    cfg = ctx::parse_run_config(given);
  } catch (const ctx::ConfigError&) {
    return;
  }
  // What `train` stores is the resolved config; reading it back must give the same config.
  const nlohmann::json resolved = ctx::to_json(cfg);
  ctx::RunConfig again;
  try {
    again = ctx::parse_run_config(resolved);
  } catch (const ctx::ConfigError& e) {
    throw ctx::fuzz::InvariantBroken(std::string("resolved config does not parse: ") + e.what());
  }
  CTXLAB_FUZZ_CHECK(ctx::to_json(again) == resolved, "resolved config changes when re-read");
}
