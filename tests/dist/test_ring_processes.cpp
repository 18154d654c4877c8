// Ring attention over real c10d process groups: 2 (and 3) processes through Gloo on the CPU, the
// forward output and the gradients of q, k and v equal plain causal attention's; a llama model's
// per-token losses and parameter gradients equal one process's with fractional position ids under
// YaRN and dynamic-NTK scaling, with and without activation checkpointing. On NCCL the same when
// there are two GPUs (skipped otherwise).
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include "dist/launch.h"

namespace fs = std::filesystem;

namespace {

fs::path dir() {
  auto d = fs::path(CTXLAB_TEST_TMP) / "dist";
  fs::create_directories(d);
  return d;
}

void expect_all_pass(int world, const std::string& args) {
  dist_test::Launch l(world, dist_test::words(CTXLAB_DIST_WORKER, args), dir());
  auto res = l.wait(240);
  for (size_t r = 0; r < res.size(); ++r) {
    EXPECT_EQ(res[r].rc, 0) << args << ", rank " << r << ": " << res[r].out << res[r].err;
    EXPECT_NE(res[r].out.find("max_out="), std::string::npos) << res[r].err;
  }
}

bool two_gpus() { return torch::cuda::is_available() && torch::cuda::device_count() >= 2; }

TEST(RingProcesses, TwoRanksEqualCausalAttentionForwardAndBackward) {
  NEEDS_GLOO();
  expect_all_pass(2, "ring cpu f64");
}

TEST(RingProcesses, ThreeRanksEqualCausalAttention) {
  NEEDS_GLOO();
  expect_all_pass(3, "ring cpu f64");
}

TEST(RingProcesses, ModelWithYarnAndFractionalIdsEqualsOneProcess) {
  NEEDS_GLOO();
  expect_all_pass(2, "model cpu yarn 0");
  expect_all_pass(2, "model cpu dynamic 1");  // the span of the whole sequence; recomputed blocks
}

TEST(RingProcessesCuda, TwoGpusOverNccl) {
  if (!two_gpus()) GTEST_SKIP() << "needs two CUDA devices";
  expect_all_pass(2, "ring cuda f32");
  expect_all_pass(2, "ring cuda bf16");  // the flash kernel's blocks where LibTorch has it
  expect_all_pass(2, "model cuda yarn 1");
}

}  // namespace
