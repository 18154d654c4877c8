// Fuzz target: the corpus loaders (text file in each split mode, JSONL, a folder of both) and the
// split. The first byte picks the form; the rest is the file's bytes (for a folder, two files cut
// at the first NUL). Bad input must be a DataError (exit 2), and a loaded corpus must split.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "data/corpus.h"
#include "fuzz/fuzz_target.h"

namespace {

namespace fs = std::filesystem;

// A folder of this process's own, emptied for each input.
const fs::path& scratch() {
  static const fs::path dir = [] {
    auto d = fs::temp_directory_path() / ("ctxlab-fuzz-corpus-" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

void put(const fs::path& p, std::string_view bytes) {
  std::ofstream(p, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

CTXLAB_FUZZ_TARGET(corpus) {
  if (size == 0) return;
  const int form = data[0] % 5;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  const fs::path dir = scratch();
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) fs::remove_all(e.path(), ec);

  ctx::data::CorpusOptions opt;
  opt.max_bytes = 1 << 20;
  opt.min_doc_tokens = 1 + data[0] / 5 % 4;
  std::string spec;
  if (form <= 2) {
    static const char* const splits[] = {"file", "blank_lines", "lines"};
    opt.split = splits[form];
    spec = (dir / "corpus.txt").string();
    put(spec, bytes);
  } else if (form == 3) {
    spec = (dir / "corpus.jsonl").string();
    put(spec, bytes);
  } else {
    const size_t cut = std::min(bytes.find('\0'), bytes.size());
    fs::create_directories(dir / "folder" / "sub");
    put(dir / "folder" / "a.txt", bytes.substr(0, cut));
    put(dir / "folder" / "sub" / "b.jsonl", bytes.substr(std::min(cut + 1, bytes.size())));
    opt.split = "blank_lines";
    spec = (dir / "folder").string();
  }
  ctx::data::Corpus corpus;
  try {
    corpus = ctx::data::load_corpus(spec, opt);
  } catch (const ctx::data::DataError&) {
    return;
  }
  CTXLAB_FUZZ_CHECK(!corpus.docs.empty(), "a loaded corpus without documents");
  int64_t tokens = 0;
  for (const auto& d : corpus.docs) {
    CTXLAB_FUZZ_CHECK(static_cast<int64_t>(d.tokens.size()) >= opt.min_doc_tokens,
                      "a document shorter than min_doc_tokens");
    tokens += static_cast<int64_t>(d.tokens.size());
  }
  CTXLAB_FUZZ_CHECK(tokens <= opt.max_bytes, "more tokens than bytes read");
  const auto split = ctx::data::split_by_document(corpus, 0.25, 7);
  int64_t after = 0;
  for (const auto* side : {&split.train, &split.validation})
    for (const auto& d : *side) after += static_cast<int64_t>(d.tokens.size());
  CTXLAB_FUZZ_CHECK(after == tokens, "the split lost or made tokens");
}
