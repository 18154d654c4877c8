// The C++ runtime the engine binds to, where a LibTorch build can get it wrong: PyTorch's wheels
// export copies of libstdc++ symbols from libtorch.so, and one of them
// (std::filesystem::remove_all) crashed on any non-empty folder when the program found it before
// libstdc++'s own (cmake/Dependencies.cmake names libstdc++ first). This suite links LibTorch as
// the engine does.
#include <gtest/gtest.h>
#include <torch/types.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

TEST(Toolchain, RemoveAllClearsANonEmptyFolderTree) {
  const auto root = fs::path(CTXLAB_TEST_TMP) / "toolchain" / "tree";
  fs::create_directories(root / "a" / "b");
  std::ofstream(root / "a" / "b" / "f.txt") << "x";
  std::ofstream(root / "g.txt") << "y";
  EXPECT_EQ(torch::ones({2}).sum().item<float>(), 2.0f);  // LibTorch is loaded and used
  std::error_code ec;
  EXPECT_EQ(fs::remove_all(root, ec), 5u) << ec.message();  // tree, a, b, f.txt and g.txt
  EXPECT_FALSE(fs::exists(root));
}
