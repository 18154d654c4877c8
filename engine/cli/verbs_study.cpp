// study run FILE / study validate FILE: a paper's finding as a study file (train/study.h), run into
// one study group of the store, with each check's outcome printed.
#include <filesystem>
#include <iostream>

#include "cli/cli_common.h"
#include "cli/progress.h"
#include "store/run_store.h"
#include "train/study_runner.h"

namespace fs = std::filesystem;

namespace ctx::cli {
namespace {

// resources/presets beside the working directory, else beside the executable's build tree.
std::string presets_dir() {
  if (fs::is_directory("resources/presets")) return "resources/presets";
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  for (auto dir = exe.parent_path(); !ec && !dir.empty() && dir != dir.parent_path();
       dir = dir.parent_path())
    if (fs::is_directory(dir / "resources" / "presets"))
      return (dir / "resources" / "presets").string();
  return "resources/presets";
}

}  // namespace

int cmd_study_validate(const Common& c, const std::string& file) {
  const auto s = read_study(file);
  const auto order = study_order(s);
  if (c.json) {
    print_json({{"name", s.name},
                {"runs", order},
                {"checks", s.checks.size()},
                {"plot", to_json(s.plot)}});
    return 0;
  }
  std::cout << "study '" << s.name << "': base, then";
  for (const auto& n : order) std::cout << " " << n;
  std::cout << "; " << s.checks.size() << " check(s); figure: " << s.plot.kind
            << (s.plot.derived ? " (derived)" : "") << "\n";
  return 0;
}

int cmd_study_run(const Common& c, const std::string& file, const std::string& device) {
  const auto s = read_study(file);     // a bad study file exits before the store is touched
  check_study_data(s, presets_dir());  // and so does a corpus that is not there
  store::RunStore db(c.db);
  auto sink = make_event_sink(c.json);
  const auto out = run_study(db, s, device, presets_dir(), *sink);
  int held = 0;
  for (const auto& o : out.checks) held += o.held;
  if (c.json) {
    nlohmann::json checks = nlohmann::json::array();
    for (const auto& o : out.checks)
      checks.push_back({{"check", o.description}, {"held", o.held}, {"detail", o.detail}});
    print_json({{"study", s.name},
                {"study_id", out.study_id},
                {"runs", out.run_ids},
                {"checks", checks},
                {"held", held},
                {"total", out.checks.size()}});
    return 0;
  }
  std::cout << "study '" << s.name << "' (" << out.study_id << "): " << s.claim << "\n";
  for (const auto& o : out.checks)
    std::cout << "  " << (o.held ? "held    " : "FAILED  ") << o.description << ": " << o.detail
              << "\n";
  std::cout << held << " of " << out.checks.size() << " check(s) held\n";
  return 0;
}

}  // namespace ctx::cli
