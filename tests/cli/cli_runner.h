// Running ctxlab-cli from a test: exit status, stdout and stderr of one call, and the last JSON
// line of --json output. Each test file passes its own scratch folder.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace cli_test {

struct Result {
  int rc = -1;
  std::string out, err;
};

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs `ctxlab-cli ARGS`, stderr captured through a file in `scratch`.
inline Result run_cli(const std::string& args, const std::filesystem::path& scratch) {
  static int n = 0;
  auto errf = scratch / ("stderr-" + std::to_string(getpid()) + "-" + std::to_string(n++));
  std::string cmd = std::string(CTXLAB_CLI) + " " + args + " 2>" + errf.string();
  Result r;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096];
  size_t k;
  while ((k = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, k);
  const int st = pclose(p);
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.err = slurp(errf);
  std::filesystem::remove(errf);
  return r;
}

inline nlohmann::json last_json_line(const std::string& out) {
  auto end = out.find_last_not_of('\n');
  auto start = out.rfind('\n', end);
  start = start == std::string::npos ? 0 : start + 1;
  return nlohmann::json::parse(out.substr(start, end - start + 1));
}

}  // namespace cli_test
