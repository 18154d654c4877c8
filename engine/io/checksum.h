// XXH64 (xxHash's 64-bit hash, seed 0 by default): the checksum of checkpoint files. Fast enough
// (several GB/s) to verify a whole checkpoint on every load.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ctx::io {

class Xxh64 {
 public:
  explicit Xxh64(uint64_t seed = 0);
  void update(const void* data, size_t size);
  uint64_t digest() const;

 private:
  uint64_t v_[4];
  uint64_t seed_;
  uint64_t total_ = 0;
  unsigned char buf_[32];
  size_t buffered_ = 0;
};

uint64_t xxh64(const void* data, size_t size, uint64_t seed = 0);

}  // namespace ctx::io
