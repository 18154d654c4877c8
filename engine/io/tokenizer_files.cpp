// File reading and FNV-1a fingerprints for the tokenizer loaders.
#include "io/tokenizer_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "io/tokenizer_error.h"

namespace ctx::io {

std::string read_tokenizer_file(const std::string& path) {
  // Regular files only, of a sane size: a FIFO would block, /dev/zero would never end.
  constexpr off_t kMaxBytes = off_t{1} << 30;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw TokenizerError(path + ": cannot read: " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    throw TokenizerError(path + ": not a regular file");
  if (st.st_size > kMaxBytes) throw TokenizerError(path + ": larger than 1 GiB");
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, &bytes[done], bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw TokenizerError(path + ": cannot read: " + std::strerror(errno));
    if (n == 0) break;  // shrank while read
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

uint64_t fnv1a64(std::string_view bytes, uint64_t state) {
  for (char c : bytes) {
    state ^= static_cast<unsigned char>(c);
    state *= 0x100000001B3ULL;
  }
  return state;
}

std::string hex64(uint64_t value) {
  static const char* kHex = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[i] = kHex[value & 0xF];
    value >>= 4;
  }
  return out;
}

}  // namespace ctx::io
