// Files that carry their own checksum: the payload, then a 24-byte trailer ("CTXLSUM1", the
// payload's length and its XXH64, little-endian), written all-or-nothing (io/atomic_file.h) and
// verified whole on every read, so a truncated or bit-flipped file is named instead of loaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "config/input_error.h"

namespace ctx::io {

// A checked file that is damaged (truncated, a checksum that does not match) or unreadable.
struct CheckedFileError : InputError {
  using InputError::InputError;
};

constexpr size_t kChecksumTrailerSize = 24;

// Calls `fill(write)`; what `write` receives is the payload. Then appends the trailer, fsyncs and
// renames into place. I/O failures (a full disk) throw io::FileWriteError naming the file.
void write_checked_file(
    const std::string& path,
    const std::function<void(const std::function<void(const void*, size_t)>&)>& fill);

struct CheckedRead {
  std::string payload;
  bool has_trailer = false;  // false: a file written before checksums (the whole file is payload)
};

// Reads a regular file whole. With a trailer, verifies length and checksum (CheckedFileError
// naming `what` and the file when they disagree); without one, returns the file as it is.
CheckedRead read_checked_file(const std::string& path, const std::string& what);

}  // namespace ctx::io
