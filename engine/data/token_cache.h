// Tokenized corpora cached on disk per (corpus, tokenizer): a real tokenizer costs seconds per
// hundred megabytes, so the next run reads the ids back instead. The file carries its key and a
// checksum; a damaged or foreign file is ignored (and rewritten), never trusted.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/corpus.h"

namespace ctx::data {

// 64-bit FNV-1a, as 16 hex digits.
std::string fnv1a64_hex(std::string_view bytes);

// The documents stored under `key` in `path`, or nothing when the file is missing, damaged or made
// for another key.
std::optional<std::vector<Document>> read_token_cache(const std::string& path,
                                                      const std::string& key);
// Writes atomically (a temporary file renamed into place). Failures are ignored: a cache that
// cannot be written only costs time.
void write_token_cache(const std::string& path, const std::string& key,
                       const std::vector<Document>& docs);

}  // namespace ctx::data
