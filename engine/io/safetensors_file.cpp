// SafetensorsFile: open + fstat + mmap(PROT_READ, MAP_PRIVATE), then the pure header parser over
// the mapped bytes. The descriptor is closed right after mapping; the mapping keeps the file.
#include "io/safetensors_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace ctx::io {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw SafetensorsError(path + ": " + problem);
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

uint64_t page_size() {
  static const uint64_t size = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

}  // namespace

AlignedBytes::AlignedBytes(size_t n) : n_(n) {
  const size_t rounded = ((n + 63) / 64) * 64;
  p_.reset(static_cast<uint8_t*>(std::aligned_alloc(64, rounded ? rounded : 64)));
  if (!p_) throw std::bad_alloc();
}

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  Fd f;
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) fail(path, std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail(path, "not a regular file");
  size_ = static_cast<uint64_t>(st.st_size);
  if (size_ < 8) {
    parse_safetensors_header(nullptr, 0, size_, path);  // throws: truncated
  }
  void* m = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, f.fd, 0);
  if (m == MAP_FAILED) fail(path, std::string("cannot map: ") + std::strerror(errno));
  map_ = static_cast<uint8_t*>(m);
  try {
    header_ = parse_safetensors_header(map_, size_, size_, path);
  } catch (...) {
    unmap();
    throw;
  }
  for (size_t i = 0; i < header_.tensors.size(); ++i) index_.emplace(header_.tensors[i].name, i);
}

SafetensorsFile::~SafetensorsFile() {
  unmap();
}

SafetensorsFile::SafetensorsFile(SafetensorsFile&& other) noexcept
    : path_(std::move(other.path_)),
      map_(std::exchange(other.map_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      header_(std::move(other.header_)),
      index_(std::move(other.index_)) {}

SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&& other) noexcept {
  if (this != &other) {
    unmap();
    path_ = std::move(other.path_);
    map_ = std::exchange(other.map_, nullptr);
    size_ = std::exchange(other.size_, 0);
    header_ = std::move(other.header_);
    index_ = std::move(other.index_);
  }
  return *this;
}

void SafetensorsFile::unmap() noexcept {
  if (map_) ::munmap(map_, size_);
  map_ = nullptr;
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &header_.tensors[it->second];
}

const TensorInfo& SafetensorsFile::at(std::string_view name) const {
  if (const TensorInfo* t = find(name)) return *t;
  fail(path_, "no tensor " + quote_name(name));
}

const uint8_t* SafetensorsFile::data(const TensorInfo& t) const {
  if (!map_ || t.begin > t.end || t.end > header_.data_size) {
    fail(path_, "tensor " + quote_name(t.name) + " does not lie inside this file's data");
  }
  return map_ + header_.data_offset + t.begin;
}

bool SafetensorsFile::aligned(const TensorInfo& t) const {
  return reinterpret_cast<uintptr_t>(data(t)) % dtype_size(t.dtype) == 0;
}

AlignedBytes SafetensorsFile::copy_aligned(const TensorInfo& t) const {
  const uint8_t* src = data(t);
  AlignedBytes out(t.nbytes());
  if (t.nbytes()) std::memcpy(out.data(), src, t.nbytes());
  return out;
}

bool SafetensorsFile::release(const TensorInfo& t) const {
  const uint8_t* p = data(t);
  if (t.nbytes() == 0) return true;
  const uint64_t first = static_cast<uint64_t>(p - map_);
  const uint64_t last = first + t.nbytes();  // one past
  const uint64_t begin = first / page_size() * page_size();
  const uint64_t end = std::min<uint64_t>((last + page_size() - 1) / page_size() * page_size(),
                                          (size_ + page_size() - 1) / page_size() * page_size());
  return ::madvise(map_ + begin, end - begin, MADV_DONTNEED) == 0;
}

}  // namespace ctx::io
