// passkey, needle, kvretrieval and attention: long-context evaluation of a stored run's latest
// checkpoint. Every input is checked before anything is computed, and each call's results are
// written in one transaction, so a bad value or a crash leaves the store as it was.
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/cli_common.h"
#include "cli/run_loader.h"
#include "io/run_tokenizer.h"
#include "train/precision.h"
#include "data/corpus.h"
#include "eval/attention_capture.h"
#include "eval/retrieval.h"
#include "store/run_store.h"
#include "train/checkpoint.h"
#include "train/longctx_evals.h"
#include "train/runtime.h"
#include "train/trainer.h"

namespace ctx::cli {
namespace {

std::vector<int64_t> parse_indices(const std::string& csv, const std::string& option) {
  std::vector<int64_t> out;
  for (double v : parse_numbers(csv, option)) {
    if (v < 0 || v != static_cast<double>(static_cast<int64_t>(v)))
      throw UsageError(option + ": '" + format_number(v) + "' is not an index (an integer >= 0)");
    out.push_back(static_cast<int64_t>(v));
  }
  return out;
}

}  // namespace

int cmd_retrieval(const Common& c, const std::string& task, const RetrievalArgs& a) {
  store::RunStore db(c.db);
  auto r = load_run(db, a.run, a.device);
  RetrievalOptions o;
  o.task = task;
  o.lengths = a.lengths.empty() ? r.cfg.eval.lengths : parse_lengths(a.lengths, "--lengths");
  if (!a.depths.empty()) o.depths = parse_numbers(a.depths, "--depths");
  o.trials = a.trials;
  o.bins = a.bins;
  o.pairs = a.pairs;
  o.seed = static_cast<uint64_t>(a.seed);
  o.batch_size = a.batch;
  o.tokenizer = io::tokenizer_for(r.cfg);
  check_retrieval_request(r.model, o);
  std::vector<data::Document> docs;
  std::string source;
  if (a.filler.empty()) {
    docs = load_run_split(r.cfg, cache_dir_for(c.db)).validation;
    source = "validation split";
  } else {
    data::CorpusOptions co;
    co.seed = r.cfg.seed;
    co.tokenizer = io::tokenizer_for(r.cfg);
    co.cache_dir = cache_dir_for(c.db);
    docs = data::load_corpus(a.filler, co).docs;
    source = a.filler;
  }
  RetrievalResult res;
  {
    PrecisionScope precision(r.cfg.eval.precision, r.device);
    res = run_retrieval(r.model, docs, source, o, r.device);
  }
  db.transaction([&] { store_retrieval(db, a.run, r.step, res); });

  if (c.json) {
    nlohmann::json cells = nlohmann::json::array();
    for (const auto& cell : res.cells)
      cells.push_back({{"length", cell.length},
                       {"y", cell.y},
                       {"accuracy", cell.accuracy()},
                       {"trials", cell.trials},
                       {"correct", cell.correct}});
    print_json({{"run_id", a.run},
                {"task", task},
                {"step", r.step},
                {"seconds", res.seconds},
                {"cells", cells}});
    return 0;
  }
  const char* axis = task == "kvretrieval" ? "position" : task == "needle" ? "depth %" : "depth";
  std::printf(
      "run %lld %s (step %lld, %lld trials per cell, filler: %s)\n  length  %8s  accuracy  example "
      "(expected -> got)\n",
      static_cast<long long>(a.run), task.c_str(), static_cast<long long>(r.step),
      static_cast<long long>(o.trials), source.c_str(), axis);
  for (const auto& cell : res.cells) {
    const std::string y = cell.y < 0 ? "random" : format_number(cell.y, 3);
    const auto& ex = cell.examples.front();
    std::string got = ex.got;
    for (auto& ch : got)
      if (ch < 32 || ch > 126) ch = '?';
    std::printf("  %6lld  %8s  %8.3f  %s -> %s\n", static_cast<long long>(cell.length), y.c_str(),
                cell.accuracy(), ex.expected.c_str(), got.c_str());
  }
  return 0;
}

int cmd_attention(const Common& c, const AttentionArgs& a) {
  if (int(!a.text.empty()) + int(!a.text_file.empty()) + int(a.probe_doc >= 0) > 1)
    throw UsageError("attention: give at most one of --text, --text-file and --probe-doc");
  store::RunStore db(c.db);
  auto r = load_run(db, a.run, a.device);
  CaptureOptions o;
  if (!a.layers.empty()) o.layers = parse_indices(a.layers, "--layers");
  if (!a.heads.empty()) o.heads = parse_indices(a.heads, "--heads");
  o.grid = a.grid;
  o.chunk = a.chunk;
  o.sink_k = a.sink;
  std::vector<int64_t> lengths;
  if (!a.lengths.empty()) {
    lengths = parse_lengths(a.lengths, "--lengths");
  } else {
    // 1x..8x the training length, those the position scheme accepts.
    const int64_t limit = r.model->position_scheme().max_position();
    for (int64_t m : {1, 2, 4, 8})
      if (limit <= 0 || m * r.cfg.train.seq_len <= limit)
        lengths.push_back(m * r.cfg.train.seq_len);
  }
  const int64_t longest = *std::max_element(lengths.begin(), lengths.end());

  Probe probe;
  if (!a.text.empty() || !a.text_file.empty()) {
    std::string text = a.text;
    if (!a.text_file.empty()) {
      std::ifstream in(a.text_file, std::ios::binary);
      if (!in) throw UsageError("--text-file: cannot read '" + a.text_file + "'");
      std::stringstream s;
      s << in.rdbuf();
      text = s.str();
    }
    probe.tokens = io::tokenizer_for(r.cfg)->encode(text, false);
    probe.name = a.text_file.empty() ? "text" : a.text_file;
  } else {
    const auto val = load_run_split(r.cfg, cache_dir_for(c.db)).validation;
    if (a.probe_doc >= 0) {
      if (a.probe_doc >= static_cast<int64_t>(val.size()))
        throw UsageError("--probe-doc " + std::to_string(a.probe_doc) + ": the run has " +
                         std::to_string(val.size()) + " validation documents");
      const auto& d = val[static_cast<size_t>(a.probe_doc)];
      probe = {d.tokens,
               "validation document " + std::to_string(a.probe_doc) + " (" + d.source + ")"};
    } else {
      probe = find_probe(val, longest);
    }
  }
  check_capture_request(r.model, lengths, static_cast<int64_t>(probe.tokens.size()), o, probe.name);

  std::vector<LengthCapture> caps;
  for (auto L : lengths) caps.push_back(capture_attention(r.model, probe.tokens, L, o, r.device));
  const auto tok = io::tokenizer_for(r.cfg);
  std::vector<std::string> texts;
  for (auto t : probe.tokens) texts.push_back(tok->token_text(t));
  db.transaction([&] {
    for (const auto& cap : caps) store_capture(db, a.run, r.step, cap, probe.name, texts);
  });

  if (c.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& cap : caps) {
      nlohmann::json layers = nlohmann::json::array();
      for (const auto& l : cap.layers)
        layers.push_back({{"layer", l.layer},
                          {"sink_mass", l.sink_mass},
                          {"entropy", l.entropy.mean().item<double>()}});
      out.push_back({{"length", cap.length},
                     {"grid", cap.grid},
                     {"layers", layers},
                     {"prefix", "attention/" + std::to_string(cap.length) + "/"}});
    }
    print_json({{"run_id", a.run}, {"step", r.step}, {"probe", probe.name}, {"captures", out}});
    return 0;
  }
  std::printf(
      "run %lld attention (step %lld, probe: %s, grid %lld, chunk %lld)\n  length  layer  sink "
      "mass  mean entropy  "
      "mass at distance 0 / 1 / <%s\n",
      static_cast<long long>(a.run), static_cast<long long>(r.step), probe.name.c_str(),
      static_cast<long long>(o.grid), static_cast<long long>(o.chunk), "16");
  for (const auto& cap : caps) {
    for (const auto& l : cap.layers) {
      auto d = l.distance.mean(0);  // over heads
      const double d0 = d[0].item<double>(), d1 = d.size(0) > 1 ? d[1].item<double>() : 0.0;
      const double near = d.narrow(0, 0, std::min<int64_t>(d.size(0), 5)).sum().item<double>();
      std::printf("  %6lld  %5lld  %9.4f  %12.3f  %.3f / %.3f / %.3f\n",
                  static_cast<long long>(cap.length), static_cast<long long>(l.layer), l.sink_mass,
                  l.entropy.mean().item<double>(), d0, d1, near);
    }
  }
  return 0;
}

}  // namespace ctx::cli
