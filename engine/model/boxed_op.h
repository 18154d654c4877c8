// ATen operators called through the dispatcher by argument name: private ops whose C++ headers
// differ between LibTorch versions (1.13 on Debian, 2.x on the GPU machine) or do not exist in
// some. A missing op or a changed schema makes the call unavailable (the caller's readable path
// runs), never breaks the build.
#pragma once

#include <ATen/core/ivalue.h>

#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ctx {

using OpArgs = std::map<std::string, c10::IValue>;

// Whether the dispatcher knows `op` (e.g. "aten::_fused_rms_norm").
bool op_present(const char* op);

// Calls `op` with `args` matched to its schema by name (defaults fill the rest) and returns its
// outputs in order; nothing when the op is missing or an argument without default is not given
// (silently), or when the call throws: then one warning on stderr ("<user>: <op> failed (...);
// <fallback>") and `failed` is set, so that the caller stops trying.
std::optional<std::vector<c10::IValue>> call_op_by_name(const char* op, const OpArgs& args,
                                                        std::atomic<bool>& failed, const char* user,
                                                        const char* fallback);

}  // namespace ctx
