// Cooperative stopping on SIGINT and SIGTERM. The CLI installs the handlers; every long loop
// (training steps, evaluation batches, greedy decoding, attention chunks, corpus reading) polls
// check_stop(), which throws Interrupted naming the signal and the phase it arrived in.
#pragma once

#include <stdexcept>
#include <string>

namespace ctx {

struct Interrupted : std::runtime_error {
  Interrupted(int sig, const std::string& phase);
  int signal;
  std::string phase;  // "evaluation", "retrieval", ...
};

// SIGINT and SIGTERM record the signal; a second one of either ends the process at once (the
// default action: the store and checkpoints are written atomically, so nothing is damaged).
void install_stop_handlers();
// The first signal received since start (or reset_stop), 0 when none.
int stop_signal() noexcept;
bool stop_requested() noexcept;
// Throws Interrupted when a signal has arrived; `phase` says where ("evaluation", ...).
void check_stop(const char* phase);
// Forgets a received signal (tests); handlers stay installed.
void reset_stop() noexcept;
// Records `sig` as if it had been received (tests, and stopping a run from inside the process).
void request_stop(int sig) noexcept;

// The exit status a stopped process reports, as shells do for a signal: 128 + signal (130 for
// SIGINT, 143 for SIGTERM).
int exit_status_for_signal(int sig) noexcept;
// "SIGINT", "SIGTERM", else "signal N".
std::string signal_name(int sig);

}  // namespace ctx
