// `ctxlab-cli report`: a study's runs as one self-contained HTML page (index.html): each run's
// config differences, the study's checks (held or not), perplexity against length (one line per
// run, log axes), retrieval and RULER tables and heatmaps when present. Figures are inline SVG (report/svg_plot.h); the page loads
// nothing from elsewhere (no scripts, links, images or fonts). Reads the store only; no LibTorch.
#pragma once

#include <stdexcept>
#include <string>

#include "store/run_store.h"

namespace ctx::report {

// A report problem as one line: an unknown study, a folder that cannot be written.
struct ReportError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The page of the study named `study`. ReportError "study 'x': no such study (known: a, b)".
std::string study_report_html(const store::RunStore& db, const std::string& study);

// Writes out_dir/index.html (creating out_dir); returns its path. ReportError when the study is
// unknown (nothing is written) or the file cannot be written.
std::string write_study_report(const store::RunStore& db, const std::string& study,
                               const std::string& out_dir);

}  // namespace ctx::report
