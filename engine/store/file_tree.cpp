// remove_tree; see file_tree.h.
#include "store/file_tree.h"

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace ctx {
namespace {

// nftw's callback takes no context: the walk of this thread counts here.
thread_local std::uintmax_t t_removed = 0;
thread_local int t_error = 0;

int remove_entry(const char* path, const struct stat*, int type, struct FTW*) {
  const int rc = (type == FTW_DP) ? ::rmdir(path) : ::unlink(path);
  if (rc != 0) {
    t_error = errno;
    return 1;  // stops the walk
  }
  ++t_removed;
  return 0;
}

}  // namespace

std::uintmax_t remove_tree(const std::filesystem::path& path, std::error_code& ec) noexcept {
  ec.clear();
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) ec.assign(errno, std::generic_category());
    return 0;
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlink(path.c_str()) != 0) {
      ec.assign(errno, std::generic_category());
      return 0;
    }
    return 1;
  }
  t_removed = 0;
  t_error = 0;
  // Depth first (contents before their folder), links not followed.
  const int rc = ::nftw(path.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  if (rc != 0)
    ec.assign(t_error != 0 ? t_error : (errno != 0 ? errno : EIO), std::generic_category());
  return t_removed;
}

std::uintmax_t remove_tree(const std::filesystem::path& path) {
  std::error_code ec;
  const auto n = remove_tree(path, ec);
  if (ec) throw std::filesystem::filesystem_error("remove_tree", path, ec);
  return n;
}

}  // namespace ctx
