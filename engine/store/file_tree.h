// Removing a folder tree (what std::filesystem::remove_all does) without
// std::filesystem::remove_all. PyTorch's wheels export copies of some libstdc++ symbols from
// libtorch.so, and a program linked against such a LibTorch can bind to them; their remove_all
// jumps to address 0 on any non-empty folder (PyTorch 2.11 on the GPU machine, whatever the link
// order of libstdc++). This walks the tree with POSIX nftw and unlink/rmdir instead, so it does not
// depend on which copy is found. Assumes: POSIX; symbolic links are removed, never followed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <system_error>

namespace ctx {

// Removes `path` and, for a folder, everything below it. Returns how many entries were removed
// (0 when `path` does not exist). On failure sets `ec` (the first error) and returns what was
// removed up to then; clears `ec` on success.
std::uintmax_t remove_tree(const std::filesystem::path& path, std::error_code& ec) noexcept;
// The same, throwing std::filesystem::filesystem_error on failure.
std::uintmax_t remove_tree(const std::filesystem::path& path);

}  // namespace ctx
