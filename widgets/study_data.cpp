// Study files, a store study's runs, check outcomes and figures from the cache; see study_data.h.
#include "widgets/study_data.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "store/study_tags.h"
#include "widgets/perplexity_tab.h"
#include "widgets/retrieval_data.h"

namespace ctx::gui {
namespace {

QString qs(const std::string& s) {
  return QString::fromStdString(s);
}

QString num(double v) {
  return QString::number(v, 'g', 4);
}

// The name a study file's run gets in the store: its config's "name" when it sets one, else the
// run's own name (what the study runner gives it).
std::string store_name_of(const nlohmann::json& run) {
  if (!run.is_object()) return {};
  const auto cfg = run.value("config", nlohmann::json::object());
  if (cfg.is_object() && cfg.contains("name") && cfg["name"].is_string())
    return cfg["name"].get<std::string>();
  return run.value("name", std::string());
}

std::vector<std::pair<std::string, std::string>> file_runs(const StudyFileInfo* file) {
  std::vector<std::pair<std::string, std::string>> out;  // (study name, store name)
  if (!file) return out;
  const auto runs = file->json.value("runs", nlohmann::json::array());
  for (const auto& r : runs)
    if (r.is_object() && r.contains("name") && r["name"].is_string())
      out.emplace_back(r["name"].get<std::string>(), store_name_of(r));
  return out;
}

// The outcome records of store study `study` on one run, by check index.
void read_outcomes(const RunDetail& d, int64_t study, std::map<int, CheckRow>* out) {
  for (const auto& e : d.evals_of("study_check", "held")) {
    const auto extra = nlohmann::json::parse(e.extra_json, nullptr, false);
    if (!extra.is_object() || !extra.contains("study_id") ||
        !extra["study_id"].is_number_integer() || extra["study_id"].get<int64_t>() != study)
      continue;
    CheckRow row;
    row.state = e.value >= 0.5 ? CheckState::Held : CheckState::NotHeld;
    row.description = qs(extra.value("description", std::string()));
    row.detail = qs(extra.value("detail", std::string()));
    (*out)[static_cast<int>(e.x)] = row;
  }
}

bool holds_outcomes(const RunDetail* d, int64_t study) {
  if (!d) return false;
  std::map<int, CheckRow> found;
  read_outcomes(*d, study, &found);
  return !found.empty();
}

QString lengths_text(const nlohmann::json& c) {
  QStringList out;
  if (c.contains("lengths") && c["lengths"].is_array())
    for (const auto& v : c["lengths"])
      if (v.is_number()) out << QString::number(v.get<double>(), 'f', 0);
  return out.join(", ");
}

}  // namespace

std::vector<StudyFileInfo> loadStudyFiles(const QString& dir) {
  std::vector<StudyFileInfo> out;
  const QDir d(dir);
  for (const auto& f : d.entryList({"*.json"}, QDir::Files, QDir::Name)) {
    QFile file(d.filePath(f));
    if (!file.open(QIODevice::ReadOnly)) continue;
    StudyFileInfo s;
    s.path = d.filePath(f);
    s.json = nlohmann::json::parse(file.readAll().toStdString(), nullptr, false);
    if (!s.json.is_object()) continue;
    s.name = s.json.contains("name") && s.json["name"].is_string()
                 ? s.json["name"].get<std::string>()
                 : QFileInfo(f).completeBaseName().toStdString();
    try {
      s.plot = parse_study_plot(s.json);
    } catch (const StudyPlotError& e) {
      s.plot_error = QString::fromUtf8(e.what());
      s.plot = study_plot_detail::derive(s.json);
    }
    out.push_back(std::move(s));
  }
  return out;
}

const StudyFileInfo* fileOfStudy(const std::vector<StudyFileInfo>& files,
                                 const std::string& study_name) {
  for (const auto& f : files)
    if (study_name == f.name || study_name.rfind(f.name + " #", 0) == 0) return &f;
  return nullptr;
}

std::vector<StudyRunRef> studyRuns(const DataCache& cache, int64_t study,
                                   const StudyFileInfo* file) {
  std::vector<int64_t> members, outside;
  for (int64_t id : cache.runIds())
    if (const auto* s = cache.summary(id); s && s->run.study && *s->run.study == study)
      members.push_back(id);
  std::sort(members.begin(), members.end());
  const std::set<int64_t> member_set(members.begin(), members.end());
  // A reused base that no run of the study starts from is found by its tag (store/study_tags.h).
  const std::string base_tag = store::study_base_tag(study);
  int64_t tagged = 0;
  for (int64_t id : cache.runIds()) {
    const auto* s = cache.summary(id);
    if (s && !member_set.count(id) &&
        std::find(s->tags.begin(), s->tags.end(), base_tag) != s->tags.end()) {
      outside.push_back(tagged = id);
      break;
    }
  }
  for (int64_t id : members) {
    const auto parent = cache.summary(id)->run.parent;
    if (parent && !member_set.count(*parent) && cache.summary(*parent) &&
        std::find(outside.begin(), outside.end(), *parent) == outside.end())
      outside.push_back(*parent);
  }
  const auto named = file_runs(file);
  auto file_role = [&](int64_t id) -> std::string {
    const std::string& name = cache.summary(id)->run.name;
    for (const auto& [role, store_name] : named)
      if (store_name == name) return role;
    return {};
  };
  int64_t base = 0;
  for (const auto& group : {outside, members})
    for (int64_t id : group)
      if (!base && holds_outcomes(cache.detail(id), study)) base = id;
  if (!base) base = tagged;
  if (!base && outside.size() == 1) base = outside.front();
  if (!base && file)
    for (int64_t id : members)
      if (!base && file_role(id).empty()) base = id;

  std::vector<StudyRunRef> out;
  if (base) out.push_back({base, "base"});
  std::vector<StudyRunRef> rest;
  for (const auto& group : {outside, members})
    for (int64_t id : group) {
      if (id == base) continue;
      const std::string role = file_role(id);
      rest.push_back({id, role.empty() ? cache.summary(id)->run.name : role});
    }
  // The file's order, then the others by id.
  auto rank = [&](const StudyRunRef& r) {
    for (size_t i = 0; i < named.size(); ++i)
      if (named[i].first == r.role) return static_cast<int64_t>(i);
    return static_cast<int64_t>(named.size());
  };
  std::stable_sort(rest.begin(), rest.end(), [&](const StudyRunRef& a, const StudyRunRef& b) {
    return rank(a) != rank(b) ? rank(a) < rank(b) : a.run < b.run;
  });
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

QString describeCheck(const nlohmann::json& c) {
  auto text = [&](const char* k) {
    return c.contains(k) && c[k].is_string() ? qs(c[k].get<std::string>()) : QString("?");
  };
  auto value = [&](const char* k) {
    return c.contains(k) && c[k].is_number() ? num(c[k].get<double>()) : QString("?");
  };
  const std::string kind = c.value("kind", std::string());
  QString d;
  if (kind == "at_most") {
    d = QString("%1's perplexity is at most %2's at %3")
            .arg(text("run"), text("than"), lengths_text(c));
    if (c.value("tolerance", 0.0) > 0)
      d += QString(" (+%1 %)").arg(num(100 * c["tolerance"].get<double>()));
  } else if (kind == "bounded") {
    d = QString("%1's perplexity stays within %2x of its value at %3, at %4")
            .arg(text("run"), value("max_ratio"), value("reference_length"), lengths_text(c));
  } else if (kind == "blows_up") {
    d = QString("%1's perplexity at %2 is at least %3x its value at %4")
            .arg(text("run"), value("length"), value("min_ratio"), value("reference_length"));
  } else if (kind == "retrieval_at_least") {
    d = QString("%1 retrieves (%2) at least as well as %3")
            .arg(text("run"), text("task"), text("than"));
    if (c.contains("y_min") || c.contains("y_max"))
      d += QString(" for y in [%1, %2]")
               .arg(c.contains("y_min") ? value("y_min") : QString("start"),
                    c.contains("y_max") ? value("y_max") : QString("end"));
    if (!lengths_text(c).isEmpty()) d += QString(" at %1 tokens").arg(lengths_text(c));
    if (c.value("min_accuracy", 0.0) > 0)
      d += QString(", and at least %1").arg(value("min_accuracy"));
  } else {
    d = qs(kind);
  }
  if (c.contains("why") && c["why"].is_string()) d += " (" + qs(c["why"].get<std::string>()) + ")";
  return d;
}

std::vector<CheckRow> studyChecks(const DataCache& cache, const StudyFileInfo* file, int64_t study,
                                  const std::vector<StudyRunRef>& runs) {
  std::map<int, CheckRow> stored;
  if (study > 0)
    for (const auto& r : runs)
      if (const auto* d = cache.detail(r.run)) read_outcomes(*d, study, &stored);
  std::vector<CheckRow> out;
  if (!file) {
    for (auto& [i, row] : stored) out.push_back(row);
    return out;
  }
  const auto checks = file->json.value("checks", nlohmann::json::array());
  for (size_t i = 0; i < checks.size(); ++i) {
    auto it = stored.find(static_cast<int>(i));
    if (it != stored.end()) {
      out.push_back(it->second);
      continue;
    }
    CheckRow row;
    row.description = describeCheck(checks[i]);
    if (study > 0)
      row.detail = "no outcome stored yet: written when the study's runs and evaluations finish";
    out.push_back(row);
  }
  return out;
}

bool StudyFigure::points() const {
  for (const auto& l : lines)
    if (!l.x.empty()) return true;
  return false;
}

StudyFigure studyFigure(const DataCache& cache, const StudyPlot& plot,
                        const std::vector<StudyRunRef>& all) {
  std::vector<StudyRunRef> runs;
  for (const auto& r : all)
    if (plot.runs.empty() ||
        std::find(plot.runs.begin(), plot.runs.end(), r.role) != plot.runs.end())
      runs.push_back(r);
  StudyFigure f;
  std::vector<const store::RunSummary*> summaries;
  for (const auto& r : runs) {
    const auto* s = cache.summary(r.run);
    summaries.push_back(s);
    FigureLine line;
    line.run = r.run;
    const std::string name = s ? s->run.name : std::string();
    line.label = QString("#%1 %2").arg(r.run).arg(qs(name));
    if (r.role != name) line.label += " (" + qs(r.role) + ")";
    f.lines.push_back(std::move(line));
  }
  if (plot.kind == "retrieval_by_depth") {
    const bool kv = plot.task == "kvretrieval";
    f.x_label = kv ? "position of the asked pair (0 = start of the prompt, 1 = end)"
                   : QString("%1 depth (%)").arg(qs(plot.task));
    f.y_label = "accuracy";
    f.x_full = kv ? 1.0 : 100.0;
    f.length = static_cast<double>(plot.length);
    if (f.length <= 0)
      for (const auto& r : runs)
        if (const auto* d = cache.detail(r.run))
          for (const auto& e : d->evals_of(plot.task, "accuracy"))
            if (e.y >= 0) f.length = std::max(f.length, e.x);
    const QString what = kv                      ? "Key-value retrieval"
                         : plot.task == "needle" ? "Needle retrieval"
                                                 : "Passkey retrieval";
    f.title = f.length > 0
                  ? QString("%1 at %2 tokens, by position").arg(what).arg(f.length, 0, 'f', 0)
                  : what;
    for (size_t i = 0; i < runs.size(); ++i) {
      const auto* d = cache.detail(runs[i].run);
      if (!d || f.length <= 0) continue;
      auto& line = f.lines[i];
      if (kv) {
        const auto curves = kvByPosition(d->evals);
        if (auto it = curves.find(f.length); it != curves.end()) {
          line.x = it->second.x;
          line.y = it->second.y;
        }
        continue;
      }
      const auto grid = depthGrid(d->evals, plot.task);
      const auto col = std::find(grid.lengths.begin(), grid.lengths.end(), f.length);
      if (col == grid.lengths.end()) continue;
      const auto l = static_cast<size_t>(col - grid.lengths.begin());
      for (size_t k = 0; k < grid.depths.size(); ++k)
        if (std::isfinite(grid.accuracy[k][l])) {
          line.x.push_back(grid.depths[k]);
          line.y.push_back(grid.accuracy[k][l]);
        }
    }
    return f;
  }

  // Perplexity against length, or against the scale L / L0.
  const bool by_scale = plot.kind == "ppl_by_scale";
  double l0 = static_cast<double>(plot.train_length);
  if (l0 <= 0)
    for (const auto& r : runs)
      if (r.role == "base") l0 = static_cast<double>(trained_length(cache.config(r.run)));
  if (l0 <= 0 && !runs.empty())
    l0 = static_cast<double>(trained_length(cache.config(runs.front().run)));
  f.log_x = f.log_y = true;
  f.y_label = "perplexity";
  const QString mode = qs(plot.mode);
  if (by_scale && l0 > 0) {
    f.title = QString("Perplexity against the inference scale (%1)").arg(mode);
    f.x_label = QString("scale g = L / L0 (L0 = %1 tokens)").arg(l0, 0, 'f', 0);
  } else {
    f.title = QString("Perplexity against evaluation length (%1)").arg(mode);
    f.x_label = "evaluation length (tokens)";
  }
  const double div = by_scale && l0 > 0 ? l0 : 1.0;
  for (size_t i = 0; i < runs.size(); ++i) {
    if (!summaries[i]) continue;
    for (const auto& p : summaries[i]->ppl)
      if (p.mode == plot.mode && std::isfinite(p.ppl) && p.ppl > 0 && p.length > 0) {
        f.lines[i].x.push_back(p.length / div);
        f.lines[i].y.push_back(p.ppl);
      }
  }
  if (by_scale) {
    if (l0 > 0) f.marks.push_back({1.0, -1, QString("L0 = %1").arg(l0, 0, 'f', 0)});
  } else {
    for (size_t i = 0; i < runs.size(); ++i) {
      const auto tl = trained_length(cache.config(runs[i].run));
      if (tl > 0 && !f.lines[i].x.empty())
        f.marks.push_back(
            {static_cast<double>(tl), static_cast<int>(i), QString("trained at %1").arg(tl)});
    }
    if (plot.train_length > 0) f.marks.push_back({l0, -1, QString("L0 = %1").arg(l0, 0, 'f', 0)});
  }
  return f;
}

}  // namespace ctx::gui
