// Report sections built from eval records: runs and config differences, perplexity against length,
// passkey / needle / key-value retrieval, and the RULER-style suite with its effective lengths.
#include "report/report_sections.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <set>

#include "report/svg_plot.h"

namespace ctx::report {
namespace {

using Grid = std::map<double, std::map<double, double>>;  // y -> x -> value

std::string fmt(double v, int digits = 3) {
  if (!std::isfinite(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string figure(const std::string& svg) {
  return "<figure>" + svg + "</figure>\n";
}

void flatten(const nlohmann::json& j, const std::string& prefix,
             std::map<std::string, std::string>& out) {
  if (j.is_object() && !j.empty()) {
    for (const auto& [k, v] : j.items()) flatten(v, prefix.empty() ? k : prefix + "." + k, out);
  } else {
    out[prefix] = j.dump();
  }
}

// Mean over y of the records of (task, metric) per x, for one run.
std::map<double, double> by_length(const RunData& r, const std::string& task,
                                   const std::string& mode, const std::string& metric) {
  std::map<double, std::pair<double, int>> sums;
  for (const auto& e : r.evals)
    if (e.task == task && (mode.empty() || e.mode == mode) && e.metric == metric) {
      sums[e.x].first += e.value;
      sums[e.x].second += 1;
    }
  std::map<double, double> out;
  for (const auto& [x, s] : sums) out[x] = s.first / s.second;
  return out;
}

Grid grid_of(const RunData& r, const std::string& task, const std::string& metric) {
  Grid g;
  for (const auto& e : r.evals)
    if (e.task == task && e.metric == metric) g[e.y][e.x] = e.value;
  return g;
}

Series series_of(const std::string& name, const std::map<double, double>& m) {
  Series s;
  s.name = name;
  for (const auto& [x, y] : m) {
    s.x.push_back(x);
    s.y.push_back(y);
  }
  return s;
}

std::set<double> xs_of(const std::vector<std::map<double, double>>& ms) {
  std::set<double> xs;
  for (const auto& m : ms)
    for (const auto& [x, v] : m) xs.insert(x);
  return xs;
}

// Lines per run plus a run x length table.
std::string lines_and_table(const std::vector<RunData>& runs,
                            const std::vector<std::map<double, double>>& per_run,
                            LinePlot plot, int digits) {
  const auto xs = xs_of(per_run);
  std::vector<std::string> header = {"run"};
  for (double x : xs) header.push_back(tick_label(x));
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < runs.size(); ++i) {
    if (per_run[i].empty()) continue;
    plot.series.push_back(series_of(runs[i].label(), per_run[i]));
    std::vector<std::string> row = {runs[i].label()};
    for (double x : xs) row.push_back(per_run[i].count(x) ? fmt(per_run[i].at(x), digits) : "-");
    rows.push_back(row);
  }
  return figure(line_plot_svg(plot)) + html_table(header, rows);
}

// A heatmap of one run's grid: rows y (labelled by `row_label`), columns x.
std::string grid_heatmap(const std::string& title, const Grid& g, const std::string& y_label,
                         const std::function<std::string(double)>& row_label) {
  Heatmap h;
  h.title = title;
  h.x_label = "length";
  h.y_label = y_label;
  std::set<double> xs;
  for (const auto& [y, row] : g)
    for (const auto& [x, v] : row) xs.insert(x);
  for (double x : xs) h.columns.push_back(tick_label(x));
  for (const auto& [y, row] : g) {
    h.rows.push_back(row_label(y));
    std::vector<double> vals;
    for (double x : xs) vals.push_back(row.count(x) ? row.at(x) : NAN);
    h.values.push_back(vals);
  }
  return figure(heatmap_svg(h));
}

bool has_task(const std::vector<RunData>& runs, const std::string& prefix) {
  for (const auto& r : runs)
    for (const auto& e : r.evals)
      if (e.task.rfind(prefix, 0) == 0) return true;
  return false;
}

}  // namespace

std::string RunData::label() const {
  return "#" + std::to_string(run.id) + " " + run.name;
}

std::string html_table(const std::vector<std::string>& header,
                       const std::vector<std::vector<std::string>>& rows) {
  std::string s = "<table>\n<tr>";
  for (const auto& h : header) s += "<th>" + xml_escape(h) + "</th>";
  s += "</tr>\n";
  for (const auto& row : rows) {
    s += "<tr>";
    for (const auto& c : row) s += "<td>" + xml_escape(c) + "</td>";
    s += "</tr>\n";
  }
  return s + "</table>\n";
}

std::string runs_section(const std::vector<RunData>& runs) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : runs) {
    const auto& c = r.config;
    const auto seq = c.contains("train") ? c["train"].value("seq_len", nlohmann::json()) : nullptr;
    rows.push_back({r.label(), store::to_string(r.run.status), r.run.method,
                    r.run.parent ? "#" + std::to_string(*r.run.parent) : "-",
                    seq.is_number() ? seq.dump() : "-", r.run.device});
  }
  return "<h2>Runs</h2>\n" +
         html_table({"run", "status", "method", "parent", "train.seq_len", "device"}, rows);
}

std::string checks_section(const std::string& claim, const std::vector<CheckRow>& checks) {
  if (checks.empty()) return "";
  std::vector<std::vector<std::string>> rows;
  size_t held = 0;
  for (const auto& c : checks) {
    rows.push_back({c.description, c.held ? "held" : "did not hold", c.detail});
    held += c.held ? 1 : 0;
  }
  std::string s = "<h2>Checks</h2>\n";
  if (!claim.empty()) s += "<p>Claim: " + xml_escape(claim) + "</p>\n";
  s += "<p>" + std::to_string(held) + " of " + std::to_string(checks.size()) + " checks held.</p>\n";
  return s + html_table({"check", "outcome", "numbers"}, rows);
}

std::string config_section(const std::vector<RunData>& runs) {
  std::vector<std::map<std::string, std::string>> flat(runs.size());
  std::set<std::string> keys;
  for (size_t i = 0; i < runs.size(); ++i) {
    flatten(runs[i].config, "", flat[i]);
    for (const auto& [k, v] : flat[i]) keys.insert(k);
  }
  std::vector<std::string> header = {"key"};
  for (const auto& r : runs) header.push_back(r.label());
  std::vector<std::vector<std::string>> rows;
  for (const auto& k : keys) {
    if (k == "name") continue;
    std::set<std::string> values;
    for (const auto& f : flat) values.insert(f.count(k) ? f.at(k) : "(unset)");
    if (values.size() < 2) continue;
    std::vector<std::string> row = {k};
    for (const auto& f : flat) row.push_back(f.count(k) ? f.at(k) : "(unset)");
    rows.push_back(row);
  }
  std::string s = "<h2>Config differences</h2>\n";
  if (rows.empty()) return s + "<p>The runs' configs are identical (apart from their names).</p>\n";
  return s + html_table(header, rows);
}

std::string perplexity_section(const std::vector<RunData>& runs) {
  std::set<std::string> modes;
  for (const auto& r : runs)
    for (const auto& e : r.evals)
      if (e.task == "ppl" && e.metric == "ppl") modes.insert(e.mode);
  if (modes.empty()) return "";
  std::string s = "<h2>Perplexity against length</h2>\n";
  for (const auto& mode : modes) {
    std::vector<std::map<double, double>> per_run;
    for (const auto& r : runs) per_run.push_back(by_length(r, "ppl", mode, "ppl"));
    LinePlot p;
    p.title = "perplexity (" + mode + ")";
    p.x_label = "evaluation length";
    p.y_label = "perplexity";
    p.log_x = p.log_y = true;
    s += "<h3>" + xml_escape(mode) + "</h3>\n" + lines_and_table(runs, per_run, p, 3);
  }
  return s;
}

std::string retrieval_section(const std::vector<RunData>& runs) {
  if (!has_task(runs, "passkey") && !has_task(runs, "needle") && !has_task(runs, "kvretrieval"))
    return "";
  std::string s = "<h2>Retrieval</h2>\n";
  if (has_task(runs, "passkey")) {
    std::vector<std::map<double, double>> per_run;
    for (const auto& r : runs) per_run.push_back(by_length(r, "passkey", "", "accuracy"));
    LinePlot p;
    p.title = "passkey accuracy (mean over depths)";
    p.x_label = "length";
    p.y_label = "accuracy";
    p.log_x = true;
    p.y_min = 0;
    p.y_max = 1;
    s += "<h3>passkey</h3>\n" + lines_and_table(runs, per_run, p, 2);
  }
  for (const auto& [task, axis] : {std::pair<std::string, std::string>{"needle", "depth %"},
                                   {"kvretrieval", "pair position"}}) {
    if (!has_task(runs, task)) continue;
    s += "<h3>" + task + "</h3>\n";
    for (const auto& r : runs) {
      const auto g = grid_of(r, task, "accuracy");
      if (!g.empty())
        s += grid_heatmap(r.label() + ": " + task + " accuracy", g, axis,
                          [](double y) { return tick_label(std::round(y * 1000) / 1000); });
    }
  }
  return s;
}

std::string ruler_section(const std::vector<RunData>& runs) {
  if (!has_task(runs, "ruler")) return "";
  std::string s = "<h2>RULER-style tasks</h2>\n";
  // Effective lengths and the average over tasks by length.
  std::vector<std::vector<std::string>> eff_rows;
  std::vector<std::map<double, double>> averages;
  for (const auto& r : runs) {
    std::map<double, double> avg;
    for (const auto& e : r.evals) {
      if (e.task != "ruler" || e.metric != "effective_length") continue;
      const auto extra = nlohmann::json::parse(e.extra_json, nullptr, false);
      if (extra.is_object() && extra.contains("averages") && extra["averages"].is_object())
        for (const auto& [L, v] : extra["averages"].items())
          if (v.is_number()) avg[std::stod(L)] = v.get<double>();
      eff_rows.push_back({r.label(), tick_label(e.value),
                          extra.is_object() ? fmt(extra.value("threshold", NAN)) : "-",
                          extra.is_object() ? tick_label(extra.value("reference_length", 0.0)) : "-",
                          extra.is_object() ? fmt(extra.value("reference_score", NAN)) : "-"});
    }
    averages.push_back(avg);
  }
  if (!eff_rows.empty()) {
    s += "<h3>Effective length</h3>\n" +
         html_table({"run", "effective length", "threshold", "reference length", "reference score"},
                    eff_rows);
    LinePlot p;
    p.title = "RULER average over tasks";
    p.x_label = "length";
    p.y_label = "mean score";
    p.log_x = true;
    p.y_min = 0;
    p.y_max = 1;
    s += lines_and_table(runs, averages, p, 3);
  }
  // Per run: tasks x lengths (mean over depths), and depths x lengths over the needle tasks.
  s += "<h3>Scores by task</h3>\n";
  for (const auto& r : runs) {
    std::map<std::string, std::map<double, std::pair<double, int>>> t;
    Grid depth_sum, depth_n;
    for (const auto& e : r.evals) {
      if (e.task.rfind("ruler/", 0) != 0 || e.metric != "accuracy") continue;
      auto& cell = t[e.task.substr(6)][e.x];
      cell.first += e.value;
      cell.second += 1;
      if (e.y >= 0) {
        depth_sum[e.y][e.x] += e.value;
        depth_n[e.y][e.x] += 1;
      }
    }
    if (t.empty()) continue;
    Grid g;
    std::vector<std::string> names;
    for (const auto& [task, row] : t) {
      names.push_back(task);
      for (const auto& [x, v] : row) g[static_cast<double>(names.size() - 1)][x] = v.first / v.second;
    }
    s += grid_heatmap(r.label() + ": score by task and length", g, "task",
                      [&](double y) { return names[static_cast<size_t>(y)]; });
    if (!depth_sum.empty()) {
      for (auto& [y, row] : depth_sum)
        for (auto& [x, v] : row) v /= depth_n[y][x];
      s += grid_heatmap(r.label() + ": needle tasks by depth", depth_sum, "depth",
                        [](double y) { return tick_label(std::round(y * 1000) / 1000); });
    }
  }
  return s;
}

}  // namespace ctx::report
