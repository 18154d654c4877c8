// The C++ runtime the engine binds to, where a LibTorch build can get it wrong: PyTorch's wheels
// export copies of libstdc++ symbols from libtorch.so, and their std::filesystem::remove_all
// crashed on any non-empty folder on the GPU machine (whatever the link order). The engine and the
// suites that link LibTorch remove folder trees with ctx::remove_tree (store/file_tree.h), which
// this suite checks with LibTorch loaded, as the engine runs.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <torch/types.h>

#include <filesystem>
#include <fstream>

#include "store/file_tree.h"

namespace fs = std::filesystem;

TEST(Toolchain, RemoveTreeClearsANonEmptyFolderTreeWithLibTorchLoaded) {
  const auto root = fs::path(CTXLAB_TEST_TMP) / "toolchain" / "tree";
  ctx::remove_tree(root);
  fs::create_directories(root / "a" / "b");
  std::ofstream(root / "a" / "b" / "f.txt") << "x";
  std::ofstream(root / "g.txt") << "y";
  fs::create_symlink(root / "a", root / "link");          // removed, not followed
  EXPECT_EQ(torch::ones({2}).sum().item<float>(), 2.0f);  // LibTorch is loaded and used
  std::error_code ec;
  EXPECT_EQ(ctx::remove_tree(root, ec), 6u) << ec.message();  // tree, a, b, f.txt, g.txt, link
  EXPECT_FALSE(ec);
  EXPECT_FALSE(fs::exists(root));
  EXPECT_EQ(ctx::remove_tree(root, ec), 0u);  // gone: nothing to do, no error
  EXPECT_FALSE(ec);
  // A single file, and a link whose target stays.
  std::ofstream(fs::path(CTXLAB_TEST_TMP) / "toolchain" / "kept.txt") << "k";
  fs::create_symlink(fs::path(CTXLAB_TEST_TMP) / "toolchain" / "kept.txt", root.string() + ".lnk");
  EXPECT_EQ(ctx::remove_tree(root.string() + ".lnk"), 1u);
  EXPECT_TRUE(fs::exists(fs::path(CTXLAB_TEST_TMP) / "toolchain" / "kept.txt"));
  EXPECT_EQ(ctx::remove_tree(fs::path(CTXLAB_TEST_TMP) / "toolchain" / "kept.txt"), 1u);
}

TEST(Toolchain, RemoveTreeReportsWhatItCouldNotRemove) {
  if (geteuid() == 0) GTEST_SKIP() << "root ignores folder permissions";
  const auto root = fs::path(CTXLAB_TEST_TMP) / "toolchain" / "locked";
  std::error_code ignored;
  fs::permissions(root / "inner", fs::perms::owner_all, fs::perm_options::add,
                  ignored);  // a previous run's
  ctx::remove_tree(root, ignored);
  fs::create_directories(root / "inner");
  std::ofstream(root / "inner" / "f.txt") << "x";
  fs::permissions(root / "inner", fs::perms::owner_write, fs::perm_options::remove);
  std::error_code ec;
  ctx::remove_tree(root, ec);
  EXPECT_TRUE(ec);
  EXPECT_TRUE(fs::exists(root / "inner" / "f.txt"));
  EXPECT_THROW(ctx::remove_tree(root), fs::filesystem_error);
  fs::permissions(root / "inner", fs::perms::owner_write, fs::perm_options::add);
  EXPECT_GE(ctx::remove_tree(root), 3u);
  EXPECT_FALSE(fs::exists(root));
}
