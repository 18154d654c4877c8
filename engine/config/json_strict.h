// Strict JSON for files users and tools hand us (run configs, config.json, tokenizer.json,
// safetensors headers): duplicate keys, numbers that overflow a double and absurd nesting are
// errors, and every error is one line naming what was read. Header-only so that every layer can use
// it without linking anything.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config/input_error.h"

namespace ctx {

// "WHAT: line 3, column 14: duplicate key 'seed'" and the like. WHAT is the file (or a label).
struct JsonError : InputError {
  using InputError::InputError;
};

// A key or name from user input as a message may show it: control characters escaped (\n, \t,
// \xHH), so that the message stays on one line whatever the file held.
inline std::string printable(std::string_view text) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

namespace json_detail {

// nlohmann's messages start with "[json.exception.parse_error.101] parse error at line 1, column 2:
// ..."; keep what a user can act on.
inline std::string clean_message(std::string msg) {
  if (!msg.empty() && msg[0] == '[') {
    if (auto close = msg.find("] "); close != std::string::npos) msg = msg.substr(close + 2);
  }
  for (const char* prefix : {"parse error at ", "parse error: "}) {
    if (msg.rfind(prefix, 0) == 0) msg = msg.substr(std::string(prefix).size());
  }
  if (auto nl = msg.find('\n'); nl != std::string::npos) msg = msg.substr(0, nl);
  if (msg.size() > 200) msg = msg.substr(0, 200) + "...";
  return msg;
}

}  // namespace json_detail

// Parses `text` strictly. `what` names the source in errors. `max_depth` bounds nesting.
inline nlohmann::json parse_json_strict(std::string_view text, const std::string& what,
                                        int max_depth = 64) {
  using Event = nlohmann::json::parse_event_t;
  std::vector<std::set<std::string>> keys;
  std::string problem;
  auto callback = [&](int depth, Event event, nlohmann::json& parsed) {
    if (!problem.empty()) return false;
    if (depth > max_depth) {
      problem = "nested deeper than " + std::to_string(max_depth) + " levels";
      return false;
    }
    if (event == Event::object_start) {
      keys.emplace_back();
    } else if (event == Event::object_end) {
      if (!keys.empty()) keys.pop_back();
    } else if (event == Event::key) {
      const auto& k = parsed.get_ref<const std::string&>();
      if (!keys.empty() && !keys.back().insert(k).second)
        problem = "duplicate key '" + printable(k) + "'";
    }
    return true;
  };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/true);
  } catch (const nlohmann::json::exception& e) {
    if (problem.empty())
      throw JsonError(what + ": not valid JSON: " + json_detail::clean_message(e.what()));
  }
  if (!problem.empty()) throw JsonError(what + ": not valid JSON: " + problem);
  return j;
}

}  // namespace ctx
