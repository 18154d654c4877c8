// Multi-threaded tokenizer timing: workers pull chunk indices from an atomic counter, so uneven
// chunks balance out; the first exception in a worker is rethrown after all have joined.
#include "io/tokenizer_bench.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>
#include <thread>

#include "io/tokenizer_files.h"

namespace ctx::io {

std::vector<std::string_view> split_into_chunks(std::string_view text, size_t chunk_bytes) {
  std::vector<std::string_view> chunks;
  chunk_bytes = std::max<size_t>(chunk_bytes, 1);
  size_t start = 0;
  while (start < text.size()) {
    size_t end = std::min(start + chunk_bytes, text.size());
    if (end < text.size()) {
      const size_t newline = text.find('\n', end);
      end = newline == std::string_view::npos ? text.size() : newline + 1;
    }
    chunks.push_back(text.substr(start, end - start));
    start = end;
  }
  return chunks;
}

TokenizeBenchResult bench_tokenizer_text(const data::Tokenizer& tokenizer, std::string_view text,
                                         int threads, size_t chunk_bytes) {
  const auto chunks = split_into_chunks(text, chunk_bytes);
  TokenizeBenchResult r;
  r.bytes = static_cast<int64_t>(text.size());
  r.chunks = static_cast<int64_t>(chunks.size());
  r.threads = std::max(1, threads);
  std::atomic<size_t> next{0};
  std::atomic<int64_t> tokens{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    int64_t mine = 0;
    try {
      for (size_t i; (i = next.fetch_add(1)) < chunks.size();) {
        mine += static_cast<int64_t>(tokenizer.encode(chunks[i], false).size());
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      next = chunks.size();
    }
    tokens += mine;
  };
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 1; t < r.threads; ++t) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
  const auto t1 = std::chrono::steady_clock::now();
  if (error) std::rethrow_exception(error);
  r.tokens = tokens;
  r.seconds = std::chrono::duration<double>(t1 - t0).count();
  r.mb_per_s = r.seconds > 0 ? static_cast<double>(r.bytes) / 1e6 / r.seconds : 0;
  return r;
}

TokenizeBenchResult bench_tokenizer(const data::Tokenizer& tokenizer, const std::string& text_path,
                                    int threads, size_t chunk_bytes) {
  const std::string text = read_tokenizer_file(text_path);
  return bench_tokenizer_text(tokenizer, text, threads, chunk_bytes);
}

}  // namespace ctx::io
