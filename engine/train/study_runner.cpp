// The study runner: each run goes through the same preflight, run record and training as
// `ctxlab-cli train`, so a study's runs are ordinary runs of the store.
#include "train/study_runner.h"

#include <filesystem>
#include <optional>

#include "data/interrupt.h"
#include "store/study_tags.h"
#include "train/hf_runs.h"
#include "train/trainer.h"

namespace fs = std::filesystem;

namespace ctx {
namespace {

// A study group of its own for this call: "<name>", or "<name> #k" when the name is taken.
int64_t new_study(store::RunStore& db, const StudyFile& s) {
  std::set<std::string> taken;
  for (const auto& st : db.list_studies()) taken.insert(st.name);
  std::string name = s.name;
  for (int k = 2; taken.count(name); ++k) name = s.name + " #" + std::to_string(k);
  return db.create_study(name, s.claim);
}

nlohmann::json with_device(nlohmann::json given, const std::string& device) {
  if (!device.empty()) given["train"]["device"] = device;
  return given;
}

// A base trained once serves every study that names the same preset or config: the newest
// finished run whose config, as given, equals this one (device included) is reused.
std::optional<int64_t> finished_run_with_config(const store::RunStore& db,
                                                const nlohmann::json& given) {
  for (const auto& r : db.list_runs()) {
    if (r.status != store::RunStatus::Finished) continue;
    const auto stored = nlohmann::json::parse(r.config_json, nullptr, false);
    if (stored.is_object() && stored.contains("_given") && stored["_given"] == given) return r.id;
  }
  return std::nullopt;
}

int64_t train_one(store::RunStore& db, nlohmann::json given, const std::string& device,
                  int64_t study, EventSink& events) {
  given = with_device(std::move(given), device);
  RunConfig cfg = parse_run_config(given);
  auto prepared = preflight(db, cfg);
  TrainRequest req;
  req.store = &db;
  req.run_id = create_run(db, cfg, given, study);
  req.config = cfg;
  req.prepared = prepared;
  auto out = run_training(req, events);
  // A signal stops the study too, with the signal's exit status; the run is left resumable.
  if (out.status == store::RunStatus::Interrupted && stop_signal())
    throw Interrupted(stop_signal(), "study run '" + cfg.name + "' (" + std::to_string(req.run_id) + ")");
  if (out.status != store::RunStatus::Finished)
    throw std::runtime_error("run '" + cfg.name + "' (" + std::to_string(req.run_id) + ") " +
                             store::to_string(out.status) + ": " + out.error);
  return req.run_id;
}

nlohmann::json base_config(const StudyFile& s, const std::string& presets) {
  const auto& b = s.base;
  if (b.contains("preset"))
    return read_config_file(
        (fs::path(presets) / (b["preset"].get<std::string>() + ".json")).string());
  return b.value("config", nlohmann::json());
}

nlohmann::json run_config(const StudyRun& run, const std::string& presets) {
  nlohmann::json cfg =
      run.preset.empty() ? nlohmann::json::object()
                         : read_config_file((fs::path(presets) / (run.preset + ".json")).string());
  cfg.merge_patch(run.config);
  if (!run.config.contains("name")) cfg["name"] = run.name;
  return cfg;
}

int64_t base_run(store::RunStore& db, const StudyFile& s, const std::string& device,
                 const std::string& presets, int64_t study, EventSink& events) {
  const auto& b = s.base;
  if (b.contains("run_named")) {
    const auto name = b["run_named"].get<std::string>();
    for (const auto& r : db.list_runs())
      if (r.name == name && r.status == store::RunStatus::Finished) return r.id;
    throw ConfigError("study.base.run_named: no finished run named '" + name + "' in " + db.path());
  }
  if (b.contains("hf")) {
    const auto folder = b["hf"].get<std::string>();
    return import_hf_folder(db, folder, inspect_hf_folder(folder), "", "").run_id;
  }
  const nlohmann::json config = base_config(s, presets);
  if (const auto reused = finished_run_with_config(db, with_device(config, device))) {
    events.on_message("info", "study '" + s.name + "': base is run " + std::to_string(*reused) +
                                  ", trained earlier with the same config");
    return *reused;
  }
  return train_one(db, config, device, study, events);
}

}  // namespace

// The data a study reads is there before anything is stored: a corpus path that does not exist
// is named, with the study's own setup line (the script that fetches it).
void check_study_data(const StudyFile& s, const std::string& presets) {
  std::vector<std::pair<std::string, nlohmann::json>> configs{{"base", base_config(s, presets)}};
  for (const auto& r : s.runs) configs.emplace_back(r.name, run_config(r, presets));
  for (const auto& [name, cfg] : configs) {
    if (!cfg.is_object() || !cfg.contains("data") || !cfg["data"].contains("corpus")) continue;
    if (!cfg["data"]["corpus"].is_string())  // bad input like any other, not a JSON type error
      throw ConfigError("study '" + s.name + "', run " + name + ": data.corpus: must be a string, got " +
                        cfg["data"]["corpus"].dump());
    const auto corpus = cfg["data"]["corpus"].get<std::string>();
    if (corpus.rfind("builtin:", 0) == 0 || fs::exists(corpus)) continue;
    throw ConfigError("study '" + s.name + "', run " + name + ": corpus '" + corpus +
                      "' does not exist" + (s.setup.empty() ? "" : "; setup: " + s.setup));
  }
}

StudyResults collect_results(store::RunStore& db, const std::map<std::string, int64_t>& run_ids) {
  StudyResults r;
  for (const auto& [name, id] : run_ids) {
    for (const auto& e : db.evals(id)) {
      if (e.task == "ppl" && e.metric == "ppl") {
        r.ppl[name][{e.mode, static_cast<int64_t>(e.x)}] = e.value;
      } else if (e.metric == "accuracy" && e.mode == "greedy") {
        r.retrieval[name][e.task].emplace_back(static_cast<int64_t>(e.x), e.y, e.value);
      }
    }
  }
  return r;
}

StudyOutcome run_study(store::RunStore& db, const StudyFile& s, const std::string& device,
                       const std::string& presets_dir, EventSink& events) {
  check_study_data(s, presets_dir);
  StudyOutcome out;
  out.study_id = new_study(db, s);
  events.on_message("info", "study '" + s.name + "': base");
  out.run_ids["base"] = base_run(db, s, device, presets_dir, out.study_id, events);
  // A base from outside the study holds its outcomes too: tag it, so readers find it
  // (study_tags.h).
  if (db.get_run(out.run_ids["base"]).study != out.study_id)
    db.add_tag(out.run_ids["base"], store::study_base_tag(out.study_id));
  for (const auto& name : study_order(s)) {
    const auto& run = *std::find_if(s.runs.begin(), s.runs.end(),
                                    [&](const StudyRun& r) { return r.name == name; });
    nlohmann::json cfg = run_config(run, presets_dir);
    if (!run.init.empty()) cfg["init"] = {{"run", out.run_ids.at(run.init)}};
    events.on_message("info", "study '" + s.name + "': " + run.name);
    out.run_ids[run.name] = train_one(db, cfg, device, out.study_id, events);
  }
  for (const auto& e : s.evaluations) {
    const auto runs = e.runs.empty() ? [&] {
      std::vector<std::string> all;
      for (const auto& [n, id] : out.run_ids) all.push_back(n);
      return all;
    }()
                                     : e.runs;
    for (const auto& n : runs)
      evaluate_run(db, out.run_ids.at(n), e.lengths, {e.mode}, events, device);
  }
  out.checks = evaluate_checks(s, collect_results(db, out.run_ids));
  db.transaction([&] {
    for (size_t i = 0; i < out.checks.size(); ++i) {
      store::EvalRecord rec;
      rec.task = "study_check";
      rec.mode = s.name;
      rec.x = static_cast<double>(i);
      rec.y = -1;
      rec.metric = "held";
      rec.value = out.checks[i].held ? 1 : 0;
      rec.extra_json = nlohmann::json{
          {"description", out.checks[i].description},
          {"detail", out.checks[i].detail},
          {"claim", s.claim},
          {"study_id",
           out.study_id}}.dump();
      db.record_eval(out.run_ids.at("base"), rec);
    }
  });
  return out;
}

}  // namespace ctx
