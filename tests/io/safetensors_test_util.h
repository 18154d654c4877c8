// Helpers shared by the safetensors and config.json tests: a fresh folder per test, fixture paths,
// raw files, and hand-made safetensors bytes (header text + data) for malformed cases.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace st_test {

namespace fs = std::filesystem;

// A fresh folder per test, so tests can run in any order or in parallel (ctest -j).
inline fs::path fresh_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const fs::path dir = fs::path(CTXLAB_TEST_TMP) / "io" /
                       (std::string(info->test_suite_name()) + "." + info->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

inline std::string model_dir(const std::string& name) {
  return std::string(CTXLAB_FIXTURES) + "/hf/models/" + name;
}

inline std::string write_file(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
  return path.string();
}

inline std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline std::string le64(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return s;
}

// A safetensors file: length, `header` verbatim, then `data_bytes` bytes counting 0, 1, 2, ...
inline std::string st_bytes(const std::string& header, size_t data_bytes) {
  std::string s = le64(header.size()) + header;
  for (size_t i = 0; i < data_bytes; ++i) s.push_back(static_cast<char>(i & 0xFF));
  return s;
}

}  // namespace st_test
