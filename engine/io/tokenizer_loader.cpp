// Finds the tokenizer files of a folder or file path and hands them to the right loader. Files
// other than *.json / *.model are told apart by their first byte ('{' is JSON).
#include "io/tokenizer_loader.h"

#include <sys/stat.h>

#include <fstream>

#include "io/sentencepiece_tokenizer.h"
#include "io/tokenizer_json.h"

namespace ctx::io {

namespace {

bool is_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string parent_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string join(const std::string& dir, const char* name) {
  return (!dir.empty() && dir.back() == '/') ? dir + name : dir + "/" + name;
}

bool ends_with(const std::string& s, const char* suffix) {
  const std::string tail(suffix);
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Whether the file's first non-blank byte opens a JSON object.
bool looks_like_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char c = 0;
  while (in.get(c)) {
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') return c == '{';
  }
  return false;
}

std::shared_ptr<const data::Tokenizer> load_file(const std::string& path) {
  const std::string config = join(parent_of(path), "tokenizer_config.json");
  if (ends_with(path, ".model")) return load_sentencepiece(path, config);
  if (ends_with(path, ".json") || looks_like_json(path)) return load_tokenizer_json(path, config);
  return load_sentencepiece(path, config);
}

}  // namespace

std::shared_ptr<const data::Tokenizer> load_tokenizer(const std::string& path) {
  if (is_dir(path)) {
    const std::string config = join(path, "tokenizer_config.json");
    if (const std::string json = join(path, "tokenizer.json"); is_file(json)) {
      return load_tokenizer_json(json, config);
    }
    if (const std::string model = join(path, "tokenizer.model"); is_file(model)) {
      return load_sentencepiece(model, config);
    }
    throw TokenizerError(path + ": no tokenizer.json or tokenizer.model in this folder");
  }
  if (is_file(path)) return load_file(path);
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) throw TokenizerError(path + ": not a regular file or folder");
  throw TokenizerError(path + ": no such file or folder");
}

}  // namespace ctx::io
