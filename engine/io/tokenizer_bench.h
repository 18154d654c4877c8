// Tokenizer throughput: a text cut into chunks at line ends, encoded by N threads sharing one
// tokenizer (tools/bench_tokenizer.py times Hugging Face `tokenizers` on the same chunks).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "data/tokenizer.h"

namespace ctx::io {

struct TokenizeBenchResult {
  int64_t bytes = 0;   // text encoded
  int64_t tokens = 0;  // ids produced (no special tokens added)
  int64_t chunks = 0;
  int threads = 0;
  double seconds = 0;   // wall time of the encoding alone (the file is read before)
  double mb_per_s = 0;  // bytes / 1e6 / seconds
};

// Consecutive chunks of about `chunk_bytes`, each ending just after a newline (or at the end of
// the text). tools/bench_tokenizer.py cuts the same way.
std::vector<std::string_view> split_into_chunks(std::string_view text, size_t chunk_bytes);

// Encodes the chunks of `text` with `threads` threads taking chunks in turn.
TokenizeBenchResult bench_tokenizer_text(const data::Tokenizer& tokenizer, std::string_view text,
                                         int threads, size_t chunk_bytes = size_t{1} << 20);
// The same on a file (TokenizerError when it cannot be read).
TokenizeBenchResult bench_tokenizer(const data::Tokenizer& tokenizer, const std::string& text_path,
                                    int threads, size_t chunk_bytes = size_t{1} << 20);

}  // namespace ctx::io
