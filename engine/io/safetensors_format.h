// The safetensors format itself: element types, the tensor table, and a pure, bounds-checked
// parser of a file's header (no I/O, so a fuzzer can drive it). Little-endian files only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config/input_error.h"

namespace ctx::io {

// Every safetensors problem: one line that starts with the file (or label) it concerns.
struct SafetensorsError : InputError {
  using InputError::InputError;
};

enum class Dtype { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

size_t dtype_size(Dtype dtype);                        // bytes per element
const char* dtype_name(Dtype dtype);                   // "F32", as safetensors spells it
std::optional<Dtype> parse_dtype(std::string_view s);  // exact safetensors spelling
std::string known_dtypes();                            // "F64, F32, ..., BOOL" for messages

struct TensorInfo {
  std::string name;
  Dtype dtype = Dtype::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte offsets relative to the start of the data section

  uint64_t nbytes() const { return end - begin; }
  uint64_t numel() const;  // product of shape (1 for a scalar); the parser checked it fits
};

struct SafetensorsHeader {
  std::vector<TensorInfo> tensors;              // sorted by begin offset (the order of the data)
  std::map<std::string, std::string> metadata;  // "__metadata__", e.g. {"format": "pt"}
  uint64_t header_size = 0;                     // N, the JSON's length in bytes
  uint64_t data_offset = 0;                     // 8 + N: where the data section starts
  uint64_t data_size = 0;                       // file size - data_offset
};

// Largest header accepted (the reference implementation's limit).
constexpr uint64_t kMaxSafetensorsHeader = 100'000'000;

// The header length N from the first 8 bytes (`size` of them given out of `file_size`), checked
// against the file size and kMaxSafetensorsHeader. Lets a streaming reader know how much to read.
uint64_t safetensors_header_length(const void* bytes, size_t size, uint64_t file_size,
                                   const std::string& what);

// Parses and validates the header from the first `size` bytes of a file of `file_size` bytes
// (`size` must cover 8 + N bytes, or the whole file when shorter). `what` names the file in errors.
// Checks: length inside the file, UTF-8, strict JSON object, each entry exactly {dtype, shape,
// data_offsets} with known dtype, non-negative shape without overflow, begin <= end <= data size,
// end - begin == numel x element size, no two tensors overlapping, string metadata values.
// Gaps between tensors are allowed. Throws SafetensorsError.
SafetensorsHeader parse_safetensors_header(const void* bytes, size_t size, uint64_t file_size,
                                           const std::string& what);

// numel x element size of `shape`, or nullopt when a dimension is negative or it overflows 64 bits.
std::optional<uint64_t> tensor_nbytes(Dtype dtype, const std::vector<int64_t>& shape);

// Message helpers: "[384, 64]" and a quoted, escaped, length-capped name ('a\nb' -> 'a\x0ab').
std::string shape_string(const std::vector<int64_t>& shape);
std::string quote_name(std::string_view name);

// Whether `s` is well-formed UTF-8; on failure *bad_at (if given) is the offending byte's offset.
bool valid_utf8(std::string_view s, size_t* bad_at = nullptr);

}  // namespace ctx::io
