// One .safetensors file, memory-mapped read-only (MAP_PRIVATE) and validated on open; tensors are
// read in place. Assumes POSIX mmap/madvise and that nobody truncates the file while it is mapped.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/safetensors_format.h"

namespace ctx::io {

// Heap bytes at a 64-byte-aligned address (safetensors data offsets need not be aligned).
class AlignedBytes {
 public:
  AlignedBytes() = default;
  explicit AlignedBytes(size_t n);  // uninitialised
  uint8_t* data() { return p_.get(); }
  const uint8_t* data() const { return p_.get(); }
  size_t size() const { return n_; }
  template <class T>
  const T* as() const {
    return reinterpret_cast<const T*>(p_.get());
  }

 private:
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t, Free> p_;
  size_t n_ = 0;
};

class SafetensorsFile {
 public:
  // Opens, maps and validates `path`; throws SafetensorsError naming it.
  explicit SafetensorsFile(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(SafetensorsFile&& other) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&& other) noexcept;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  uint64_t file_size() const { return size_; }
  const SafetensorsHeader& header() const { return header_; }
  const std::vector<TensorInfo>& tensors() const { return header_.tensors; }  // in data order
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }

  const TensorInfo* find(std::string_view name) const;  // nullptr when absent
  const TensorInfo& at(std::string_view name) const;    // throws SafetensorsError when absent

  // The tensor's first byte inside the mapping: valid while this object lives; possibly NOT
  // aligned for its dtype (see aligned() / copy_aligned()). Checks that `t` fits this file.
  const uint8_t* data(const TensorInfo& t) const;
  // Whether data(t) is aligned for t's element type (so it may be read as float*, etc.).
  bool aligned(const TensorInfo& t) const;
  // A 64-byte-aligned copy of the tensor's bytes.
  AlignedBytes copy_aligned(const TensorInfo& t) const;

  // madvise(MADV_DONTNEED) over the pages the tensor touches (rounded outward to whole pages):
  // they leave this process's resident memory; reading them again faults them back in from the
  // file, so releasing a neighbour's shared page is harmless. Returns false if madvise refused.
  bool release(const TensorInfo& t) const;

 private:
  void unmap() noexcept;

  std::string path_;
  uint8_t* map_ = nullptr;
  uint64_t size_ = 0;
  SafetensorsHeader header_;
  std::map<std::string, size_t, std::less<>> index_;  // name -> position in header_.tensors
};

}  // namespace ctx::io
