// Member access with one-line errors for the tokenizer files.
#include "io/json_fields.h"

#include "io/tokenizer_error.h"

namespace ctx::io::json_fields {

void fail(const Where& where, const std::string& message) {
  std::string text = where.file + ": ";
  if (!where.context.empty()) text += where.context + ": ";
  throw TokenizerError(text + message);
}

std::string type_of(const Json& j, const Where& where) {
  if (!j.is_object()) fail(where, "expected an object");
  auto it = j.find("type");
  if (it == j.end() || !it->is_string()) fail(where, "missing 'type'");
  return it->get<std::string>();
}

const Json& required(const Json& j, const char* key, const Where& where) {
  if (!j.is_object()) fail(where, "expected an object");
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) fail(where, std::string("missing '") + key + "'");
  return *it;
}

std::string string_of(const Json& j, const char* key, const Where& where) {
  const Json& v = required(j, key, where);
  if (!v.is_string()) fail(where, std::string("'") + key + "' must be a string");
  return v.get<std::string>();
}

std::string optional_string(const Json& j, const char* key, const std::string& fallback,
                            const Where& where) {
  if (!j.is_object()) fail(where, "expected an object");
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_string()) fail(where, std::string("'") + key + "' must be a string");
  return it->get<std::string>();
}

bool optional_bool(const Json& j, const char* key, bool fallback, const Where& where) {
  if (!j.is_object()) fail(where, "expected an object");
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) fail(where, std::string("'") + key + "' must be true or false");
  return it->get<bool>();
}

int64_t optional_count(const Json& j, const char* key, int64_t fallback, const Where& where) {
  if (!j.is_object()) fail(where, "expected an object");
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number_integer() || it->get<int64_t>() < 0) {
    fail(where, std::string("'") + key + "' must be a non-negative integer");
  }
  return it->get<int64_t>();
}

const Json& array_of(const Json& j, const char* key, const Where& where) {
  const Json& v = required(j, key, where);
  if (!v.is_array()) fail(where, std::string("'") + key + "' must be an array");
  return v;
}

}  // namespace ctx::io::json_fields
