// The study report page: finds the study, reads its runs and records, and joins the sections into
// one HTML document with its style inline.
#include "report/study_report.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "report/report_sections.h"
#include "report/svg_plot.h"

namespace ctx::report {
namespace {

constexpr const char* kStyle =
    "body{font-family:sans-serif;margin:24px;color:#222;max-width:1200px}"
    "h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}"
    "h3{font-size:15px}table{border-collapse:collapse;margin:8px 0 16px 0;font-size:13px}"
    "th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}"
    "th:first-child,td:first-child{text-align:left}th{background:#f3f3f3}"
    "figure{margin:8px 0 16px 0;display:inline-block;vertical-align:top}"
    "p.note{color:#666;font-size:12px}";

const store::Study& find_study(const std::vector<store::Study>& all, const std::string& name) {
  for (const auto& s : all)
    if (s.name == name) return s;
  std::string known;
  for (const auto& s : all) known += (known.empty() ? "" : ", ") + s.name;
  throw ReportError("study '" + name + "': no such study (known: " +
                    (known.empty() ? "none" : known) + ")");
}

std::vector<RunData> read_runs(const store::RunStore& db, int64_t study) {
  std::vector<RunData> out;
  for (int64_t id : db.study_runs(study)) {
    RunData d;
    d.run = db.get_run(id);
    try {
      d.config = nlohmann::json::parse(d.run.config_json);
    } catch (const nlohmann::json::exception&) {
      d.config = nlohmann::json::object();
    }
    if (d.config.is_object()) d.config.erase("_given");
    d.evals = db.evals(id);
    out.push_back(std::move(d));
  }
  std::sort(out.begin(), out.end(),
            [](const RunData& a, const RunData& b) { return a.run.id < b.run.id; });
  return out;
}

// The check outcomes `study run` stored for this study: task "study_check" on its base run, which
// may belong to another study when it was reused, so every run is looked at; in check order.
std::vector<CheckRow> read_checks(const store::RunStore& db, int64_t study) {
  std::map<double, CheckRow> by_index;
  for (const auto& run : db.list_runs()) {
    for (const auto& e : db.evals(run.id, "study_check")) {
      const auto extra = nlohmann::json::parse(e.extra_json, nullptr, false);
      if (!extra.is_object() || extra.value("study_id", int64_t{-1}) != study) continue;
      CheckRow& c = by_index[e.x];
      c.description = extra.value("description", "");
      c.detail = extra.value("detail", "");
      c.held = e.value >= 0.5;
    }
  }
  std::vector<CheckRow> out;
  for (const auto& [i, c] : by_index) out.push_back(c);
  return out;
}

}  // namespace

std::string study_report_html(const store::RunStore& db, const std::string& study) {
  const auto studies = db.list_studies();
  const auto& s = find_study(studies, study);
  const auto runs = read_runs(db, s.id);
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>CtxLab study " +
      xml_escape(s.name) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n";
  html += "<h1>Study " + xml_escape(s.name) + "</h1>\n";
  if (!s.description.empty()) html += "<p>" + xml_escape(s.description) + "</p>\n";
  html += "<p class=\"note\">" + std::to_string(runs.size()) + " run" +
          (runs.size() == 1 ? "" : "s") + " from " + xml_escape(db.path()) +
          ". Figures are inline SVG; this page loads nothing else.</p>\n";
  for (const auto& section : {runs_section(runs), checks_section(s.description, read_checks(db, s.id)),
                              config_section(runs), perplexity_section(runs),
                              retrieval_section(runs), ruler_section(runs)})
    html += section;
  return html + "</body>\n</html>\n";
}

std::string write_study_report(const store::RunStore& db, const std::string& study,
                               const std::string& out_dir) {
  const std::string html = study_report_html(db, study);  // an unknown study writes nothing
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec || !fs::is_directory(out_dir))
    throw ReportError("--out '" + out_dir + "': cannot create the folder" +
                      (ec ? " (" + ec.message() + ")" : ""));
  const fs::path path = fs::path(out_dir) / "index.html";
  const fs::path tmp = fs::path(out_dir) / ".index.html.tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << html;
    if (!f) throw ReportError("--out '" + out_dir + "': cannot write " + tmp.string());
  }
  fs::rename(tmp, path, ec);
  if (ec) throw ReportError("--out '" + out_dir + "': cannot write " + path.string());
  return path.string();
}

}  // namespace ctx::report
