// ctxlab-cli: train, resume and evaluate runs, browse the store, and inspect what a method does
// to frequencies and position ids. Every verb takes --db and --json (DESIGN.md, "The contract").
#include <CLI/CLI.hpp>

#include <algorithm>
#include <iostream>
#include <sstream>

#include "cli/bench_dist.h"
#include "cli/cli_common.h"
#include "data/interrupt.h"

using namespace ctx;


int main(int argc, char** argv) {
  CLI::App app{"CtxLab command line: context-window extension experiments"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("ctxlab-cli ") + CTXLAB_VERSION);
  cli::Common common;
  auto add_common = [&](CLI::App* sub) {
    sub->add_option("--db", common.db, "run store (SQLite file)")->capture_default_str();
    sub->add_flag("--json", common.json, "machine-readable output: the last stdout line is one JSON value");
  };

  std::string config, lengths, modes = "", device, sizes = "small,base", out;
  int64_t init_run = 0;
  int64_t run = 0, length = 0, samples = 8, bins = 64, steps = 20;
  std::vector<int64_t> runs;
  bool csv = false;

  auto* train = app.add_subcommand("train", "train or fine-tune a model from a config file");
  train->add_option("--config", config, "config JSON")->required();
  train->add_option("--device", device, "override train.device (cpu, cuda, cuda:N)");
  train->add_option("--init-run", init_run, "start from run N's checkpoint (overrides the config's init)");
  std::string study;
  train->add_option("--study", study, "group the run into the study of this name (created when new)");
  auto* resume = app.add_subcommand("resume", "continue an interrupted run from its last checkpoint");
  resume->add_option("run", run, "run id")->required();
  auto* eval = app.add_subcommand("eval", "evaluate a run's checkpoint at more lengths");
  eval->add_option("--run", run, "run id")->required();
  eval->add_option("--lengths", lengths, "comma-separated lengths (default: the run's eval.lengths)");
  eval->add_option("--mode", modes, "nonoverlap, sliding, or both comma-separated (default: the run's); or longdoc alone");
  eval->add_option("--device", device, "override the run's device");
  int64_t longdoc_stride = 256, longdoc_docs = 10;
  eval->add_option("--stride", longdoc_stride, "longdoc: sliding-window stride in tokens")->capture_default_str();
  eval->add_option("--docs", longdoc_docs, "longdoc: documents used, at most (0 = all long enough)")->capture_default_str();
  auto* list = app.add_subcommand("runs", "list runs");
  auto* show = app.add_subcommand("show", "one run: config, status, metrics, evaluation");
  show->add_option("run", run, "run id")->required();
  auto* compare = app.add_subcommand("compare", "runs side by side: config differences and ppl per length");
  compare->add_option("runs", runs, "run ids")->required()->expected(1, -1);
  auto* exp = app.add_subcommand("export", "evaluation results, one row per run, one column per length");
  exp->add_option("runs", runs, "run ids")->required()->expected(1, -1);
  exp->add_flag("--csv", csv, "CSV output (the default)");
  exp->add_option("-o,--output", out, "write to a file instead of stdout");
  auto* rope = app.add_subcommand("rope", "inverse frequencies and attention factor a config uses at a length");
  rope->add_option("--config", config, "config JSON");
  rope->add_option("--run", run, "a stored run: the frequencies its checkpoint really uses (trained CLEX included)");
  rope->add_option("--length", length, "sequence length (default: train.seq_len)");
  auto* positions = app.add_subcommand("positions", "position ids the training sampler produces");
  positions->add_option("--config", config, "config JSON")->required();
  positions->add_option("--samples", samples, "examples to draw")->capture_default_str();
  positions->add_option("--bins", bins, "histogram bins")->capture_default_str();
  auto* check = app.add_subcommand("check", "validate a config (strict parse, every key resolved) without running it");
  check->add_option("--config", config, "config JSON")->required();
  bool config_only = false;
  check->add_flag("--config-only", config_only,
                  "parse and resolve the config only: no corpus, store, checkpoint or prompt checks "
                  "(the window's form validation; train still runs them all)");
  auto* methods = app.add_subcommand("methods", "the method registry: names, parameters, defaults, docs");
  auto* devices = app.add_subcommand("devices", "what this build trains on: CUDA, the GPUs it sees, torchrun's process groups");
  auto* bench = app.add_subcommand("bench", "training and evaluation tokens/s for a few model sizes");
  bench->add_option("--sizes", sizes, "comma-separated: tiny, small, base, medium")->capture_default_str();
  bench->add_option("--steps", steps, "timed steps per size")->capture_default_str();
  bench->add_option("--device", device, "cpu or cuda");
  bool bench_methods = false, bench_attention = false;
  int64_t bench_chunk = 128, bench_grid = 256;
  bench->add_flag("--methods", bench_methods, "per-step cost of every sampler, scaling and scheme vs contiguous RoPE");
  bench->add_flag("--attention", bench_attention, "attention capture (one layer, all heads) vs a forward pass: time and peak memory");
  bench->add_option("--lengths", lengths, "--attention: comma-separated lengths (default 128,256,512,1024)");
  bench->add_option("--chunk", bench_chunk, "--attention: query rows per chunk")->capture_default_str();
  bench->add_option("--grid", bench_grid, "--attention: tiles per side")->capture_default_str();
  std::string bench_load, bench_tokenizer, bench_text, bench_threads = "1", bench_dtype, bench_shape,
      bench_precision = "bf16";
  bench->add_option("--shape", bench_shape, "s85m-2k, m350m-8k or l1b-32k-lora: Llama-shaped training tokens/s, TFLOP/s, MFU, peak memory");
  bench->add_option("--precision", bench_precision, "--shape: fp32, bf16 (autocast over fp32 weights) or bf16-weights (bf16 weights, fp32 master copies)")->capture_default_str();
  int64_t bench_repeats = 3;
  cli::BenchDistArgs bench_dist;  // --shape under torchrun (bench_dist.cpp)
  bench->add_option("--context-parallel", bench_dist.context_parallel, "--shape: ranks per sequence (ring attention)")
      ->capture_default_str();
  bench->add_flag("--max-length", bench_dist.max_length, "--shape: also the longest sequence one step trains");
  bool bench_graph = false;
  bench->add_flag("--cuda-graph", bench_graph,
                  "--shape: the step's passes replayed from a CUDA graph (train.cuda_graph)");
  bench->add_option("--load", bench_load, "a Hugging Face folder: load time against reading its files as cat does, peak memory");
  bench->add_option("--dtype", bench_dtype, "--load: the model's dtype (default: the weights' own)");
  bench->add_option("--repeats", bench_repeats, "--load: timed loads")->capture_default_str();
  bench->add_option("--tokenizer", bench_tokenizer, "a tokenizer (folder, tokenizer.json, tokenizer.model): MB/s on --text-file");
  bench->add_option("--text-file", bench_text, "--tokenizer: the text to encode");
  bench->add_option("--threads", bench_threads, "--tokenizer: comma-separated thread counts")->capture_default_str();

  // Long-context evaluation of a stored run (verbs_longctx.cpp).
  cli::RetrievalArgs ret;
  auto add_retrieval = [&](const std::string& name, const std::string& help, const std::string& depths_help) {
    auto* sub = app.add_subcommand(name, help);
    sub->add_option("--run", ret.run, "run id")->required();
    sub->add_option("--lengths", ret.lengths, "comma-separated lengths in tokens (default: the run's eval.lengths)");
    if (!depths_help.empty()) sub->add_option("--depths", ret.depths, depths_help);
    sub->add_option("--trials", ret.trials, "prompts per cell")->capture_default_str();
    sub->add_option("--seed", ret.seed, "prompt seed (the same seed gives the same prompts for every run)")->capture_default_str();
    sub->add_option("--batch", ret.batch, "prompts decoded at once")->capture_default_str();
    sub->add_option("--filler", ret.filler, "text file, folder or .jsonl to cut the filler from (default: the run's validation split)");
    sub->add_option("--device", device, "override the run's device");
    return sub;
  };
  auto* passkey = add_retrieval("passkey", "passkey retrieval accuracy by length (greedy, exact match)",
                                "key depths as fractions 0..1 (default: a random depth per trial)");
  auto* needle = add_retrieval("needle", "needle-in-a-haystack accuracy over lengths x depths",
                               "needle depths in percent (default 0,20,40,60,80,100)");
  auto* kv = add_retrieval("kvretrieval", "key-value retrieval accuracy against the position of the pair", "");
  kv->add_option("--bins", ret.bins, "position bins over the record")->capture_default_str();
  kv->add_option("--pairs", ret.pairs, "facts per record (0 = as many as fit)")->capture_default_str();
  cli::RulerArgs rul;
  auto* ruler = app.add_subcommand("ruler", "RULER-style tasks (needles, variable tracking, common/frequent words) and the effective length");
  ruler->add_option("--run", rul.run, "run id")->required();
  ruler->add_option("--lengths", rul.lengths, "comma-separated lengths in tokens (default: the run's eval.lengths)");
  ruler->add_option("--tasks", rul.tasks, "comma-separated task names (default: RULER's eleven)");
  ruler->add_option("--samples", rul.samples, "prompts per cell")->capture_default_str();
  ruler->add_option("--depths", rul.depths, "needle depths as fractions 0..1 (default: a random depth per prompt)");
  ruler->add_option("--seed", rul.seed, "prompt seed (the same seed gives the same prompts for every run)")->capture_default_str();
  ruler->add_option("--threshold", rul.threshold, "effective-length threshold (default: 0.9 x the average at train.seq_len)");
  ruler->add_option("--batch", rul.batch, "prompts decoded at once")->capture_default_str();
  ruler->add_option("--device", device, "override the run's device");
  ruler->add_option("--precision", rul.precision, "fp32 or bf16 (CUDA), overriding the run's eval.precision");
  std::string report_study, report_out;
  auto* report = app.add_subcommand("report", "a study's runs as one self-contained HTML page (SVG figures, tables)");
  report->add_option("--study", report_study, "study name")->required();
  report->add_option("--out", report_out, "folder to write index.html into")->required();
  cli::AttentionArgs att;
  auto* attention = app.add_subcommand("attention", "pooled attention maps, distance profile, sink mass and entropy of a run");
  attention->add_option("--run", att.run, "run id")->required();
  attention->add_option("--lengths", att.lengths, "comma-separated lengths (default: 1,2,4,8 x train.seq_len)");
  attention->add_option("--layers", att.layers, "comma-separated layers, from 0 (default: all)");
  attention->add_option("--heads", att.heads, "comma-separated heads, from 0 (default: all)");
  attention->add_option("--grid", att.grid, "tiles per side of the pooled maps")->capture_default_str();
  attention->add_option("--chunk", att.chunk, "query rows scored at once (memory ~ length x chunk)")->capture_default_str();
  attention->add_option("--sink", att.sink, "the first k tokens counted as the attention sink")->capture_default_str();
  attention->add_option("--probe-doc", att.probe_doc, "validation document to probe (default: the first long enough)");
  attention->add_option("--text", att.text, "probe text instead of a validation document");
  attention->add_option("--text-file", att.text_file, "probe text from a file");
  attention->add_option("--device", device, "override the run's device");
  // Studies (verbs_study.cpp).
  std::string study_file;
  auto* study_cmd = app.add_subcommand("study", "a paper's finding as a study file: run it, or validate it");
  study_cmd->require_subcommand(1);
  auto* study_run = study_cmd->add_subcommand("run", "train a study's base and runs, evaluate them, report its checks");
  study_run->add_option("file", study_file, "study JSON (resources/studies/)")->required();
  study_run->add_option("--device", device, "override every run's device (cpu, cuda, cuda:N)");
  auto* study_validate = study_cmd->add_subcommand("validate", "check a study file without running it");
  study_validate->add_option("file", study_file, "study JSON")->required();
  add_common(study_run);
  add_common(study_validate);

  // Hugging Face folders (verbs_hf.cpp).
  std::string hf_path, hf_name, hf_corpus, hf_dtype, hf_tokenizer, hf_text, hf_ids, hf_out;
  auto* hf_info = app.add_subcommand("hf-info", "what a Hugging Face model folder holds, checked by the engine");
  hf_info->add_option("folder", hf_path, "model folder (config.json, safetensors, tokenizer)")->required();
  auto* import = app.add_subcommand("import", "store a Hugging Face model folder as a finished 'pretrained' run");
  import->add_option("folder", hf_path, "model folder (config.json, safetensors, tokenizer)")->required();
  import->add_option("--name", hf_name, "run name (default: the folder's name)");
  import->add_option("--corpus", hf_corpus, "corpus its evaluations use (default builtin:longrange)");
  auto* export_hf = app.add_subcommand("export-hf", "write a run as a Hugging Face model folder");
  export_hf->add_option("--run", run, "run id")->required();
  export_hf->add_option("out_dir", hf_out, "new folder to write")->required();
  export_hf->add_option("--dtype", hf_dtype, "bf16, fp16 or fp32 (default: the dtype the weights were published in, else fp32)");
  auto* tokenize = app.add_subcommand("tokenize", "ids and pieces of a text under a run's or a folder's tokenizer");
  tokenize->add_option("--run", run, "a run: its tokenizer");
  tokenize->add_option("--tokenizer", hf_tokenizer, "a tokenizer: folder, tokenizer.json or tokenizer.model ('byte' for CtxLab's)");
  tokenize->add_option("--text", hf_text, "the text")->required();
  auto* logits = app.add_subcommand("logits", "float32 logits of token sequences as a NumPy .npy file");
  logits->add_option("--run", run, "run id")->required();
  logits->add_option("--ids", hf_ids, "file: one sequence per line, ids separated by spaces")->required();
  logits->add_option("--out", hf_out, "output .npy (sequences x tokens x vocab); one file per length, suffixed -T, when lengths differ")->required();
  logits->add_option("--device", device, "override the run's device");
  for (auto* s : {train, resume, eval, list, show, compare, exp, rope, positions, check, methods, devices, bench, passkey, needle, kv,
                  ruler, report, attention, hf_info, import, export_hf, tokenize, logits})
    add_common(s);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  // Verbs that run for long stop cleanly on SIGINT / SIGTERM at their next poll (training steps,
  // evaluation batches, decoding, attention chunks, corpus reading); the others keep the default
  // action, which ends them at once with nothing half-written.
  for (auto* s : {train, resume, eval, passkey, needle, kv, attention, logits, study_run})
    if (*s) install_stop_handlers();
  try {
    if (*train) return cli::cmd_train(common, config, device, init_run, study);
    if (*resume) return cli::cmd_resume(common, run);
    if (*eval && modes == "longdoc")
      return cli::cmd_eval_longdoc(common, run, lengths, longdoc_stride, longdoc_docs, device);
    if (*eval) return cli::cmd_eval(common, run, lengths, modes, device);
    if (*list) return cli::cmd_runs(common);
    if (*show) return cli::cmd_show(common, run);
    if (*compare) return cli::cmd_compare(common, runs);
    if (*exp) return cli::cmd_export(common, runs, csv, out);
    if (*rope) return cli::cmd_rope(common, config, length, run);
    if (*positions) return cli::cmd_positions(common, config, samples, bins);
    if (*check) return cli::cmd_check(common, config, config_only);
    if (*methods) return cli::cmd_methods(common);
    if (*devices) return cli::cmd_devices(common);
    if (*bench) {
      if (!bench_load.empty()) return cli::cmd_bench_load(common, bench_load, device, bench_dtype, bench_repeats);
      if (!bench_shape.empty()) {
        const auto env = read_dist_env();  // torchrun: the distributed step (reducer, ZeRO-1, ring)
        if (env.launched() || bench_dist.context_parallel > 1 || bench_dist.max_length) {
          if (bench_graph)
            throw cli::UsageError(
                "--cuda-graph: one process only (not with torchrun, --context-parallel or "
                "--max-length)");
          bench_dist.shape = bench_shape;
          bench_dist.device = device.empty() ? "cuda" : device;
          bench_dist.precision = bench_precision;
          bench_dist.steps = steps;
          return cli::cmd_bench_shape_dist(common, env, bench_dist);
        }
        return cli::cmd_bench_shape(common, bench_shape, device, bench_precision, steps,
                                    bench_graph);
      }
      if (!bench_tokenizer.empty()) {
        if (bench_text.empty()) throw cli::UsageError("bench --tokenizer needs --text-file");
        std::vector<int64_t> counts;
        std::stringstream list(bench_threads);
        for (std::string item; std::getline(list, item, ',');) {
          size_t used = 0;
          int64_t n = 0;
          try {
            n = std::stoll(item, &used);
          } catch (const std::exception&) {
          }
          if (used != item.size() || n < 1) throw cli::UsageError("--threads: '" + item + "' is not a thread count");
          counts.push_back(n);
        }
        return cli::cmd_bench_tokenize(common, bench_tokenizer, bench_text, counts);
      }
      if (bench_attention) return cli::cmd_bench_attention(common, lengths, bench_chunk, bench_grid, std::max<int64_t>(1, steps / 4), device);
      return bench_methods ? cli::cmd_bench_methods(common, steps, device) : cli::cmd_bench(common, sizes, steps, device);
    }
    for (auto [sub, task] : {std::pair<CLI::App*, const char*>{passkey, "passkey"}, {needle, "needle"}, {kv, "kvretrieval"}})
      if (*sub) {
        ret.device = device;
        return cli::cmd_retrieval(common, task, ret);
      }
    if (*ruler) {
      rul.device = device;
      return cli::cmd_ruler(common, rul);
    }
    if (*report) return cli::cmd_report(common, report_study, report_out);
    if (*attention) {
      att.device = device;
      return cli::cmd_attention(common, att);
    }
    if (*study_run) return cli::cmd_study_run(common, study_file, device);
    if (*study_validate) return cli::cmd_study_validate(common, study_file);
    if (*hf_info) return cli::cmd_hf_info(common, hf_path);
    if (*import) return cli::cmd_import(common, hf_path, hf_name, hf_corpus);
    if (*export_hf) return cli::cmd_export_hf(common, run, hf_out, hf_dtype);
    if (*tokenize) return cli::cmd_tokenize(common, run, hf_tokenizer, hf_text);
    if (*logits) return cli::cmd_logits(common, run, hf_ids, hf_out, device);
  } catch (const std::exception& e) {
    // One line; the status says what it was (cli_common.h): a signal the verb polled for (130,
    // 143; training has saved a checkpoint and marked the run interrupted), bad input of any
    // kind (2), or an internal error (1).
    std::cerr << "error: " << cli::one_line(e.what()) << "\n";
    return cli::exit_status_of(e);
  }
  return 0;
}
