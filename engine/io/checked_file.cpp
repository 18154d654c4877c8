// Checked files: the trailer written after the payload, and verified before anything is parsed.
#include "io/checked_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "io/atomic_file.h"
#include "io/checksum.h"

namespace ctx::io {
namespace {

constexpr char kMagic[8] = {'C', 'T', 'X', 'L', 'S', 'U', 'M', '1'};

void put_u64(unsigned char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}

uint64_t get_u64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Closes on scope exit.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

void write_checked_file(
    const std::string& path,
    const std::function<void(const std::function<void(const void*, size_t)>&)>& fill) {
  write_file_atomic(path, [&](const auto& write) {
    Xxh64 hash;
    uint64_t length = 0;
    fill([&](const void* bytes, size_t n) {
      hash.update(bytes, n);
      length += n;
      write(bytes, n);
    });
    unsigned char trailer[kChecksumTrailerSize];
    std::memcpy(trailer, kMagic, 8);
    put_u64(trailer + 8, length);
    put_u64(trailer + 16, hash.digest());
    write(trailer, sizeof trailer);
  });
}

CheckedRead read_checked_file(const std::string& path, const std::string& what) {
  const std::string name = what + " '" + path + "'";
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
  if (f.fd < 0) throw CheckedFileError(name + ": cannot open (" + std::strerror(errno) + ")");
  struct stat st {};
  if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode))
    throw CheckedFileError(name + " is not a regular file");
  CheckedRead out;
  out.payload.resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < out.payload.size()) {
    const ssize_t n = ::read(f.fd, &out.payload[done], out.payload.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw CheckedFileError(name + ": cannot read (" + std::strerror(errno) + ")");
    if (n == 0) throw CheckedFileError(name + " shrank while it was read");
    done += static_cast<size_t>(n);
  }
  const size_t size = out.payload.size();
  if (size < kChecksumTrailerSize ||
      std::memcmp(out.payload.data() + size - kChecksumTrailerSize, kMagic, 8) != 0)
    return out;  // no trailer: written before checksums, or its trailer is gone (callers decide)
  const auto* t =
      reinterpret_cast<const unsigned char*>(out.payload.data()) + size - kChecksumTrailerSize;
  const uint64_t length = get_u64(t + 8), expected = get_u64(t + 16);
  if (length != size - kChecksumTrailerSize)
    throw CheckedFileError(name + " is damaged: " + std::to_string(size - kChecksumTrailerSize) +
                           " bytes where its trailer records " + std::to_string(length));
  const uint64_t actual = xxh64(out.payload.data(), length);
  if (actual != expected)
    throw CheckedFileError(name + " is damaged: its checksum does not match its contents");
  out.payload.resize(length);
  out.has_trailer = true;
  return out;
}

}  // namespace ctx::io
