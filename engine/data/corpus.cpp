// Corpus loading (text files, folders, JSONL, the built-in generator) and the deterministic split
// by document. Errors are DataError messages that name the path, and the line for JSONL.
#include "data/corpus.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <random>
#include <string_view>
#include <system_error>

#include "data/longrange_corpus.h"
#include "data/rng.h"

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

std::string read_bytes(const fs::path& path, const std::string& display) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError("cannot read '" + display + "'");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw DataError("cannot read '" + display + "'");
  return bytes;
}

void add_document(std::vector<Document>& docs, std::string source, std::string_view text) {
  if (text.empty()) return;  // nothing to learn from; min_doc_tokens <= 0 must not keep these
  docs.push_back({std::move(source), ByteTokenizer::encode(text)});
}

void read_jsonl(const std::string& display, std::string_view bytes, std::vector<Document>& docs) {
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
               std::vector<Document>& docs) {
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
                         std::vector<Document>& docs) {
  const std::string bytes = read_bytes(path, display);
  if (is_jsonl(path)) {
    read_jsonl(display, bytes, docs);
  } else {
    read_text(display, bytes, split, docs);
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

std::vector<Document> load_path(const std::string& spec, const std::string& split) {
  const fs::path root(spec);
  std::error_code ec;
  const fs::file_status st = fs::status(root, ec);
  if (st.type() == fs::file_type::not_found || spec.empty()) {
    throw DataError("corpus '" + spec + "' does not exist");
  }
  if (ec) throw DataError("cannot read '" + spec + "'");
  std::vector<Document> docs;
  if (fs::is_directory(st)) {
    std::vector<fs::path> files;
    collect_files(root, files);
    std::sort(files.begin(), files.end());  // element-wise: a folder's files stay together
    for (const auto& f : files) read_file_documents(f, f.string(), split, docs);
  } else {
    read_file_documents(root, spec, split, docs);
  }
  return docs;
}

}  // namespace

Corpus load_corpus(const std::string& spec, const CorpusOptions& opt) {
  if (opt.split != "file" && opt.split != "blank_lines" && opt.split != "lines") {
    throw DataError("unknown split '" + opt.split + "' (known: file, blank_lines, lines)");
  }
  Corpus corpus;
  corpus.spec = spec;
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
    corpus.docs = generate_longrange(lr);
  } else {
    corpus.docs = load_path(spec, opt.split);
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
