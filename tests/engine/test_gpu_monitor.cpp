// GPU metrics of training runs: a CPU run logs none; NVML's device follows CUDA_VISIBLE_DEVICES;
// a CUDA run logs its peak memory every log step (and the utilisation where the driver's NVML
// library loads). The CUDA test is skipped where LibTorch has no CUDA device.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <algorithm>
#include <filesystem>

#include "store/file_tree.h"
#include "train/gpu_monitor.h"
#include "train/trainer.h"

namespace fs = std::filesystem;

namespace {

class Quiet : public ctx::EventSink {};

std::string fresh_db(const std::string& name) {
  auto dir = fs::path(CTXLAB_TEST_TMP) / "gpu_monitor";
  fs::create_directories(dir);
  const auto p = (dir / name).string();
  for (const char* s : {"", "-wal", "-shm"}) ctx::remove_tree(p + s);
  ctx::remove_tree(dir / (fs::path(p).stem().string() + ".runs"));
  return p;
}

// Trains `steps` steps of a tiny model on `device`; returns the run id.
int64_t train_tiny(ctx::store::RunStore& db, const std::string& device, int64_t steps) {
  auto cfg = ctx::parse_run_config({{"name", "gpu-metrics"},
                                    {"seed", 3},
                                    {"model", {{"layers", 1}, {"d_model", 32}, {"heads", 2}, {"max_positions", 64}}},
                                    {"data", {{"builtin_docs", 8}, {"builtin_doc_tokens", 512}}},
                                    {"train", {{"seq_len", 32}, {"batch_size", 4}, {"steps", steps}, {"warmup", 1},
                                               {"log_every", 1}, {"threads", 1}, {"device", device}}},
                                    {"eval", {{"enabled", false}}}});
  const int64_t id = ctx::create_run(db, cfg);
  ctx::TrainRequest r;
  r.store = &db;
  r.run_id = id;
  r.config = cfg;
  Quiet quiet;
  const auto o = ctx::run_training(r, quiet);
  EXPECT_EQ(o.status, ctx::store::RunStatus::Finished) << o.error;
  return id;
}

bool has(const std::vector<std::string>& names, const std::string& n) {
  return std::find(names.begin(), names.end(), n) != names.end();
}

}  // namespace

TEST(GpuMonitor, CpuRunsLogNoGpuMetrics) {
  std::vector<std::pair<std::string, double>> values;
  ctx::append_gpu_metrics(-1, values);
  EXPECT_TRUE(values.empty());
  ctx::store::RunStore db(fresh_db("cpu.db"));
  const int64_t id = train_tiny(db, "cpu", 3);
  const auto names = db.metric_names(id);
  EXPECT_TRUE(has(names, "tokens_per_s"));
  EXPECT_FALSE(has(names, "gpu_memory_gib"));
  EXPECT_FALSE(has(names, "gpu_util"));
}

TEST(GpuMonitor, NvmlDeviceFollowsCudaVisibleDevices) {
  std::string uuid;
  EXPECT_EQ(ctx::nvml_index_of(0, "", &uuid), 0);
  EXPECT_EQ(ctx::nvml_index_of(1, "", &uuid), 1);
  EXPECT_EQ(ctx::nvml_index_of(0, "3,1", &uuid), 3);
  EXPECT_EQ(ctx::nvml_index_of(1, "3, 1", &uuid), 1);
  EXPECT_EQ(ctx::nvml_index_of(2, "3,1", &uuid), -1);
  EXPECT_TRUE(uuid.empty());
  EXPECT_EQ(ctx::nvml_index_of(0, "GPU-8d2f0c1e-aa", &uuid), -1);
  EXPECT_EQ(uuid, "GPU-8d2f0c1e-aa");
  EXPECT_EQ(ctx::nvml_index_of(0, "bogus", &uuid), -1);
  EXPECT_TRUE(uuid.empty());
  EXPECT_EQ(ctx::nvml_index_of(-1, "", &uuid), -1);
}

TEST(GpuMonitor, CudaRunsLogPeakMemoryAndUtilisation) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  ctx::store::RunStore db(fresh_db("cuda.db"));
  const int64_t id = train_tiny(db, "cuda", 4);
  const auto names = db.metric_names(id);
#if __has_include(<c10/cuda/CUDACachingAllocator.h>) && __has_include(<cuda_runtime_api.h>)
  ASSERT_TRUE(has(names, "gpu_memory_gib"));
  const auto mem = db.metric_series(id, "gpu_memory_gib");
  ASSERT_EQ(mem.size(), 4u);  // every log step
  for (const auto& p : mem) {
    EXPECT_GT(p.value, 0.0);  // the model, its gradients and the optimizer state at least
    EXPECT_LT(p.value, 8.0);  // a 1-layer, 32-wide model: megabytes, not gigabytes
  }
#endif
  void* nvml = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!nvml) {
    EXPECT_FALSE(has(names, "gpu_util"));
    return;
  }
  dlclose(nvml);
  ASSERT_TRUE(has(names, "gpu_util"));
  for (const auto& p : db.metric_series(id, "gpu_util")) {
    EXPECT_GE(p.value, 0.0);
    EXPECT_LE(p.value, 100.0);
  }
}
