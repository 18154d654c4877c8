// bench --shape's optional profile: with CTXLAB_PROFILE=FILE.json set, a few steps after the timed
// ones run under PyTorch's Kineto profiler (CPU ops and CUDA kernels) and the Chrome trace is saved
// to FILE.json; tools/profile_summary.py turns it into a table of where GPU time goes. Only builds
// that have Kineto (LibTorch 2.x with CUDA) profile; elsewhere profiling says so and does nothing.
#pragma once

#include <string>

namespace ctx::cli {

// The trace path asked for by CTXLAB_PROFILE ("" = no profile).
std::string profile_path();

// Starts the profiler (returns false, with a line on stderr, where it cannot run).
bool start_profile();

// Stops it and writes the trace to `path`.
void finish_profile(const std::string& path);

}  // namespace ctx::cli
