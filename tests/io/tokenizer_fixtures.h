// Shared helpers for the tokenizer tests: fixture paths, cases.json, scratch files.
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace ctx::test {

inline std::string tokenizer_fixture(const std::string& name) {
  return std::string(CTXLAB_FIXTURES) + "/hf/tokenizers/" + name;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline nlohmann::json read_json(const std::string& path) {
  return nlohmann::json::parse(read_text(path));
}

// A scratch path under the build's test-tmp folder.
inline std::string scratch_path(const std::string& name) {
  return std::string(CTXLAB_TEST_TMP) + "/io-" + name;
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

}  // namespace ctx::test
