// The stop flag behind check_stop(): one lock-free atomic written by the signal handler.
#include "data/interrupt.h"

#include <atomic>
#include <csignal>

namespace ctx {
namespace {

std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free,
              "the handler may only touch lock-free atomics");

extern "C" void on_stop_signal(int sig) {
  int none = 0;
  if (!g_signal.compare_exchange_strong(none, sig)) {
    // A second signal: the user means it. Default action from now on, and deliver this one.
    std::signal(sig, SIG_DFL);
    std::raise(sig);
  }
}

}  // namespace

Interrupted::Interrupted(int sig, const std::string& phase)
    : std::runtime_error("interrupted by " + signal_name(sig) + " during " + phase),
      signal(sig),
      phase(phase) {}

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // reads and writes in progress go on; the loops poll the flag
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

int stop_signal() noexcept {
  return g_signal.load(std::memory_order_relaxed);
}

bool stop_requested() noexcept {
  return stop_signal() != 0;
}

void check_stop(const char* phase) {
  if (const int sig = stop_signal()) throw Interrupted(sig, phase);
}

void reset_stop() noexcept {
  g_signal.store(0);
}

void request_stop(int sig) noexcept {
  int none = 0;
  g_signal.compare_exchange_strong(none, sig);
}

int exit_status_for_signal(int sig) noexcept {
  return 128 + sig;
}

std::string signal_name(int sig) {
  if (sig == SIGINT) return "SIGINT";
  if (sig == SIGTERM) return "SIGTERM";
  return "signal " + std::to_string(sig);
}

}  // namespace ctx
