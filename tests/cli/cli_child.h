// ctxlab-cli as a child process the test can watch and signal: stdout read line by line, stderr
// kept, a deadline on every wait (a hang fails the test instead of blocking the suite).
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <tuple>
#include <vector>

namespace ctx::test {

class CliChild {
 public:
  explicit CliChild(const std::vector<std::string>& args,
                    const std::string& stdin_path = "/dev/null") {
    int out[2], err[2];
    if (pipe(out) != 0 || pipe(err) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      const int in = open(stdin_path.c_str(), O_RDONLY);
      if (in >= 0) dup2(in, 0);
      dup2(out[1], 1);
      dup2(err[1], 2);
      close(out[0]), close(err[0]);
      std::vector<char*> argv;
      static std::string cli = CTXLAB_CLI;
      argv.push_back(cli.data());
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(out[1]), close(err[1]);
    out_fd_ = out[0], err_fd_ = err[0];
    fcntl(out_fd_, F_SETFL, O_NONBLOCK);
    fcntl(err_fd_, F_SETFL, O_NONBLOCK);
  }
  ~CliChild() {
    if (pid_ > 0 && !done_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) close(out_fd_);
    if (err_fd_ >= 0) close(err_fd_);
  }
  CliChild(const CliChild&) = delete;
  CliChild& operator=(const CliChild&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

  // Reads output until `pred(stdout so far)` holds or `seconds` pass; true when it held.
  bool wait_for_output(const std::function<bool(const std::string&)>& pred, double seconds) {
    const auto end = deadline(seconds);
    while (!pred(out_)) {
      if (std::chrono::steady_clock::now() > end || !pump(100)) return pred(out_);
    }
    return true;
  }

  // Waits for the exit; returns the exit code, 128 + signal if killed by one, or -1 on timeout.
  int wait(double seconds) {
    const auto end = deadline(seconds);
    for (;;) {
      pump(20);
      int st = 0;
      const pid_t r = waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        done_ = true;
        while (pump(0)) {
        }
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      if (std::chrono::steady_clock::now() > end) return -1;
    }
  }

 private:
  static std::chrono::steady_clock::time_point deadline(double seconds) {
    return std::chrono::steady_clock::now() +
           std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  }
  // Reads what is available (waiting up to `ms`); false once both pipes are at end of file.
  bool pump(int ms) {
    pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    if (out_eof_ && err_eof_) return false;
    poll(fds, 2, ms);
    char buf[4096];
    for (auto [fd, into, eof] :
         {std::tuple{out_fd_, &out_, &out_eof_}, std::tuple{err_fd_, &err_, &err_eof_}}) {
      for (;;) {
        const ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0) {
          into->append(buf, static_cast<size_t>(n));
          continue;
        }
        if (n == 0) *eof = true;
        break;
      }
    }
    return !(out_eof_ && err_eof_);
  }

  pid_t pid_ = -1;
  int out_fd_ = -1, err_fd_ = -1;
  bool out_eof_ = false, err_eof_ = false, done_ = false;
  std::string out_, err_;
};

struct CliResult {
  int rc = -1;
  std::string out, err;
};

// Runs ctxlab-cli to its end (at most `seconds`; rc -1 when it ran longer).
inline CliResult run_cli(const std::vector<std::string>& args, double seconds = 300) {
  CliChild c(args);
  CliResult r;
  r.rc = c.wait(seconds);
  r.out = c.out();
  r.err = c.err();
  return r;
}

}  // namespace ctx::test
