// ATen operators called by argument name; see boxed_op.h.
#include "model/boxed_op.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>

#include <iostream>

namespace ctx {

bool op_present(const char* op) {
  return c10::Dispatcher::singleton().findSchema({op, ""}).has_value();
}

std::optional<std::vector<c10::IValue>> call_op_by_name(const char* op, const OpArgs& args,
                                                        std::atomic<bool>& failed, const char* user,
                                                        const char* fallback) {
  auto handle = c10::Dispatcher::singleton().findSchema({op, ""});
  if (!handle) return std::nullopt;
  torch::jit::Stack stack;
  for (const auto& a : handle->schema().arguments()) {
    auto it = args.find(a.name());
    if (it != args.end())
      stack.push_back(it->second);
    else if (a.default_value())
      stack.push_back(*a.default_value());
    else
      return std::nullopt;
  }
  try {
    handle->callBoxed(&stack);
  } catch (const std::exception& e) {
    std::string msg = e.what();
    std::cerr << "warning: " << user << ": " << op << " failed (" << msg.substr(0, msg.find('\n'))
              << "); " << fallback << "\n";
    failed = true;
    return std::nullopt;
  }
  return stack;
}

}  // namespace ctx
