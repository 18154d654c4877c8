// Corpus loading (text files, folders, JSONL, the built-in generator) and the deterministic split
// by document. Errors are DataError messages that name the path, and the line for JSONL.
#include "data/corpus.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string_view>
#include <system_error>
#include <thread>

#include "data/interrupt.h"
#include "data/longrange_corpus.h"
#include "data/rng.h"
#include "data/token_cache.h"

namespace ctx::data {

namespace fs = std::filesystem;

int64_t Corpus::total_tokens() const {
  int64_t n = 0;
  for (const auto& d : docs) n += static_cast<int64_t>(d.tokens.size());
  return n;
}

namespace {

constexpr std::string_view kBuiltinPrefix = "builtin:";
constexpr std::string_view kLongRange = "builtin:longrange";

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool is_jsonl(const fs::path& p) {
  const std::string name = p.filename().string();
  return ends_with(name, ".jsonl") || ends_with(name, ".ndjson");
}

bool is_blank(std::string_view line) {
  return line.find_first_not_of(" \t\r\v\f") == std::string_view::npos;
}

std::string_view strip_cr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// Calls f(line, line_number) for every line; the newline is not part of the line.
template <typename F>
void for_each_line(std::string_view bytes, F&& f) {
  int64_t number = 1;
  size_t start = 0;
  while (start < bytes.size()) {
    size_t end = bytes.find('\n', start);
    if (end == std::string_view::npos) end = bytes.size();
    f(bytes.substr(start, end - start), number);
    start = end + 1;
    ++number;
  }
}

// A document before tokenization.
struct TextDoc {
  std::string source;
  std::string text;
};

// What reading a corpus path gathers: its documents' text, what identifies the files read (for the
// token cache) and warnings.
struct Gathered {
  std::vector<TextDoc> docs;
  std::string identity;
  std::vector<std::string> warnings;
  int64_t bytes = 0;
};

std::string file_kind(mode_t m) {
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}

// Reads a regular file of at most the bytes left; anything else (a FIFO would block, /dev/zero
// never ends) is refused before it is opened.
std::string read_bytes(const fs::path& path, const std::string& display, Gathered& g,
                       int64_t max_bytes) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw DataError("cannot read '" + display + "'");
  if (!S_ISREG(st.st_mode))
    throw DataError("corpus '" + display + "' is " + file_kind(st.st_mode) +
                    "; only regular files and folders are read");
  if (g.bytes + st.st_size > max_bytes)
    throw DataError("corpus '" + display + "': more than " + std::to_string(max_bytes >> 20) +
                    " MiB of text (the corpus limit)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError("cannot read '" + display + "'");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw DataError("cannot read '" + display + "'");
  g.bytes += static_cast<int64_t>(bytes.size());
  g.identity += display + "|" + std::to_string(st.st_size) + "|" +
                std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "\n";
  return bytes;
}

// Text never holds NUL bytes; a file whose first 64 KiB do is almost surely not a corpus.
bool looks_binary(std::string_view bytes) {
  return bytes.substr(0, 65536).find('\0') != std::string_view::npos;
}

void add_document(std::vector<TextDoc>& docs, std::string source, std::string_view text) {
  if (text.empty()) return;  // nothing to learn from; min_doc_tokens <= 0 must not keep these
  docs.push_back({std::move(source), std::string(text)});
}

void read_jsonl(const std::string& display, std::string_view bytes, std::vector<TextDoc>& docs) {
  // Editors on Windows like to start UTF-8 files with a byte-order mark, which JSON forbids.
  if (bytes.substr(0, 3) == "\xEF\xBB\xBF") bytes.remove_prefix(3);
  for_each_line(bytes, [&](std::string_view line, int64_t number) {
    if (is_blank(line)) return;
    const std::string where = display + ":" + std::to_string(number) + ": ";
    const auto obj = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (obj.is_discarded()) throw DataError(where + "line is not valid JSON");
    if (!obj.is_object()) throw DataError(where + "line is not a JSON object");
    const auto it = obj.find("text");
    if (it == obj.end() || !it->is_string()) throw DataError(where + "no string field \"text\"");
    add_document(docs, display + ":" + std::to_string(number), it->get_ref<const std::string&>());
  });
}

void read_text(const std::string& display, std::string_view bytes, const std::string& split,
               std::vector<TextDoc>& docs) {
  if (split == "file") {
    add_document(docs, display, bytes);
  } else if (split == "lines") {
    for_each_line(bytes, [&](std::string_view line, int64_t number) {
      if (!is_blank(line))
        add_document(docs, display + ":" + std::to_string(number), strip_cr(line));
    });
  } else {  // blank_lines: a paragraph keeps its inner newlines, exactly as in the file
    size_t para_begin = 0, para_end = 0;
    int64_t para_line = 0;
    auto flush = [&] {
      if (para_line > 0) {
        add_document(docs, display + ":" + std::to_string(para_line),
                     strip_cr(bytes.substr(para_begin, para_end - para_begin)));
      }
      para_line = 0;
    };
    for_each_line(bytes, [&](std::string_view line, int64_t number) {
      if (is_blank(line)) {
        flush();
        return;
      }
      const size_t offset = static_cast<size_t>(line.data() - bytes.data());
      if (para_line == 0) {
        para_line = number;
        para_begin = offset;
      }
      para_end = offset + line.size();
    });
    flush();
  }
}

void read_file_documents(const fs::path& path, const std::string& display, const std::string& split,
                         Gathered& g, int64_t max_bytes, bool in_folder) {
  check_stop("reading the corpus");
  const std::string bytes = read_bytes(path, display, g, max_bytes);
  if (looks_binary(bytes)) {
    if (in_folder) {
      g.warnings.push_back("skipped '" + display + "': it looks binary (NUL bytes)");
      return;
    }
    g.warnings.push_back("'" + display + "' looks binary (NUL bytes): is it the corpus you meant?");
  }
  if (is_jsonl(path)) {
    read_jsonl(display, bytes, g.docs);
  } else {
    read_text(display, bytes, split, g.docs);
  }
}

// Own recursion instead of recursive_directory_iterator: hidden folders are pruned before they are
// opened, an unreadable subfolder is named in the error, and directory symlinks are not followed
// (a link back up the tree would loop forever).
void collect_files(const fs::path& dir, std::vector<fs::path>& files) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) throw DataError("cannot read '" + dir.string() + "'");
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) throw DataError("cannot read '" + dir.string() + "'");
    const fs::path& p = it->path();
    if (p.filename().string().rfind('.', 0) == 0) continue;
    std::error_code sec;
    const fs::file_status own = it->symlink_status(sec);
    if (!sec && fs::is_directory(own)) {
      collect_files(p, files);
    } else if (fs::is_regular_file(it->status(sec)) && !sec) {
      files.push_back(p);
    }
  }
  if (ec) throw DataError("cannot read '" + dir.string() + "'");
}

Gathered load_path(const std::string& spec, const std::string& split, int64_t max_bytes) {
  const fs::path root(spec);
  std::error_code ec;
  const fs::file_status st = fs::status(root, ec);
  if (st.type() == fs::file_type::not_found || spec.empty()) {
    throw DataError("corpus '" + spec + "' does not exist");
  }
  if (ec) throw DataError("cannot read '" + spec + "'");
  Gathered g;
  if (fs::is_directory(st)) {
    std::vector<fs::path> files;
    collect_files(root, files);
    std::sort(files.begin(), files.end());  // element-wise: a folder's files stay together
    for (const auto& f : files) read_file_documents(f, f.string(), split, g, max_bytes, true);
  } else {
    read_file_documents(root, spec, split, g, max_bytes, false);
  }
  return g;
}

// Ids of every document, on all cores (each document whole, so ids equal a single encode call).
std::vector<Document> tokenize_all(std::vector<TextDoc>& texts, const Tokenizer& tok) {
  std::vector<Document> docs(texts.size());
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < texts.size();) {
      try {
        check_stop("tokenizing the corpus");
        docs[i].source = std::move(texts[i].source);
        docs[i].tokens = tok.encode(texts[i].text, false);
        std::string().swap(texts[i].text);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
    }
  };
  const size_t threads =
      std::max<size_t>(1, std::min<size_t>(std::thread::hardware_concurrency(), texts.size()));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  return docs;
}

std::vector<TextDoc> as_text_docs(std::vector<Document>&& byte_docs) {
  std::vector<TextDoc> out;
  out.reserve(byte_docs.size());
  for (auto& d : byte_docs) out.push_back({std::move(d.source), ByteTokenizer::decode(d.tokens)});
  return out;
}

}  // namespace

Corpus load_corpus(const std::string& spec, const CorpusOptions& opt) {
  if (opt.split != "file" && opt.split != "blank_lines" && opt.split != "lines") {
    throw DataError("unknown split '" + opt.split + "' (known: file, blank_lines, lines)");
  }
  Corpus corpus;
  corpus.spec = spec;
  const bool bytes = !opt.tokenizer || opt.tokenizer->kind() == "byte";
  Gathered g;
  std::vector<Document> builtin;
  if (spec.rfind(kBuiltinPrefix, 0) == 0) {
    if (spec != kLongRange) {
      throw DataError("unknown built-in corpus '" + spec + "' (known: builtin:longrange)");
    }
    LongRangeOptions lr;
    lr.seed = opt.seed;
    lr.docs = opt.builtin_docs;
    lr.doc_tokens = opt.builtin_doc_tokens;
    lr.jitter = opt.builtin_jitter;
    lr.fact_rate = opt.builtin_fact_rate;
    lr.copy_rate = opt.builtin_copy_rate;
    if (!opt.builtin_distances.empty()) lr.distances = opt.builtin_distances;
    builtin = generate_longrange(lr);
    g.identity =
        nlohmann::json{
            {"seed", lr.seed},          {"docs", lr.docs},           {"doc_tokens", lr.doc_tokens},
            {"jitter", lr.jitter},      {"fact_rate", lr.fact_rate}, {"copy_rate", lr.copy_rate},
            {"distances", lr.distances}}
            .dump();
  } else {
    g = load_path(spec, opt.split, opt.max_bytes);
  }
  corpus.warnings = g.warnings;
  if (bytes) {
    if (!builtin.empty()) {
      corpus.docs = std::move(builtin);
    } else {
      for (auto& t : g.docs)
        corpus.docs.push_back({std::move(t.source), ByteTokenizer::encode(t.text)});
    }
  } else {
    const std::string key = "corpus " + spec + "\nsplit " + opt.split + "\n" + g.identity +
                            "tokenizer " + opt.tokenizer->fingerprint();
    const std::string path =
        opt.cache_dir.empty()
            ? ""
            : (fs::path(opt.cache_dir) / ("corpus-" + fnv1a64_hex(key) + ".tok")).string();
    if (auto cached = path.empty() ? std::nullopt : read_token_cache(path, key)) {
      corpus.docs = std::move(*cached);
      corpus.from_cache = true;
    } else {
      auto texts = builtin.empty() ? std::move(g.docs) : as_text_docs(std::move(builtin));
      corpus.docs = tokenize_all(texts, *opt.tokenizer);
      if (!path.empty()) write_token_cache(path, key, corpus.docs);
    }
  }
  if (corpus.total_tokens() == 0) throw DataError("corpus '" + spec + "' is empty");

  const size_t before = corpus.docs.size();
  auto& docs = corpus.docs;
  docs.erase(std::remove_if(docs.begin(), docs.end(),
                            [&](const Document& d) {
                              return static_cast<int64_t>(d.tokens.size()) < opt.min_doc_tokens;
                            }),
             docs.end());
  if (docs.empty()) {
    throw DataError("corpus '" + spec + "': all " + std::to_string(before) +
                    " documents are shorter than " + std::to_string(opt.min_doc_tokens) +
                    " tokens (min_doc_tokens)");
  }
  return corpus;
}

Split split_by_document(const Corpus& corpus, double val_fraction, uint64_t seed) {
  if (!(val_fraction >= 0.0 && val_fraction <= 1.0)) {
    throw DataError("validation fraction must be in [0, 1], got " + std::to_string(val_fraction));
  }
  Split out;
  const size_t n = corpus.docs.size();
  if (n == 0) return out;
  if (n == 1) {
    const Document& doc = corpus.docs.front();
    const int64_t len = static_cast<int64_t>(doc.tokens.size());
    int64_t cut =
        static_cast<int64_t>(std::llround((1.0 - val_fraction) * static_cast<double>(len)));
    // Both halves non-empty whenever the document can be cut at all.
    if (len >= 2) cut = std::clamp<int64_t>(cut, 1, len - 1);
    cut = std::clamp<int64_t>(cut, 0, len);
    auto mid = doc.tokens.begin() + cut;
    const std::string range_a = "[0:" + std::to_string(cut) + "]";
    const std::string range_b = "[" + std::to_string(cut) + ":" + std::to_string(len) + "]";
    if (cut > 0) out.train.push_back({doc.source + range_a, {doc.tokens.begin(), mid}});
    if (cut < len) out.validation.push_back({doc.source + range_b, {mid, doc.tokens.end()}});
    return out;
  }
  int64_t n_val = std::llround(val_fraction * static_cast<double>(n));
  // At least one document on each side: an empty training or validation set is never useful.
  n_val = std::clamp<int64_t>(n_val, 1, static_cast<int64_t>(n) - 1);

  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::mt19937_64 rng(seed);
  fisher_yates_shuffle(order, rng);
  std::vector<bool> is_val(n, false);
  for (int64_t i = 0; i < n_val; ++i) is_val[order[static_cast<size_t>(i)]] = true;
  // Both sides keep corpus order, so a split reads like the corpus it came from.
  for (size_t i = 0; i < n; ++i) (is_val[i] ? out.validation : out.train).push_back(corpus.docs[i]);
  return out;
}

}  // namespace ctx::data
