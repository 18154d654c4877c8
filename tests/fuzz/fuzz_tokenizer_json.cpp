// Fuzz target: tokenizer.json (added tokens, normalizers, pre-tokenizers, BPE, post-processor,
// decoders). Bad files must be a TokenizerError (exit 2); a tokenizer that loads must encode and
// decode text without failing, and its ids must stay inside its vocabulary.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "fuzz/fuzz_target.h"
#include "io/tokenizer_json.h"

CTXLAB_FUZZ_TARGET(tokenizer_json) {
  namespace fs = std::filesystem;
  static const std::string path =
      (fs::temp_directory_path() /
       ("ctxlab-fuzz-" + std::to_string(::getpid()) + "-tokenizer.json"))
          .string();
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  std::shared_ptr<const ctx::data::Tokenizer> tok;
  try {
    tok = ctx::io::load_tokenizer_json(path, "");
  } catch (const ctx::io::TokenizerError&) {
    return;
  }
  for (const char* text :
       {"", "Hello world", "  two  spaces\n\nand lines\t", "caf\xc3\xa9 \xe2\x96\x81 123",
        "<s> special </s>", "\xff\xfe not utf-8"}) {
    std::vector<ctx::data::Token> ids;
    try {
      ids = tok->encode(text, true);
    } catch (const ctx::io::TokenizerError&) {
      continue;  // e.g. text the model cannot represent without byte fallback
    }
    for (auto id : ids)
      CTXLAB_FUZZ_CHECK(id >= 0 && id < tok->vocab_size(), "an id outside the vocabulary");
    (void)tok->decode(ids, false);
    for (auto id : ids) (void)tok->token_text(id);
  }
}
