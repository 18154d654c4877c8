// bench --attention: the cost of capturing pooled attention for one layer (all heads) against a
// forward pass of the whole model at the same length, in time and in peak tensor memory. Memory is
// measured by a counting wrapper around LibTorch's CPU allocator (every CPU tensor passes through
// it), so the peak is what tensors really held, not an estimate.
#include <c10/core/CPUAllocator.h>
#include <torch/utils.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <new>

#include "cli/cli_common.h"
#include "eval/attention_capture.h"
#include "model/language_model.h"
#include "train/runtime.h"

namespace ctx::cli {
namespace {

// Counts live CPU tensor bytes and their high-water mark. Blocks are 64-byte aligned with the size
// kept in a header before the data, so the context is the data pointer itself (LibTorch's raw
// allocate interface, which some kernels use, requires that).
class CountingAllocator final : public c10::Allocator {
 public:
  static constexpr size_t kHeader = 64;
  // LibTorch 1.13 declares allocate const, 2.x not: both forms, neither hiding the other.
  c10::DataPtr allocate(size_t n) { return counted(n); }
  c10::DataPtr allocate(size_t n) const { return counted(n); }
  c10::DeleterFnPtr raw_deleter() const override { return &release; }
  // LibTorch 2.x asks allocators to copy; 1.13 has no such member (hence no `override`).
  void copy_data(void* dest, const void* src, std::size_t count) const {
    std::memcpy(dest, src, count);
  }
  static void reset_peak() { peak_.store(live_.load()); }
  static int64_t live() { return live_.load(); }
  static int64_t peak() { return peak_.load(); }

 private:
  static c10::DataPtr counted(size_t n) {
    void* base = nullptr;
    if (posix_memalign(&base, 64, n + kHeader) != 0) throw std::bad_alloc();
    *static_cast<size_t*>(base) = n;
    void* data = static_cast<char*>(base) + kHeader;
    const int64_t now = live_.fetch_add(static_cast<int64_t>(n)) + static_cast<int64_t>(n);
    int64_t peak = peak_.load();
    while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
    }
    return {data, data, &release, c10::Device(c10::DeviceType::CPU)};
  }
  static void release(void* data) {
    if (!data) return;
    void* base = static_cast<char*>(data) - kHeader;
    live_.fetch_sub(static_cast<int64_t>(*static_cast<size_t*>(base)));
    std::free(base);
  }
  static inline std::atomic<int64_t> live_{0}, peak_{0};
};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Median seconds of `reps` calls (after one warm-up) and the peak bytes above the live bytes at the
// start.
template <class F>
std::pair<double, int64_t> measure(F&& f, int64_t reps) {
  f();
  std::vector<double> t;
  int64_t peak = 0;
  for (int64_t i = 0; i < reps; ++i) {
    const int64_t base = CountingAllocator::live();
    CountingAllocator::reset_peak();
    auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(seconds_since(t0));
    peak = std::max(peak, CountingAllocator::peak() - base);
  }
  std::sort(t.begin(), t.end());
  return {t[t.size() / 2], peak};
}

}  // namespace

int cmd_bench_attention(const Common& c, const std::string& lengths_csv, int64_t chunk,
                        int64_t grid, int64_t reps, const std::string& device_name) {
  const auto dev = resolve_device(device_name.empty() ? "cpu" : device_name);
  if (!dev.is_cpu()) throw UsageError("bench --attention: measures CPU memory; use --device cpu");
  if (reps < 1) throw UsageError("--steps: must be >= 1");
  static CountingAllocator counting;
  c10::SetCPUAllocator(&counting, /*priority=*/100);
  const int threads = setup_threads(0);

  // The default model and training length of a config (4 layers, d 256, 4 heads, seq_len 128).
  ModelConfig mc;
  mc.position = "rope";
  mc.position_params = {{"theta", 10000.0}, {"pairing", "half"}, {"rotary_fraction", 1.0}};
  const int64_t train_len = 128;
  const auto lengths = lengths_csv.empty() ? std::vector<int64_t>{128, 256, 512, 1024}
                                           : parse_lengths(lengths_csv, "--lengths");
  torch::manual_seed(1);
  auto model = make_language_model(mc, nullptr, 259);
  model->eval();
  torch::NoGradGuard ng;
  CaptureOptions o;
  o.layers = {mc.layers - 1};  // the last layer: the capture runs every block below it
  o.grid = grid;
  o.chunk = chunk;

  nlohmann::json rows = nlohmann::json::array();
  if (!c.json)
    std::printf(
        "cpu, %d threads; model %lld layers, d %lld, %lld heads; capture: layer %lld, all heads, "
        "grid %lld, "
        "chunk %lld\n%6s %5s %10s %10s %6s %12s %12s %12s %12s\n",
        threads, static_cast<long long>(mc.layers), static_cast<long long>(mc.d_model),
        static_cast<long long>(mc.heads), static_cast<long long>(o.layers[0]),
        static_cast<long long>(grid), static_cast<long long>(chunk), "length", "x", "fwd ms",
        "capture ms", "ratio", "fwd peak MB", "capture MB", "H*T^2 MB", "H*T*C MB");
  for (auto T : lengths) {
    std::vector<data::Token> probe(static_cast<size_t>(T));
    for (int64_t i = 0; i < T; ++i)
      probe[static_cast<size_t>(i)] = static_cast<data::Token>((i * 7919) % 256);
    auto tok =
        torch::tensor(std::vector<int64_t>(probe.begin(), probe.end()), torch::kLong).view({1, T});
    auto pos = torch::arange(T, torch::kFloat).view({1, T});
    auto [fwd_s, fwd_peak] = measure([&] { model->forward(tok, pos); }, reps);
    auto [cap_s, cap_peak] = measure([&] { capture_attention(model, probe, T, o, dev); }, reps);
    const double mb = 1.0 / (1024.0 * 1024.0);
    const double full = static_cast<double>(mc.heads * T * T * 4) * mb;
    const double row = static_cast<double>(mc.heads * T * std::min(chunk, T) * 4) * mb;
    rows.push_back({{"length", T},
                    {"times_train", static_cast<double>(T) / static_cast<double>(train_len)},
                    {"forward_s", fwd_s},
                    {"capture_s", cap_s},
                    {"ratio", cap_s / fwd_s},
                    {"forward_peak_bytes", fwd_peak},
                    {"capture_peak_bytes", cap_peak},
                    {"full_map_bytes", mc.heads * T * T * 4},
                    {"chunk_rows_bytes", mc.heads * T * std::min(chunk, T) * 4}});
    if (!c.json)
      std::printf("%6lld %5.0f %10.1f %10.1f %6.2f %12.1f %12.1f %12.1f %12.1f\n",
                  static_cast<long long>(T),
                  static_cast<double>(T) / static_cast<double>(train_len), fwd_s * 1e3, cap_s * 1e3,
                  cap_s / fwd_s, static_cast<double>(fwd_peak) * mb,
                  static_cast<double>(cap_peak) * mb, full, row);
  }
  if (c.json)
    print_json({{"device", "cpu"},
                {"threads", threads},
                {"layers", mc.layers},
                {"d_model", mc.d_model},
                {"heads", mc.heads},
                {"layer", o.layers[0]},
                {"grid", grid},
                {"chunk", chunk},
                {"rows", rows}});
  return 0;
}

}  // namespace ctx::cli
