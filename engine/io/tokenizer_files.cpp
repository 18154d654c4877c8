// File reading and FNV-1a fingerprints for the tokenizer loaders.
#include "io/tokenizer_files.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "io/tokenizer_error.h"

namespace ctx::io {

std::string read_tokenizer_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw TokenizerError(path + ": cannot read: " + std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw TokenizerError(path + ": cannot read: I/O error");
  return buffer.str();
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
