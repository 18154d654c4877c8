// ctxlab-check-many: `ctxlab-cli check --json` on many configs (scripts/stress), LibTorch started
// once and one forked child per config that runs cmd_check and exits as ctxlab-cli would.
//
// Usage: ctxlab-check-many [--jobs N] [--timeout S] [--db PATH] < list-of-config-paths
// Prints "STATUS STDERR_LINES PATH" per config: STATUS is the exit status, 128 + signal for a
// crash, 124 for a child still running after --timeout seconds.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <thread>

#include "cli/cli_common.h"

namespace {

struct Child {
  std::string path;
  std::chrono::steady_clock::time_point started;
  bool killed = false;
};

int count_lines(const std::string& path) {
  std::ifstream in(path);
  int n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

[[noreturn]] void run_one(const std::string& path, const std::string& db) {
  const int out = ::open("/dev/null", O_WRONLY);
  const int err = ::open((path + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const int in = ::open("/dev/null", O_RDONLY);
  if (out < 0 || err < 0 || in < 0) _exit(125);
  dup2(in, 0), dup2(out, 1), dup2(err, 2);
  int status = 0;
  try {
    ctx::cli::Common c;
    c.db = db;
    c.json = true;
    status = ctx::cli::cmd_check(c, path);
  } catch (const std::exception& e) {
    std::cerr << "error: " << ctx::cli::one_line(e.what()) << "\n";
    status = ctx::cli::exit_status_of(e);
  }
  std::cout.flush();
  std::cerr.flush();
  _exit(status);
}

}  // namespace

int main(int argc, char** argv) {
  int jobs = 2;
  double timeout = 60;
  std::string db = "/nonexistent-ctxlab-check-many.db";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--jobs") jobs = std::max(1, std::atoi(argv[i + 1]));
    if (k == "--timeout") timeout = std::atof(argv[i + 1]);
    if (k == "--db") db = argv[i + 1];
  }
  std::map<pid_t, Child> running;
  auto reap = [&](bool block) {
    for (;;) {
      int st = 0;
      const pid_t pid = waitpid(-1, &st, block ? 0 : WNOHANG);
      if (pid <= 0) return;
      const Child c = running[pid];
      running.erase(pid);
      const int status = c.killed ? 124 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      std::printf("%d %d %s\n", status, count_lines(c.path + ".err"), c.path.c_str());
      std::fflush(stdout);
      if (block) return;
    }
  };
  for (std::string path; std::getline(std::cin, path);) {
    if (path.empty()) continue;
    while (static_cast<int>(running.size()) >= jobs) {
      reap(false);
      const auto now = std::chrono::steady_clock::now();
      for (auto& [pid, c] : running)
        if (!c.killed && std::chrono::duration<double>(now - c.started).count() > timeout) {
          kill(pid, SIGKILL);
          c.killed = true;
        }
      if (static_cast<int>(running.size()) >= jobs)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    const pid_t pid = fork();
    if (pid == 0) run_one(path, db);
    if (pid < 0) {
      std::perror("fork");
      return 1;
    }
    running[pid] = {path, std::chrono::steady_clock::now()};
  }
  while (!running.empty()) {
    reap(false);
    const auto now = std::chrono::steady_clock::now();
    for (auto& [pid, c] : running)
      if (!c.killed && std::chrono::duration<double>(now - c.started).count() > timeout) {
        kill(pid, SIGKILL);
        c.killed = true;
      }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return 0;
}
