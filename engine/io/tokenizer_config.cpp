// tokenizer_config.json reader (strict JSON: duplicate keys and the like are errors).
#include "io/tokenizer_config.h"

#include <sys/stat.h>

#include "config/json_strict.h"
#include "io/json_fields.h"
#include "io/tokenizer_error.h"
#include "io/tokenizer_files.h"

namespace ctx::io {

namespace {

using json_fields::Where;

// "<s>", {"content": "<s>", ...} or null.
std::optional<std::string> token_name(const nlohmann::json& j, const char* key,
                                      const Where& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) return json_fields::string_of(*it, "content", Where{where.file, key});
  json_fields::fail(where, std::string("'") + key + "' must be a string or {\"content\": ...}");
}

}  // namespace

TokenizerConfig read_tokenizer_config(const std::string& path) {
  TokenizerConfig config;
  struct stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return config;
  config.present = true;
  config.bytes = read_tokenizer_file(path);
  nlohmann::json j;
  try {
    j = parse_json_strict(config.bytes, path);
  } catch (const JsonError& e) {
    throw TokenizerError(e.what());
  }
  const Where where{path, ""};
  if (!j.is_object()) json_fields::fail(where, "expected a JSON object");
  config.bos_token = token_name(j, "bos_token", where);
  config.eos_token = token_name(j, "eos_token", where);
  config.add_bos_token = json_fields::optional_bool(j, "add_bos_token", true, where);
  config.add_eos_token = json_fields::optional_bool(j, "add_eos_token", false, where);
  return config;
}

}  // namespace ctx::io
