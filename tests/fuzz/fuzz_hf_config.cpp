// Fuzz target: a Hugging Face config.json (architecture, sizes, both rope formats, biases, sliding
// window, token ids, dtype). Bad files must be an HfConfigError (exit 2); a config that reads must
// count its parameters without overflow and survive export: written back and read again, it is
// the same config.
#include "fuzz/fuzz_target.h"
#include "io/hf_config.h"

CTXLAB_FUZZ_TARGET(hf_config) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  ctx::io::HfModelConfig cfg;
  try {
    cfg = ctx::io::parse_hf_config(text, "config.json");
  } catch (const ctx::io::HfConfigError&) {
    return;
  }
  CTXLAB_FUZZ_CHECK(ctx::io::count_parameters(cfg) > 0, "a model without parameters");
  nlohmann::json written;
  try {
    written = ctx::io::write_hf_config(cfg);
  } catch (const ctx::io::HfConfigError& e) {
    throw ctx::fuzz::InvariantBroken(std::string("a config that reads does not write: ") + e.what());
  }
  ctx::io::HfModelConfig again;
  try {
    again = ctx::io::hf_config_from_json(written, "written config.json");
  } catch (const ctx::io::HfConfigError& e) {
    throw ctx::fuzz::InvariantBroken(std::string("the written config does not read: ") + e.what());
  }
  CTXLAB_FUZZ_CHECK(again == cfg, "config.json changes when written and read again");
}
