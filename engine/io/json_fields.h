// Typed access to the members of tokenizer.json / tokenizer_config.json objects, throwing a
// one-line TokenizerError "FILE: CONTEXT: what is wrong" when a member is missing or mistyped.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace ctx::io::json_fields {

using Json = nlohmann::json;

// Where a member is read: the file (for errors) and the component ("pre_tokenizer 'Split'").
struct Where {
  const std::string& file;
  std::string context;
};

[[noreturn]] void fail(const Where& where, const std::string& message);

// The object's "type" string.
std::string type_of(const Json& j, const Where& where);
// A required member.
const Json& required(const Json& j, const char* key, const Where& where);
// A required string member.
std::string string_of(const Json& j, const char* key, const Where& where);
// An optional string (missing or null: `fallback`).
std::string optional_string(const Json& j, const char* key, const std::string& fallback,
                            const Where& where);
// An optional boolean (missing or null: `fallback`).
bool optional_bool(const Json& j, const char* key, bool fallback, const Where& where);
// An optional non-negative integer (missing or null: `fallback`).
int64_t optional_count(const Json& j, const char* key, int64_t fallback, const Where& where);
// A required array member.
const Json& array_of(const Json& j, const char* key, const Where& where);

}  // namespace ctx::io::json_fields
