// A strict well-formedness check for the XML the report writes (its inline SVG figures): balanced
// and properly nested elements, quoted and unique attributes, only the predefined or numeric
// entities, one root element, no text outside it. Not a validating parser; no DTDs or CDATA.
#pragma once

#include <cctype>
#include <set>
#include <string>
#include <vector>

namespace xml_check {

inline bool name_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}

inline bool name_char(char c) {
  return name_start(c) || std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.';
}

// The entity at s[i] == '&': its length, or 0 when it is not one XML knows.
inline size_t entity_length(const std::string& s, size_t i) {
  const size_t end = s.find(';', i);
  if (end == std::string::npos || end - i > 10) return 0;
  const std::string e = s.substr(i + 1, end - i - 1);
  static const std::set<std::string> named = {"amp", "lt", "gt", "quot", "apos"};
  if (named.count(e)) return end - i + 1;
  if (e.size() > 1 && e[0] == '#') {
    const bool hex = e[1] == 'x';
    for (size_t k = hex ? 2 : 1; k < e.size(); ++k)
      if (!(hex ? std::isxdigit(static_cast<unsigned char>(e[k]))
                : std::isdigit(static_cast<unsigned char>(e[k]))))
        return 0;
    return e.size() > (hex ? 2u : 1u) ? end - i + 1 : 0;
  }
  return 0;
}

// "" when `s` is one well-formed element (comments and an XML declaration may come first),
// else what is wrong and where.
inline std::string error(const std::string& s) {
  std::vector<std::string> open;
  bool root_seen = false, root_done = false;
  size_t i = 0;
  const auto at = [&](size_t p) { return " at byte " + std::to_string(p); };
  const auto skip_space = [&](size_t& j) {
    while (j < s.size() && std::isspace(static_cast<unsigned char>(s[j]))) ++j;
  };
  while (i < s.size()) {
    const char c = s[i];
    if (c == '&') {
      const size_t n = entity_length(s, i);
      if (n == 0) return "bad entity" + at(i);
      if (open.empty()) return "text outside the root" + at(i);
      i += n;
      continue;
    }
    if (c != '<') {
      if (open.empty() && !std::isspace(static_cast<unsigned char>(c)))
        return "text outside the root" + at(i);
      ++i;
      continue;
    }
    if (s.compare(i, 4, "<!--") == 0) {
      const size_t e = s.find("-->", i + 4);
      if (e == std::string::npos) return "unclosed comment" + at(i);
      i = e + 3;
      continue;
    }
    if (s.compare(i, 2, "<?") == 0) {
      const size_t e = s.find("?>", i + 2);
      if (e == std::string::npos || root_seen) return "bad declaration" + at(i);
      i = e + 2;
      continue;
    }
    const bool closing = i + 1 < s.size() && s[i + 1] == '/';
    size_t j = i + (closing ? 2 : 1);
    const size_t n0 = j;
    if (j >= s.size() || !name_start(s[j])) return "bad tag name" + at(i);
    while (j < s.size() && name_char(s[j])) ++j;
    const std::string name = s.substr(n0, j - n0);
    if (closing) {
      skip_space(j);
      if (j >= s.size() || s[j] != '>') return "bad closing tag" + at(i);
      if (open.empty() || open.back() != name)
        return "</" + name + "> closes " + (open.empty() ? "nothing" : "<" + open.back() + ">") +
               at(i);
      open.pop_back();
      if (open.empty()) root_done = true;
      i = j + 1;
      continue;
    }
    if (root_done) return "a second root element" + at(i);
    root_seen = true;
    std::set<std::string> attributes;
    for (;;) {
      const size_t before = j;
      skip_space(j);
      if (j >= s.size()) return "unclosed tag <" + name + ">" + at(i);
      if (s[j] == '/') {
        if (j + 1 >= s.size() || s[j + 1] != '>') return "bad empty tag" + at(j);
        if (open.empty()) root_done = true;
        i = j + 2;
        break;
      }
      if (s[j] == '>') {
        open.push_back(name);
        i = j + 1;
        break;
      }
      if (j == before) return "no space before an attribute" + at(j);
      const size_t a0 = j;
      if (!name_start(s[j])) return "bad attribute name" + at(j);
      while (j < s.size() && name_char(s[j])) ++j;
      const std::string attr = s.substr(a0, j - a0);
      if (!attributes.insert(attr).second) return "attribute " + attr + " twice" + at(a0);
      skip_space(j);
      if (j >= s.size() || s[j] != '=') return "attribute " + attr + " without a value" + at(a0);
      ++j;
      skip_space(j);
      if (j >= s.size() || (s[j] != '"' && s[j] != '\'')) return "unquoted value" + at(j);
      const char q = s[j];
      const size_t v_end = s.find(q, j + 1);
      if (v_end == std::string::npos) return "unclosed value" + at(j);
      for (size_t k = j + 1; k < v_end; ++k) {
        if (s[k] == '<') return "'<' in a value" + at(k);
        if (s[k] == '&' && entity_length(s, k) == 0) return "bad entity in a value" + at(k);
      }
      j = v_end + 1;
    }
  }
  if (!open.empty()) return "unclosed <" + open.back() + ">";
  if (!root_seen) return "no element";
  return "";
}

}  // namespace xml_check
