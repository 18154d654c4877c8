// report: a study's runs as one self-contained HTML page (report/study_report.h). The store is
// opened read-only; an unknown study writes nothing.
#include <cstdio>

#include "cli/cli_common.h"
#include "report/study_report.h"
#include "store/run_store.h"

namespace ctx::cli {

int cmd_report(const Common& c, const std::string& study, const std::string& out_dir) {
  store::RunStore db(c.db, true);
  std::string path;
  try {
    path = report::write_study_report(db, study, out_dir);
  } catch (const report::ReportError& e) {
    throw UsageError(e.what());
  }
  if (c.json) {
    print_json({{"study", study}, {"written", path}});
    return 0;
  }
  std::printf("wrote %s\n", path.c_str());
  return 0;
}

}  // namespace ctx::cli
