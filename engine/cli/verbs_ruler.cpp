// ruler: the RULER-style task suite on a stored run's latest checkpoint, its effective length, and
// the prompts' prefill throughput. Every input is checked before any prompt is decoded; the cells
// and the effective length are written in one transaction.
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include "cli/cli_common.h"
#include "cli/progress.h"
#include "cli/run_loader.h"
#include "data/text_filler.h"
#include "eval/ruler.h"
#include "io/run_tokenizer.h"
#include "train/precision.h"
#include "train/run_setup.h"

namespace ctx::cli {
namespace {

std::vector<std::string> parse_tasks(const std::string& csv) {
  std::vector<std::string> out;
  std::stringstream ss(csv);
  for (std::string item; std::getline(ss, item, ',');) {
    if (item.empty()) continue;
    data::ruler_task(item);  // DataError naming the task and the known ones
    out.push_back(item);
  }
  if (out.empty()) throw UsageError("--tasks: no task names given");
  return out;
}

bool needs_corpus(const std::vector<std::string>& tasks) {
  for (const auto& t : tasks)
    if (data::ruler_task(t).haystack == "corpus") return true;
  return false;
}

// Task -> length -> mean over the task's cells (depths) at that length.
std::map<std::string, std::map<int64_t, double>> table_of(const RulerResult& r) {
  std::map<std::string, std::map<int64_t, std::pair<double, int>>> sums;
  for (const auto& c : r.cells) {
    auto& [sum, n] = sums[c.task][c.length];
    sum += c.accuracy();
    n += 1;
  }
  std::map<std::string, std::map<int64_t, double>> out;
  for (const auto& [task, by_length] : sums)
    for (const auto& [L, v] : by_length) out[task][L] = v.first / v.second;
  return out;
}

void print_table(const RulerResult& r, const RulerOptions& o, const EffectiveLength& e) {
  const auto table = table_of(r);
  std::printf("  %-28s", "task");
  for (auto L : o.lengths) std::printf("  %8lld", static_cast<long long>(L));
  std::printf("\n");
  for (const auto& name : o.tasks) {
    std::printf("  %-28s", name.c_str());
    for (auto L : o.lengths) std::printf("  %8.3f", table.at(name).at(L));
    std::printf("\n");
  }
  std::printf("  %-28s", "average");
  for (auto L : o.lengths) std::printf("  %8.3f", e.averages.at(L));
  std::printf("\neffective length %lld (threshold %.3f; reference %.3f at %lld)\n",
              static_cast<long long>(e.length), e.threshold, e.reference_score,
              static_cast<long long>(e.reference_length));
  std::printf(
      "prefill %.0f tokens/s (%lld tokens in %.2f s); decoding %.2f s for %lld tokens; prompts "
      "%.2f s; total %.2f min\n",
      r.prefill_tokens_per_s(), static_cast<long long>(r.prefill_tokens), r.prefill_seconds,
      r.decode_seconds, static_cast<long long>(r.generated_tokens), r.prompt_seconds,
      r.seconds / 60.0);
}

nlohmann::json json_of(int64_t run, int64_t step, const RulerResult& r, const RulerOptions& o,
                       const EffectiveLength& e) {
  nlohmann::json cells = nlohmann::json::array();
  for (const auto& c : r.cells)
    cells.push_back({{"task", c.task},
                     {"length", c.length},
                     {"y", c.y},
                     {"accuracy", c.accuracy()},
                     {"samples", c.samples},
                     {"score_sum", c.score_sum}});
  nlohmann::json averages = nlohmann::json::object();
  for (const auto& [L, v] : e.averages) averages[std::to_string(L)] = v;
  return {{"run_id", run},
          {"step", step},
          {"format", r.format},
          {"seed", r.seed},
          {"samples", o.samples},
          {"tasks", o.tasks},
          {"cells", cells},
          {"averages", averages},
          {"effective_length", e.length},
          {"threshold", e.threshold},
          {"reference_length", e.reference_length},
          {"reference_score", e.reference_score},
          {"prefill_tokens_per_s", r.prefill_tokens_per_s()},
          {"prefill_tokens", r.prefill_tokens},
          {"prefill_seconds", r.prefill_seconds},
          {"decode_seconds", r.decode_seconds},
          {"generated_tokens", r.generated_tokens},
          {"prompt_seconds", r.prompt_seconds},
          {"minutes", r.seconds / 60.0}};
}

}  // namespace

int cmd_ruler(const Common& c, const RulerArgs& a) {
  if (a.threshold > 1)
    throw UsageError("--threshold " + format_number(a.threshold) + ": must be in [0, 1]");
  store::RunStore db(c.db);
  auto r = load_run(db, a.run, a.device);
  if (!a.precision.empty()) {
    r.cfg.eval.precision = a.precision;
    check_precision(a.precision, r.device, "--precision");
  }
  RulerOptions o;
  o.lengths = a.lengths.empty() ? r.cfg.eval.lengths : parse_lengths(a.lengths, "--lengths");
  o.tasks = a.tasks.empty() ? data::ruler_default_tasks() : parse_tasks(a.tasks);
  if (!a.depths.empty()) o.depths = parse_numbers(a.depths, "--depths");
  o.samples = a.samples;
  o.seed = static_cast<uint64_t>(a.seed);
  o.batch_size = a.batch;
  o.tokenizer = io::tokenizer_for(r.cfg);
  const bool corpus_tasks = needs_corpus(o.tasks);
  check_ruler_request(r.model, o, true);
  std::optional<data::TextFiller> corpus;
  if (corpus_tasks)
    corpus.emplace(load_run_split(r.cfg, cache_dir_for(c.db)).validation, *o.tokenizer,
                   "validation split");
  data::RulerSources src;
  if (corpus) src.corpus = &*corpus;
  auto sink = make_event_sink(c.json);
  o.progress = [&](int64_t done, int64_t total, const std::string& what) {
    sink->on_progress({done, total, what});
  };
  RulerResult res;
  {
    PrecisionScope precision(r.cfg.eval.precision, r.device);
    res = run_ruler(r.model, src, o, r.device);
  }
  std::optional<double> threshold;
  if (a.threshold >= 0) threshold = a.threshold;
  const auto e = effective_length(average_over_tasks(task_scores(res)), r.cfg.train.seq_len, threshold);
  db.transaction([&] { store_ruler(db, a.run, r.step, res, e); });
  if (c.json) {
    print_json(json_of(a.run, r.step, res, o, e));
    return 0;
  }
  std::printf("run %lld ruler (step %lld, %lld samples per cell, %s prompts, seed %lld)\n",
              static_cast<long long>(a.run), static_cast<long long>(r.step),
              static_cast<long long>(o.samples), res.format.c_str(), static_cast<long long>(a.seed));
  print_table(res, o, e);
  return 0;
}

}  // namespace ctx::cli
