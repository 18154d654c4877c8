// Replays every committed fuzz input (tests/fuzz/corpus/<target>/) through its target in a plain
// GoogleTest build: the seeds, and every input a fuzzing run once found failing (saved there as
// crash-*), so what was fixed stays fixed without clang or libFuzzer.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "fuzz/fuzz_target.h"

namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void replay(const std::string& target) {
  const auto& all = ctx::fuzz::targets();
  ASSERT_TRUE(all.count(target)) << "no fuzz target '" << target << "' linked in";
  const fs::path dir = fs::path(CTXLAB_FUZZ_CORPUS) / target;
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  std::vector<fs::path> inputs;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) inputs.push_back(e.path());
  std::sort(inputs.begin(), inputs.end());
  ASSERT_FALSE(inputs.empty()) << dir << " holds no inputs";
  for (const auto& p : inputs) {
    const std::string bytes = slurp(p);
    try {
      all.at(target)(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    } catch (const std::exception& e) {
      ADD_FAILURE() << p.filename().string() << ": " << e.what();
    }
  }
}

}  // namespace

TEST(FuzzReplay, Config) {
  replay("config");
}
TEST(FuzzReplay, Corpus) {
  replay("corpus");
}
TEST(FuzzReplay, SafetensorsHeader) {
  replay("safetensors");
}
TEST(FuzzReplay, TokenizerJson) {
  replay("tokenizer_json");
}
TEST(FuzzReplay, HfConfig) {
  replay("hf_config");
}
