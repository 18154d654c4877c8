// Launching N processes as torchrun would: each gets RANK, WORLD_SIZE, LOCAL_RANK,
// LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT (a free local port), its stdout and stderr in
// files; wait() collects exit statuses with a deadline and kills what outlives it. NEEDS_GLOO()
// skips a CPU case in a build without Gloo.
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace dist_test {

struct RankResult {
  int rc = -1;  // -1: killed at the deadline
  std::string out, err;
  double seconds = 0;
};

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

class Launch {
 public:
  // Starts `world` copies of `argv` (argv[0] the executable). `env` adds or replaces variables for
  // every rank; `rank_env` for one rank only.
  Launch(int world, const std::vector<std::string>& argv, const std::filesystem::path& scratch,
         const std::map<std::string, std::string>& env = {},
         const std::map<int, std::map<std::string, std::string>>& rank_env = {})
      : scratch_(scratch), t0_(std::chrono::steady_clock::now()) {
    static int launches = 0;
    const std::string tag = std::to_string(getpid()) + "-" + std::to_string(launches++);
    const int port = free_port();
    for (int r = 0; r < world; ++r) {
      std::map<std::string, std::string> vars;
      for (char** e = environ; *e; ++e) {
        std::string kv(*e);
        auto eq = kv.find('=');
        if (eq != std::string::npos) vars[kv.substr(0, eq)] = kv.substr(eq + 1);
      }
      for (const char* k : {"TORCHELASTIC_USE_AGENT_STORE", "TORCHELASTIC_RESTART_COUNT"}) vars.erase(k);
      vars["RANK"] = std::to_string(r);
      vars["WORLD_SIZE"] = std::to_string(world);
      vars["LOCAL_RANK"] = std::to_string(r);
      vars["LOCAL_WORLD_SIZE"] = std::to_string(world);
      vars["MASTER_ADDR"] = "127.0.0.1";
      vars["MASTER_PORT"] = std::to_string(port);
      vars["OMP_WAIT_POLICY"] = "PASSIVE";
      for (auto& [k, v] : env) vars[k] = v;
      if (auto it = rank_env.find(r); it != rank_env.end())
        for (auto& [k, v] : it->second) vars[k] = v;
      outs_.push_back(scratch / ("rank" + std::to_string(r) + "-" + tag + ".out"));
      errs_.push_back(scratch / ("rank" + std::to_string(r) + "-" + tag + ".err"));
      pids_.push_back(spawn(argv, vars, outs_.back(), errs_.back()));
    }
  }

  // Waits for every rank up to `deadline_s`; ranks still running then are killed (rc -1). With
  // `as_torchrun`, the others are killed 2 s after rank 0 exits, as torchrun stops a launch.
  std::vector<RankResult> wait(double deadline_s, bool as_torchrun = false) {
    std::vector<RankResult> res(pids_.size());
    std::vector<bool> done(pids_.size(), false);
    size_t left = pids_.size();
    while (left > 0) {
      const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
      for (size_t i = 0; i < pids_.size(); ++i) {
        if (done[i]) continue;
        int st = 0;
        if (waitpid(pids_[i], &st, WNOHANG) == pids_[i]) {
          res[i].rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
          res[i].seconds = el;
          done[i] = true;
          --left;
        } else if (el > deadline_s || (as_torchrun && done[0] && el > res[0].seconds + 2)) {
          kill(pids_[i], SIGKILL);
          waitpid(pids_[i], &st, 0);
          res[i].rc = -1;
          res[i].seconds = el;
          done[i] = true;
          --left;
        }
      }
      if (left > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    for (size_t i = 0; i < pids_.size(); ++i) {
      res[i].out = slurp(outs_[i]);
      res[i].err = slurp(errs_[i]);
    }
    return res;
  }

 private:
  static pid_t spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& vars,
                     const std::filesystem::path& out, const std::filesystem::path& err) {
    // Everything the child needs is built before fork: between fork and exec only dup2 and exec.
    std::vector<std::string> env_strings;
    for (auto& [k, v] : vars) env_strings.push_back(k + "=" + v);
    std::vector<char*> envp, args;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_copy = argv;
    for (auto& s : argv_copy) args.push_back(s.data());
    args.push_back(nullptr);
    const int fo = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int fe = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const pid_t pid = fork();
    if (pid == 0) {
      dup2(fo, 1);
      dup2(fe, 2);
      execve(args[0], args.data(), envp.data());
      _exit(127);
    }
    close(fo);
    close(fe);
    return pid;
  }

  std::filesystem::path scratch_;
  std::chrono::steady_clock::time_point t0_;
  std::vector<pid_t> pids_;
  std::vector<std::filesystem::path> outs_, errs_;
};

// Whether this build has Gloo: the CPU cases need it, and a CUDA build may have only NCCL.
#ifdef CTXLAB_HAVE_GLOO
constexpr bool kGloo = true;
#else
constexpr bool kGloo = false;
#endif

// Splits a command line on spaces (test arguments never hold spaces).
inline std::vector<std::string> words(const std::string& exe, const std::string& args) {
  std::vector<std::string> w{exe};
  std::stringstream s(args);
  for (std::string x; s >> x;) w.push_back(x);
  return w;
}

}  // namespace dist_test

// The first line of a test whose ranks run on the CPU (Gloo): skipped in a build without it.
#define NEEDS_GLOO() \
  if (!dist_test::kGloo) GTEST_SKIP() << "this build has no Gloo process group (CPU ranks)"
