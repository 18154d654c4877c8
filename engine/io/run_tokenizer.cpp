// Tokenizers by config, cached per source path (loading a 128k-vocabulary tokenizer.json takes a
// noticeable fraction of a second; verbs and the trainer ask more than once).
#include "io/run_tokenizer.h"

#include <map>
#include <mutex>

#include "io/tokenizer_error.h"
#include "io/tokenizer_loader.h"

namespace ctx::io {

std::shared_ptr<const data::Tokenizer> tokenizer_at(const std::string& source,
                                                    const std::string& key) {
  if (source == "byte") return data::byte_tokenizer();
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const data::Tokenizer>> loaded;
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = loaded.find(source); it != loaded.end()) return it->second;
  try {
    auto tok = load_tokenizer(source);
    loaded.emplace(source, tok);
    return tok;
  } catch (const TokenizerError& e) {
    throw ConfigError(key + ": " + e.what());
  }
}

std::shared_ptr<const data::Tokenizer> tokenizer_for(const RunConfig& c) {
  const std::string key = !c.data.tokenizer.empty() ? "data.tokenizer"
                          : c.init.kind == "hf"     ? "init.hf"
                                                    : "data.tokenizer";
  return tokenizer_at(tokenizer_source(c), key);
}

int64_t model_vocab(const RunConfig& c, const data::Tokenizer& tok) {
  return c.model.vocab_size > 0 ? c.model.vocab_size : tok.vocab_size();
}

data::Token separator_token(const data::Tokenizer& tok) {
  if (tok.bos_id() >= 0) return tok.bos_id();
  if (tok.eos_id() >= 0) return tok.eos_id();
  return data::ByteTokenizer::kBos;
}

}  // namespace ctx::io
