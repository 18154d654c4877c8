// check: everything `train` would refuse before its first step, without creating a run: the strict
// parse, every method resolved, the device, the tokenizer, the corpus (its files' type and size,
// against eval.lengths), the sampler, the init checkpoint and, for init.run, the store's run.
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/cli_common.h"
#include "store/run_store.h"
#include "train/run_setup.h"

namespace ctx::cli {

int cmd_check(const Common& c, const std::string& config_path, bool config_only) {
  // The window validates a form through this verb before it launches anything: the message is the
  // engine's own, and `field` is the key path it names, so the form can show it beside that field.
  nlohmann::json resolved;
  std::vector<std::string> warnings;
  const nlohmann::json given = read_config_file(config_path);  // errors here name the file
  try {
    auto cfg = parse_run_config(given);
    resolved = to_json(cfg);
    // The same preflight `train` runs, unless config_only (the window checks forms that way as
    // they are edited). The store is opened (read-only) only when the config takes its model from
    // a stored run; otherwise check neither needs nor touches it.
    if (!config_only) {
      std::unique_ptr<store::RunStore> db;
      std::error_code ec;
      if ((cfg.init.kind == "run" || cfg.init.kind == "run_named") &&
          std::filesystem::exists(c.db, ec))
        db = std::make_unique<store::RunStore>(c.db, /*read_only=*/true);
      warnings = preflight(db.get(), c.db, cfg).warnings;
    }
  } catch (const InputError& e) {
    const std::string msg = e.what();
    if (!c.json) {
      std::cerr << "error: " << one_line(config_path + ": " + msg) << "\n";
      return 2;
    }
    const auto colon = msg.find(": ");
    const std::string field =
        colon == std::string::npos || msg.find(' ') < colon ? "" : msg.substr(0, colon);
    std::cerr << "error: " << one_line(msg) << "\n";
    print_json({{"ok", false}, {"error", msg}, {"field", field}});
    return 2;
  }
  for (const auto& w : warnings) std::cerr << "warning: " << w << "\n";
  if (c.json)
    print_json({{"ok", true}, {"resolved", resolved}, {"warnings", warnings}});
  else
    std::cout << config_path << ": ok\n";
  return 0;
}

}  // namespace ctx::cli
