// Atomic whole-file writes with POSIX open/write/fsync/rename; errors name the file and errno.
#include "io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace ctx::io {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& doing, int err) {
  throw FileWriteError(path + ": cannot " + doing + ": " + std::strerror(err));
}

// Closes the descriptor and removes the temporary file unless committed.
struct TempFile {
  std::string path;
  int fd = -1;
  bool committed = false;
  ~TempFile() {
    if (fd >= 0) ::close(fd);
    if (!committed) ::unlink(path.c_str());
  }
};

void write_all(int fd, const void* bytes, size_t n, const std::string& path) {
  const auto* p = static_cast<const char*>(bytes);
  while (n > 0) {
    const size_t chunk = n < (size_t{1} << 30) ? n : (size_t{1} << 30);
    const ssize_t w = ::write(fd, p, chunk);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail(path, "write", errno);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

}  // namespace

void write_file_atomic(
    const std::string& path,
    const std::function<void(const std::function<void(const void*, size_t)>&)>& fill) {
  TempFile tmp;
  tmp.path = path + ".tmp";
  tmp.fd = ::open(tmp.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (tmp.fd < 0) fail(tmp.path, "create", errno);
  fill([&](const void* bytes, size_t n) { write_all(tmp.fd, bytes, n, tmp.path); });
  if (::fsync(tmp.fd) != 0) fail(tmp.path, "flush", errno);
  const int fd = tmp.fd;
  tmp.fd = -1;
  if (::close(fd) != 0) fail(tmp.path, "close", errno);
  if (std::rename(tmp.path.c_str(), path.c_str()) != 0)
    fail(path, "rename the temporary file", errno);
  tmp.committed = true;
}

void write_text_atomic(const std::string& path, std::string_view text) {
  write_file_atomic(path, [&](const auto& write) { write(text.data(), text.size()); });
}

}  // namespace ctx::io
