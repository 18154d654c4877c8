// bench --load and bench --tokenizer: loading a Hugging Face folder against reading its files the
// way `cat` does (same files, warm page cache, in one run), with peak resident memory; and
// tokenizer throughput in MB/s at a given thread count (tools/bench_tokenizer.py times Hugging
// Face `tokenizers` on the same chunks).
#include <fcntl.h>
#include <torch/cuda.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/cli_common.h"
#include "io/run_tokenizer.h"
#include "io/tokenizer_bench.h"
#include "methods/hf_model.h"
#include "model/hf_weights.h"
#include "train/runtime.h"

namespace fs = std::filesystem;

namespace ctx::cli {
namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Peak resident set (VmHWM) in bytes.
int64_t peak_rss() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  return 0;
}

// Reads every weight file to the end through a 128 KiB buffer, as cat does; returns seconds.
double read_like_cat(const std::vector<fs::path>& files, uint64_t* bytes) {
  std::vector<char> buf(128 << 10);
  const double t0 = now_s();
  *bytes = 0;
  for (const auto& f : files) {
    const int fd = ::open(f.c_str(), O_RDONLY);
    if (fd < 0) throw UsageError("cannot read " + f.string());
    for (ssize_t n; (n = ::read(fd, buf.data(), buf.size())) > 0;)
      *bytes += static_cast<uint64_t>(n);
    ::close(fd);
  }
  return now_s() - t0;
}

std::vector<fs::path> weight_files(const std::string& folder) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(folder))
    if (e.is_regular_file() && e.path().extension() == ".safetensors") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

int cmd_bench_load(const Common& c, const std::string& folder, const std::string& device_name,
                   const std::string& dtype_name, int64_t repeats) {
  setup_threads(0);
  const auto device = resolve_device(device_name.empty() ? "cpu" : device_name);
  const auto section = read_hf_model_section(folder);
  RunConfig cfg;
  cfg.model = section.model;
  cfg.rope_scaling = section.rope_scaling;
  const auto dtype =
      dtype_name.empty()
          ? (section.model.weights_dtype.empty() ? "fp32" : section.model.weights_dtype)
          : dtype_name;
  const auto scalar = parse_export_dtype(dtype) == ExportDtype::BF16  ? torch::kBFloat16
                      : parse_export_dtype(dtype) == ExportDtype::F16 ? torch::kHalf
                                                                      : torch::kFloat;
  const auto files = weight_files(folder);
  uint64_t bytes = 0;
  read_like_cat(files, &bytes);  // warm the page cache: both sides then read from memory
  nlohmann::json rows = nlohmann::json::array();
  if (!c.json)
    std::printf("%s: %zu file(s), %.2f GB, %s, model in %s on %s\n%6s %10s %10s %8s %14s\n",
                folder.c_str(), files.size(), static_cast<double>(bytes) / 1e9,
                section.architecture.c_str(), dtype.c_str(), device_description(device).c_str(),
                "run", "cat s", "load s", "ratio", "peak RSS GB");
  for (int64_t r = 0; r < repeats; ++r) {
    uint64_t n = 0;
    const double cat_s = read_like_cat(files, &n);
    // The model is built directly in the target dtype on the target device: the only copy of the
    // weights this process holds is the model's own.
    const double t0 = now_s();
    torch::Tensor probe;
    {
      const auto old_dtype = torch::get_default_dtype();
      torch::set_default_dtype(caffe2::TypeMeta::fromScalarType(scalar));
      auto model = make_language_model(cfg.model, cfg.rope_scaling, section.model.vocab_size,
                                       WeightInit::Skip);
      torch::set_default_dtype(old_dtype);
      model->to(device);
      load_hf_weights(folder, model);
      if (device.is_cuda()) torch::cuda::synchronize();
      probe = model->head_weight().sum();
    }
    const double load_s = now_s() - t0;
    const double peak = static_cast<double>(peak_rss()) / 1e9;
    rows.push_back({{"run", r + 1},
                    {"cat_s", cat_s},
                    {"load_s", load_s},
                    {"ratio", load_s / cat_s},
                    {"peak_rss_gb", peak}});
    if (!c.json)
      std::printf("%6lld %10.3f %10.3f %8.2f %14.2f\n", static_cast<long long>(r + 1), cat_s,
                  load_s, load_s / cat_s, peak);
  }
  if (c.json)
    print_json({{"folder", folder},
                {"bytes", bytes},
                {"dtype", dtype},
                {"device", device_description(device)},
                {"runs", rows}});
  return 0;
}

int cmd_bench_tokenize(const Common& c, const std::string& tokenizer, const std::string& text_file,
                       const std::vector<int64_t>& threads) {
  const auto tok = io::tokenizer_at(tokenizer, "--tokenizer");
  nlohmann::json rows = nlohmann::json::array();
  if (!c.json)
    std::printf("%s (%s, %lld ids) on %s\n%8s %12s %14s %10s %10s\n", tokenizer.c_str(),
                tok->kind().c_str(), static_cast<long long>(tok->vocab_size()), text_file.c_str(),
                "threads", "MB", "tokens", "seconds", "MB/s");
  for (auto n : threads) {
    const auto r = io::bench_tokenizer(*tok, text_file, static_cast<int>(n));
    rows.push_back({{"threads", r.threads},
                    {"bytes", r.bytes},
                    {"tokens", r.tokens},
                    {"seconds", r.seconds},
                    {"mb_per_s", r.mb_per_s}});
    if (!c.json)
      std::printf("%8d %12.1f %14lld %10.3f %10.1f\n", r.threads,
                  static_cast<double>(r.bytes) / 1e6, static_cast<long long>(r.tokens), r.seconds,
                  r.mb_per_s);
  }
  if (c.json) print_json({{"tokenizer", tokenizer}, {"text", text_file}, {"runs", rows}});
  return 0;
}

}  // namespace ctx::cli
