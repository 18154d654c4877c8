// runs, show, compare, export: reading the run store. A sound store is opened as every reader
// opens it (runs whose process died become interrupted); a damaged one is opened read-only, shown
// as far as it reads, and never written.
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "cli/cli_common.h"
#include "config/json_strict.h"
#include "store/run_store.h"

namespace ctx::cli {
namespace {

using store::RunRecord;

std::unique_ptr<store::RunStore> open_for_reading(const std::string& path) {
  std::unique_ptr<store::RunStore> db;
  try {
    db = std::make_unique<store::RunStore>(path);
  } catch (const store::StoreDamagedError& e) {
    std::cerr << "warning: " << e.what() << " (reading it read-only)\n";
    return std::make_unique<store::RunStore>(path, /*read_only=*/true);
  }
  try {
    db->reconcile_interrupted();
  } catch (const store::StoreError& e) {
    // A full disk or a busy writer: show the runs anyway; the next reader tries again.
    std::cerr << "warning: runs whose process ended are not marked interrupted yet: " << e.what()
              << "\n";
  }
  return db;
}

// A run's stored config; damage is named with the store and the run.
nlohmann::json stored_config(const store::RunStore& db, const RunRecord& r) {
  try {
    return parse_json_strict(r.config_json,
                             db.path() + ": run " + std::to_string(r.id) + "'s config");
  } catch (const JsonError& e) {
    throw store::StoreDamagedError(e.what());
  }
}

// ppl by (mode, length) from a run's evaluation rows.
std::map<std::pair<std::string, int64_t>, double> ppl_table(const store::RunStore& db, int64_t run) {
  std::map<std::pair<std::string, int64_t>, double> t;
  for (auto& e : db.evals(run, "ppl"))
    if (e.metric == "ppl") t[{e.mode, static_cast<int64_t>(e.x)}] = e.value;
  return t;
}

nlohmann::json run_summary(const store::RunStore& db, const RunRecord& r) {
  nlohmann::json j{{"id", r.id},
                   {"name", r.name},
                   {"status", store::to_string(r.status)},
                   {"method", r.method},
                   {"device", r.device},
                   {"created", r.created},
                   {"parent", r.parent ? nlohmann::json(*r.parent) : nlohmann::json(nullptr)}};
  auto latest = db.latest_metrics(r.id);
  if (latest.count("loss")) {
    j["step"] = latest["loss"].step;
    j["loss"] = latest["loss"].value;
  }
  nlohmann::json ppl = nlohmann::json::object();
  for (auto& [k, v] : ppl_table(db, r.id)) ppl[k.first][std::to_string(k.second)] = v;
  j["ppl"] = ppl;
  j["tags"] = db.tags(r.id);
  if (!r.error.empty()) j["error"] = r.error;
  return j;
}

// `s` cut or padded to `width` characters (UTF-8 aware: "cuda × 4" is 8 wide, 9 bytes).
std::string fit(const std::string& s, size_t width) {
  std::string out;
  size_t chars = 0;
  for (size_t i = 0; i < s.size() && chars < width;) {
    size_t len = 1;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0xf0) len = 4;
    else if (c >= 0xe0) len = 3;
    else if (c >= 0xc0) len = 2;
    out.append(s, i, len);
    i += len;
    ++chars;
  }
  return out + std::string(width - chars, ' ');
}

void flatten(const nlohmann::json& j, const std::string& prefix, std::map<std::string, std::string>& out) {
  if (j.is_object()) {
    for (auto& [k, v] : j.items()) {
      if (k == "_given") continue;
      flatten(v, prefix.empty() ? k : prefix + "." + k, out);
    }
  } else {
    out[prefix] = j.dump();
  }
}

}  // namespace

int cmd_runs(const Common& c) {
  const auto store = open_for_reading(c.db);
  const store::RunStore& db = *store;
  auto runs = db.list_runs();
  if (c.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (auto& r : runs) arr.push_back(run_summary(db, r));
    print_json(arr);
    return 0;
  }
  std::printf("%5s  %-24s  %-11s  %-32s  %-15s  %-16s  %8s  %s\n", "id", "name", "status", "method", "device",
              "created", "loss", "ppl (nonoverlap, longest length)");
  for (auto& r : runs) {
    auto latest = db.latest_metrics(r.id);
    std::string loss = latest.count("loss") ? format_number(latest["loss"].value) : "-";
    std::string ppl = "-";
    auto t = ppl_table(db, r.id);
    for (auto& [k, v] : t)
      if (k.first == "nonoverlap") ppl = format_number(v) + " @" + std::to_string(k.second);
    std::printf("%5lld  %-24.24s  %-11s  %-32.32s  %s  %-16s  %8s  %s\n", static_cast<long long>(r.id), r.name.c_str(),
                store::to_string(r.status).c_str(), r.method.c_str(), fit(r.device, 15).c_str(),
                format_time(r.created).c_str(), loss.c_str(), ppl.c_str());
  }
  return 0;
}

int cmd_show(const Common& c, int64_t id) {
  const auto store = open_for_reading(c.db);
  const store::RunStore& db = *store;
  auto r = db.get_run(id);
  auto cfg = stored_config(db, r);
  cfg.erase("_given");
  if (c.json) {
    auto j = run_summary(db, r);
    j["config"] = cfg;
    j["started"] = r.started;
    j["ended"] = r.ended;
    j["device"] = r.device;
    j["engine_version"] = r.engine_version;
    j["run_dir"] = r.run_dir;
    j["note"] = db.note(id);
    nlohmann::json evals = nlohmann::json::array();
    for (auto& e : db.evals(id))
      evals.push_back({{"task", e.task}, {"mode", e.mode}, {"x", e.x}, {"y", e.y}, {"metric", e.metric},
                       {"value", e.value}, {"step", e.step}});
    j["evals"] = evals;
    nlohmann::json metrics = nlohmann::json::object();
    for (auto& [k, v] : db.latest_metrics(id)) metrics[k] = {{"step", v.step}, {"value", v.value}};
    j["metrics"] = metrics;
    print_json(j);
    return 0;
  }
  std::cout << "run " << r.id << "  " << r.name << "\n"
            << "  status   " << store::to_string(r.status) << (r.error.empty() ? "" : "  (" + r.error + ")") << "\n"
            << "  method   " << r.method << "\n"
            << "  created  " << format_time(r.created) << "   started " << format_time(r.started) << "   ended "
            << format_time(r.ended) << "\n"
            << "  device   " << r.device << "   engine " << r.engine_version << "\n"
            << "  folder   " << r.run_dir << "\n";
  if (r.parent) std::cout << "  parent   run " << *r.parent << "\n";
  auto tags = db.tags(id);
  if (!tags.empty()) {
    std::cout << "  tags    ";
    for (auto& t : tags) std::cout << " " << t;
    std::cout << "\n";
  }
  if (auto n = db.note(id); !n.empty()) std::cout << "  note     " << n << "\n";
  std::cout << "metrics (latest)\n";
  for (auto& [k, v] : db.latest_metrics(id)) std::cout << "  " << k << " = " << format_number(v.value) << " @ step " << v.step << "\n";
  auto t = ppl_table(db, id);
  if (!t.empty()) {
    std::cout << "perplexity\n";
    for (auto& [k, v] : t) std::printf("  %-10s %7lld  %10.3f\n", k.first.c_str(), static_cast<long long>(k.second), v);
  }
  std::cout << "config\n" << cfg.dump(2) << "\n";
  return 0;
}

int cmd_compare(const Common& c, const std::vector<int64_t>& ids) {
  const auto store = open_for_reading(c.db);
  const store::RunStore& db = *store;
  std::vector<RunRecord> runs;
  std::vector<std::map<std::string, std::string>> flat;
  std::set<std::string> keys;
  for (auto id : ids) {
    runs.push_back(db.get_run(id));
    std::map<std::string, std::string> f;
    flatten(stored_config(db, runs.back()), "", f);
    for (auto& [k, v] : f) keys.insert(k);
    flat.push_back(std::move(f));
  }
  std::vector<std::string> differing;
  for (auto& k : keys) {
    std::set<std::string> vals;
    for (auto& f : flat) vals.insert(f.count(k) ? f[k] : "(unset)");
    if (vals.size() > 1) differing.push_back(k);
  }
  std::set<std::pair<std::string, int64_t>> cols;
  std::vector<std::map<std::pair<std::string, int64_t>, double>> ppl;
  for (auto id : ids) {
    ppl.push_back(ppl_table(db, id));
    for (auto& [k, v] : ppl.back()) cols.insert(k);
  }
  if (c.json) {
    nlohmann::json diff = nlohmann::json::object();
    for (auto& k : differing) {
      nlohmann::json row = nlohmann::json::array();
      for (auto& f : flat) row.push_back(f.count(k) ? nlohmann::json::parse(f[k]) : nlohmann::json(nullptr));
      diff[k] = row;
    }
    nlohmann::json res = nlohmann::json::array();
    for (size_t i = 0; i < ids.size(); ++i) {
      nlohmann::json p = nlohmann::json::object();
      for (auto& [k, v] : ppl[i]) p[k.first][std::to_string(k.second)] = v;
      res.push_back({{"id", ids[i]}, {"name", runs[i].name}, {"status", store::to_string(runs[i].status)}, {"ppl", p}});
    }
    print_json({{"runs", ids}, {"config_diff", diff}, {"results", res}});
    return 0;
  }
  std::printf("%-36s", "");
  for (auto& r : runs) std::printf("  %18s", ("run " + std::to_string(r.id)).c_str());
  std::printf("\n%-36s", "name");
  for (auto& r : runs) std::printf("  %18.18s", r.name.c_str());
  std::printf("\n");
  if (differing.empty()) std::printf("(configs identical)\n");
  for (auto& k : differing) {
    std::printf("%-36.36s", k.c_str());
    for (auto& f : flat) std::printf("  %18.18s", f.count(k) ? f[k].c_str() : "(unset)");
    std::printf("\n");
  }
  for (auto& col : cols) {
    std::printf("%-36s", ("ppl " + col.first + " @" + std::to_string(col.second)).c_str());
    for (auto& p : ppl) std::printf("  %18s", p.count(col) ? format_number(p[col], 5).c_str() : "-");
    std::printf("\n");
  }
  return 0;
}

int cmd_export(const Common& c, const std::vector<int64_t>& ids, bool /*csv*/, const std::string& out_path) {
  const auto store = open_for_reading(c.db);
  const store::RunStore& db = *store;
  std::set<int64_t> lengths;
  std::vector<RunRecord> runs;
  std::vector<std::map<std::pair<std::string, int64_t>, double>> ppl;
  std::set<std::string> modes;
  for (auto id : ids) {
    runs.push_back(db.get_run(id));
    ppl.push_back(ppl_table(db, id));
    for (auto& [k, v] : ppl.back()) {
      lengths.insert(k.second);
      modes.insert(k.first);
    }
  }
  auto quote = [](const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return q + "\"";
  };
  std::ostringstream csv;
  csv << "run,name,method,mode";
  for (auto L : lengths) csv << "," << L;
  csv << "\n";
  for (size_t i = 0; i < runs.size(); ++i) {
    for (auto& m : modes) {
      csv << runs[i].id << "," << quote(runs[i].name) << "," << quote(runs[i].method) << "," << m;
      for (auto L : lengths) {
        csv << ",";
        if (ppl[i].count({m, L})) csv << format_number(ppl[i][{m, L}], 6);
      }
      csv << "\n";
    }
  }
  if (!out_path.empty()) {
    std::ofstream f(out_path);
    if (!f) throw UsageError("--output: cannot write '" + out_path + "'");
    f << csv.str();
    if (c.json) print_json({{"written", out_path}, {"rows", runs.size() * modes.size()}});
    return 0;
  }
  std::cout << csv.str();
  return 0;
}

}  // namespace ctx::cli
