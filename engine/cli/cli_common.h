// Shared pieces of the ctxlab-cli verbs: options every verb takes, error reporting, output helpers.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/input_error.h"

namespace ctx::cli {

struct Common {
  std::string db = "experiments.db";
  bool json = false;
};

// A usage or input problem: printed as one line on stderr, exit status 2.
struct UsageError : InputError {
  using InputError::InputError;
};

// Prints the final result line for --json (one object or array on the last stdout line).
void print_json(const nlohmann::json& j);

// What an exception that ends a verb makes the process exit with: 128 + signal for Interrupted
// (130 SIGINT, 143 SIGTERM), 2 for bad input (InputError), 1 for anything else.
int exit_status_of(const std::exception& e);
// The first line of an error message.
std::string one_line(const std::string& msg);

// "512,1024" or ranges "2048:32768:2048" (FROM:TO:STEP, TO included), mixed, each length once in
// the order given; UsageError otherwise.
std::vector<int64_t> parse_lengths(const std::string& csv, const std::string& option);
std::vector<double> parse_numbers(const std::string& csv, const std::string& option);
std::string format_time(double unix_seconds);
std::string format_number(double v, int precision = 4);

int cmd_train(const Common& c, const std::string& config_path, const std::string& device = "", int64_t init_run = 0,
              const std::string& study = "");
int cmd_resume(const Common& c, int64_t run);
int cmd_eval(const Common& c, int64_t run, const std::string& lengths, const std::string& modes, const std::string& device);
int cmd_runs(const Common& c);
int cmd_show(const Common& c, int64_t run);
int cmd_compare(const Common& c, const std::vector<int64_t>& runs);
int cmd_export(const Common& c, const std::vector<int64_t>& runs, bool csv, const std::string& out);
int cmd_rope(const Common& c, const std::string& config_path, int64_t length, int64_t run = 0);
int cmd_positions(const Common& c, const std::string& config_path, int64_t samples, int64_t bins);
int cmd_methods(const Common& c);
// What this build can train on: CUDA in its LibTorch, the GPUs it sees, c10d's process groups.
int cmd_devices(const Common& c);
// Validates a config without running it: the parse and, unless config_only, train's preflight.
int cmd_check(const Common& c, const std::string& config_path, bool config_only = false);
int cmd_bench_methods(const Common& c, int64_t steps, const std::string& device);
int cmd_bench(const Common& c, const std::string& sizes, int64_t steps, const std::string& device);

// passkey, needle, kvretrieval: one retrieval sweep on a run's checkpoint (verbs_longctx.cpp).
struct RetrievalArgs {
  int64_t run = 0;
  std::string lengths, depths;  // comma-separated; empty = the run's eval.lengths / the task's default depths
  int64_t trials = 10, bins = 5, pairs = 0, seed = 1, batch = 8;
  std::string filler;  // a corpus spec (file, folder, .jsonl); empty = the run's validation split
  std::string device;
};
int cmd_retrieval(const Common& c, const std::string& task, const RetrievalArgs& a);
// ruler: the RULER-style task suite on a run's checkpoint, with its effective length (verbs_ruler.cpp).
struct RulerArgs {
  int64_t run = 0;
  std::string lengths, tasks, depths;  // comma-separated; empty = eval.lengths / RULER's eleven / random
  int64_t samples = 20, seed = 1, batch = 8;
  double threshold = -1;  // < 0: 0.9 x the average at train.seq_len
  std::string device;
  std::string precision;  // overrides eval.precision when set (fp32 | bf16)
};
int cmd_ruler(const Common& c, const RulerArgs& a);
// eval --mode longdoc: long-document perplexity (verbs_longdoc.cpp).
int cmd_eval_longdoc(const Common& c, int64_t run, const std::string& lengths, int64_t stride, int64_t docs,
                     const std::string& device);
// report: a study's runs as one self-contained HTML page (verbs_report.cpp).
int cmd_report(const Common& c, const std::string& study, const std::string& out_dir);
// attention: pooled maps, distance profile, sink mass and entropy for a run's checkpoint.
struct AttentionArgs {
  int64_t run = 0;
  std::string lengths, layers, heads;  // comma-separated; empty = 1,2,4,8 x train.seq_len / all / all
  int64_t grid = 256, chunk = 128, sink = 4;
  int64_t probe_doc = -1;  // a validation document; -1 = the first long enough
  std::string text, text_file;
  std::string device;
};
int cmd_attention(const Common& c, const AttentionArgs& a);

// study run FILE / study validate FILE (verbs_study.cpp).
int cmd_study_run(const Common& c, const std::string& file, const std::string& device);
int cmd_study_validate(const Common& c, const std::string& file);

// Hugging Face folders (verbs_hf.cpp).
int cmd_hf_info(const Common& c, const std::string& folder);
int cmd_import(const Common& c, const std::string& folder, const std::string& name, const std::string& corpus);
int cmd_export_hf(const Common& c, int64_t run, const std::string& out_dir, const std::string& dtype);
int cmd_tokenize(const Common& c, int64_t run, const std::string& tokenizer, const std::string& text);
int cmd_logits(const Common& c, int64_t run, const std::string& ids_file, const std::string& out,
               const std::string& device);
// bench --load FOLDER: loading against reading the files as cat does, with peak memory;
// bench --tokenizer PATH --text-file F: tokenizer MB/s at each thread count (bench_hf.cpp).
int cmd_bench_load(const Common& c, const std::string& folder, const std::string& device,
                   const std::string& dtype, int64_t repeats);
// bench --shape NAME: Llama-shaped training throughput, TFLOP/s, MFU and peak memory (bench_shapes.cpp).
int cmd_bench_shape(const Common& c, const std::string& shape, const std::string& device,
                    const std::string& precision, int64_t steps, bool cuda_graph);
int cmd_bench_tokenize(const Common& c, const std::string& tokenizer, const std::string& text_file,
                       const std::vector<int64_t>& threads);
int cmd_bench_attention(const Common& c, const std::string& lengths, int64_t chunk, int64_t grid, int64_t reps,
                        const std::string& device);

}  // namespace ctx::cli
