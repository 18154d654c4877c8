// Corpora as separate tokenized documents, from a text file, a folder of text files, a JSONL file
// with a "text" field, or the built-in synthetic generator; and the deterministic split by
// document.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/tokenizer.h"
#include "config/input_error.h"

namespace ctx::data {

struct DataError : InputError {
  using InputError::InputError;
};

struct Document {
  std::string source;         // file path (and line for JSONL) or "builtin:longrange#17"
  std::vector<Token> tokens;  // no BOS/EOS: added by whoever windows the document
};

struct Corpus {
  std::string spec;
  std::vector<Document> docs;
  std::vector<std::string> warnings;  // e.g. a file that looks binary
  bool from_cache = false;            // the ids were read from the token cache
  int64_t total_tokens() const;
};

struct CorpusOptions {
  uint64_t seed = 1;
  // How a plain text file is cut into documents: "file" (the whole file is one document),
  // "blank_lines" (paragraph blocks separated by one or more empty lines), or "lines".
  std::string split = "file";
  int64_t min_doc_tokens = 1;  // shorter documents are dropped
  // builtin:longrange knobs (see longrange_corpus.h)
  int64_t builtin_docs = 96;
  int64_t builtin_doc_tokens = 4096;
  double builtin_jitter = 0;
  double builtin_fact_rate = 0.22, builtin_copy_rate = 0.3;
  std::vector<int64_t> builtin_distances;  // empty: LongRangeOptions' default distances
  // The tokenizer; null = the byte tokenizer. Documents are tokenized on all cores.
  std::shared_ptr<const Tokenizer> tokenizer;
  // Where tokenized corpora are cached per (corpus, tokenizer); empty = no cache. The byte
  // tokenizer is never cached (it is a copy).
  std::string cache_dir;
  int64_t max_bytes = int64_t{8} << 30;  // text read at most (a device or a huge file is refused)
};

// `spec` is "builtin:longrange", a path to a .txt (or any text) file, a folder (all regular files,
// recursively, sorted by path, hidden files skipped), or a .jsonl/.ndjson file whose lines are
// objects with a string field "text". Only regular files are read: a FIFO, socket or device is
// refused, and so is more text than max_bytes. Throws DataError naming the path (missing,
// unreadable, empty, a JSONL line without "text", ...). Files that look binary (NUL bytes) are
// read with a warning in Corpus::warnings (skipped inside a folder).
Corpus load_corpus(const std::string& spec, const CorpusOptions& opt = {});

struct Split {
  std::vector<Document> train;
  std::vector<Document> validation;
};

// Deterministic split by document (a document is never cut between the two): shuffle document
// indices with `seed`, put round(val_fraction * n) (at least 1 when n >= 2) into validation.
// With a single document the document is split at its (1 - val_fraction) point instead, and the
// two halves are recorded as separate documents.
Split split_by_document(const Corpus& corpus, double val_fraction, uint64_t seed);

}  // namespace ctx::data
