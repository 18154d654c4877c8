// Files written all-or-nothing: into `path.tmp`, flushed to disk, then renamed over `path`, so a
// reader never sees half a file and a crash leaves the old file (POSIX rename semantics assumed).
#pragma once

#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "config/input_error.h"

namespace ctx::io {

// A file that could not be written (a full disk, no permission): names the file and the reason.
struct FileWriteError : InputError {
  using InputError::InputError;
};

// Calls `fill(write)` where `write(bytes, n)` appends to `path.tmp`; then fsyncs and renames it to
// `path`. On any failure (including an exception from `fill`) the temporary file is removed and
// the exception propagates; I/O failures throw FileWriteError naming the path and the reason.
void write_file_atomic(
    const std::string& path,
    const std::function<void(const std::function<void(const void*, size_t)>&)>& fill);

// The same for a whole text.
void write_text_atomic(const std::string& path, std::string_view text);

}  // namespace ctx::io
