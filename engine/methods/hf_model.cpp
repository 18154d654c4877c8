// The model section of an init.hf config, read from the folder's config.json.
#include "methods/hf_model.h"

namespace ctx {

HfModelSection read_hf_model_section(const std::string& folder) {
  throw ConfigError("init.hf: '" + folder +
                    "': Hugging Face folders are not readable in this build yet");
}

void apply_hf_model(RunConfig& c, bool, bool) {
  read_hf_model_section(c.init.hf);
}

}  // namespace ctx
