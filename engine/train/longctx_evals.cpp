// Config-driven long-context evaluations: thin glue between the run config, the evaluators in
// eval/ and the store.
#include "train/longctx_evals.h"

#include "io/run_tokenizer.h"

#include <algorithm>
#include <optional>
#include <sstream>

namespace ctx {

Probe find_probe(const std::vector<data::Document>& docs, int64_t tokens, const std::string& what) {
  size_t longest = 0;
  for (size_t i = 0; i < docs.size(); ++i) {
    if (static_cast<int64_t>(docs[i].tokens.size()) >= tokens)
      return {docs[i].tokens,
              what + " document " + std::to_string(i) + " (" + docs[i].source + ")"};
    longest = std::max(longest, docs[i].tokens.size());
  }
  throw data::DataError("length " + std::to_string(tokens) + ": no " + what +
                        " document is that long (the longest has " + std::to_string(longest) +
                        " tokens)");
}

std::vector<int64_t> capture_lengths(const RunConfig& c) {
  return c.eval.attention_lengths.empty() ? std::vector<int64_t>{c.train.seq_len}
                                          : c.eval.attention_lengths;
}

void check_training_capture(const RunConfig& c, LanguageModel& model,
                            const std::vector<data::Document>& validation) {
  if (c.eval.attention_every <= 0) return;
  const auto lengths = capture_lengths(c);
  const int64_t longest = *std::max_element(lengths.begin(), lengths.end());
  auto probe = find_probe(validation, longest);
  CaptureOptions o;
  o.layers = c.eval.attention_layers;
  o.grid = c.eval.attention_grid;
  try {
    check_capture_request(model, lengths, static_cast<int64_t>(probe.tokens.size()), o, probe.name);
  } catch (const ConfigError& e) {
    throw ConfigError(std::string("eval.attention_lengths: ") + e.what());
  }
}

void capture_training_attention(store::RunStore& db, int64_t run, int64_t step,
                                LanguageModel& model, const RunConfig& c, const Probe& probe,
                                const torch::Device& device) {
  CaptureOptions o;
  o.layers = c.eval.attention_layers;
  o.grid = c.eval.attention_grid;
  std::vector<LengthCapture> caps;
  for (auto L : capture_lengths(c))
    caps.push_back(capture_attention(model, probe.tokens, L, o, device));
  const auto tok = io::tokenizer_for(c);
  std::vector<std::string> texts;
  for (auto t : probe.tokens) texts.push_back(tok->token_text(t));
  db.transaction([&] {
    for (const auto& cap : caps) store_capture(db, run, step, cap, probe.name, texts);
  });
}

std::vector<RetrievalResult> run_requested_retrieval(store::RunStore& db, int64_t run, int64_t step,
                                                     LanguageModel& model, const RunConfig& c,
                                                     const std::vector<data::Document>& validation,
                                                     const torch::Device& device,
                                                     EventSink& events) {
  std::vector<RetrievalResult> out;
  const int64_t limit = model->position_scheme().max_position();
  for (auto [task, req] :
       {std::pair<const char*, const RetrievalRequest*>{"passkey", &c.eval.passkey},
        {"needle", &c.eval.needle},
        {"kvretrieval", &c.eval.kvretrieval}}) {
    if (!req->enabled) continue;
    RetrievalOptions o;
    o.task = task;
    o.depths = req->depths;
    o.trials = req->trials;
    o.bins = req->bins;
    o.pairs = req->pairs;
    o.seed = c.seed;
    o.batch_size = std::max<int64_t>(c.eval.batch_size, 8);
    for (auto L : req->lengths) {
      if (limit > 0 && L > limit) {
        events.on_message("warning", std::string(task) + " length " + std::to_string(L) +
                                         " skipped: " + c.model.position + " positions end at " +
                                         std::to_string(limit) + " (model.max_positions)");
        continue;
      }
      o.lengths.push_back(L);
    }
    if (o.lengths.empty()) continue;
    o.tokenizer = io::tokenizer_for(c);
    auto r = run_retrieval(model, validation, "validation split", o, device);
    db.transaction([&] { store_retrieval(db, run, step, r); });
    for (const auto& cell : r.cells) {
      std::ostringstream s;
      s << task << " length " << cell.length;
      if (cell.y >= 0) s << (r.task == "kvretrieval" ? " position " : " depth ") << cell.y;
      s << ": accuracy " << cell.accuracy() << " (" << cell.correct << "/" << cell.trials << ")";
      events.on_message("info", s.str());
    }
    out.push_back(std::move(r));
  }
  return out;
}

bool run_requested_ruler(store::RunStore& db, int64_t run, int64_t step, LanguageModel& model,
                         const RunConfig& c, const std::vector<data::Document>& validation,
                         const torch::Device& device, EventSink& events) {
  const auto& req = c.eval.ruler;
  if (!req.enabled) return false;
  RulerOptions o;
  o.tasks = req.tasks.empty() ? data::ruler_default_tasks() : req.tasks;
  o.samples = req.samples;
  o.depths = req.depths;
  o.seed = c.seed;
  o.batch_size = std::max<int64_t>(c.eval.batch_size, 8);
  o.tokenizer = io::tokenizer_for(c);
  const data::Tokenizer* tok = o.tokenizer->kind() == "byte" ? nullptr : o.tokenizer.get();
  int64_t shortest = 0;  // the longest minimum over the tasks
  for (const auto& t : o.tasks)
    shortest = std::max(shortest, data::min_ruler_length(data::ruler_task(t), tok));
  const int64_t limit = model->position_scheme().max_position();
  for (auto L : req.lengths) {
    if ((limit > 0 && L > limit) || L < shortest) {
      events.on_message("warning", "ruler length " + std::to_string(L) + " skipped: " +
                                       (L < shortest ? "shorter than the tasks' prompts (" +
                                                           std::to_string(shortest) + " tokens)"
                                                     : "past the model's positions"));
      continue;
    }
    o.lengths.push_back(L);
  }
  if (o.lengths.empty()) return false;
  const data::TextFiller corpus(validation, *o.tokenizer, "validation split");
  data::RulerSources src;
  src.corpus = &corpus;
  o.progress = [&](int64_t done, int64_t total, const std::string& what) {
    events.on_progress({done, total, what});
  };
  const auto r = run_ruler(model, src, o, device);
  std::optional<double> threshold;
  if (req.threshold >= 0) threshold = req.threshold;
  const auto e = effective_length(average_over_tasks(task_scores(r)), c.train.seq_len, threshold);
  db.transaction([&] { store_ruler(db, run, step, r, e); });
  std::ostringstream s;
  s << "ruler: effective length " << e.length << " (threshold " << e.threshold << ");";
  for (const auto& [L, avg] : e.averages) s << " " << L << ": " << avg;
  events.on_message("info", s.str());
  return true;
}

}  // namespace ctx
