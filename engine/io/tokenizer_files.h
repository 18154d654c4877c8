// Reading the files that define a tokenizer and fingerprinting them (FNV-1a 64 over their bytes),
// with one-line TokenizerErrors naming the file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ctx::io {

// The whole file; TokenizerError "PATH: cannot read: REASON" when it cannot be read.
std::string read_tokenizer_file(const std::string& path);

// FNV-1a 64 of `bytes`, continuing from `state` (chain calls to hash several files).
uint64_t fnv1a64(std::string_view bytes, uint64_t state = 0xCBF29CE484222325ULL);
// 16 lowercase hex digits.
std::string hex64(uint64_t value);

}  // namespace ctx::io
