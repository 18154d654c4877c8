// Per-step GPU metrics of a CUDA run, logged beside tokens_per_s: the peak memory LibTorch's
// caching allocator held since the previous log ("gpu_memory_gib"; compiled where LibTorch's CUDA
// headers are) and the device's utilisation ("gpu_util", percent; NVML loaded at run time with
// dlopen, so nothing is linked and a machine without the driver library simply has no metric).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace ctx {

// Appends what can be measured of CUDA device `cuda_index` to `values` and starts the next peak
// window; a negative index (a CPU run) appends nothing.
void append_gpu_metrics(int cuda_index, std::vector<std::pair<std::string, double>>& values);

// The NVML device index of CUDA device `cuda_index` under CUDA_VISIBLE_DEVICES (`visible`, as the
// variable says it; empty when unset): the index it lists at that position, or the UUID it names
// there (then `uuid` is set and -1 returned); -1 with `uuid` empty when the entry cannot be read.
int nvml_index_of(int cuda_index, const std::string& visible, std::string* uuid);

}  // namespace ctx
