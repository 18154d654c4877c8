// One definition per fuzz target, two builds: libFuzzer's entry point (CTXLAB_LIBFUZZER, clang
// -fsanitize=fuzzer), or a function registered by name for the GoogleTest replay of the corpora.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>

namespace ctx::fuzz {

using TargetFn = void (*)(const uint8_t* data, size_t size);

// A broken invariant: libFuzzer reports the uncaught exception as a crash and keeps the input;
// the replay test names the input.
struct InvariantBroken : std::logic_error {
  using std::logic_error::logic_error;
};

inline std::map<std::string, TargetFn>& targets() {
  static std::map<std::string, TargetFn> all;
  return all;
}

struct Register {
  Register(const char* name, TargetFn fn) { targets()[name] = fn; }
};

}  // namespace ctx::fuzz

#define CTXLAB_FUZZ_CHECK(cond, what)                      \
  do {                                                     \
    if (!(cond)) throw ::ctx::fuzz::InvariantBroken(what); \
  } while (0)

#ifdef CTXLAB_LIBFUZZER
#define CTXLAB_FUZZ_TARGET(name)                                            \
  static void fuzz_##name(const uint8_t* data, size_t size);                \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { \
    fuzz_##name(data, size);                                                \
    return 0;                                                               \
  }                                                                         \
  static void fuzz_##name(const uint8_t* data, size_t size)
#else
#define CTXLAB_FUZZ_TARGET(name)                                    \
  static void fuzz_##name(const uint8_t* data, size_t size);        \
  static ::ctx::fuzz::Register register_##name(#name, fuzz_##name); \
  static void fuzz_##name(const uint8_t* data, size_t size)
#endif
