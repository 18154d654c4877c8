// The run browser's filter language; see run_filter.h.
#include "widgets/run_filter.h"

#include <QStringList>

#include <algorithm>
#include <cctype>
#include <cmath>

namespace ctx::gui {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool contains(const std::string& hay, const std::string& needle_lower) {
  return lower(hay).find(needle_lower) != std::string::npos;
}

bool parse_number(const std::string& s, double& out) {
  try {
    size_t used = 0;
    out = std::stod(s, &used);
    return used == s.size();
  } catch (...) {
    return false;
  }
}

// A config value compared with typed text: numbers as numbers (so 8 matches 8.0), strings and
// booleans as text; an array matches when any element does.
bool value_equals(const nlohmann::json& v, const std::string& text) {
  if (v.is_array()) return std::any_of(v.begin(), v.end(), [&](const auto& e) { return value_equals(e, text); });
  double num = 0;
  if (v.is_number() && parse_number(text, num)) return std::abs(v.get<double>() - num) <= 1e-12 * std::max(1.0, std::abs(num));
  if (v.is_string()) return lower(v.get<std::string>()) == lower(text);
  if (v.is_boolean()) return (v.get<bool>() ? "true" : "false") == lower(text);
  if (v.is_null()) return lower(text) == "null" || lower(text) == "none";
  return lower(v.dump()) == lower(text);
}

bool value_compare(const nlohmann::json& v, double num, bool less) {
  if (v.is_array()) return std::any_of(v.begin(), v.end(), [&](const auto& e) { return value_compare(e, num, less); });
  if (!v.is_number()) return false;
  return less ? v.get<double>() < num : v.get<double>() > num;
}

}  // namespace

RunFilter parseRunFilter(const QString& text) {
  RunFilter f;
  for (const QString& raw : text.split(' ', Qt::SkipEmptyParts)) {
    const std::string t = raw.toStdString();
    FilterTerm term;
    const auto op = t.find_first_of("=<>");
    const auto colon = t.find(':');
    if (op != std::string::npos && op > 0 && (colon == std::string::npos || op < colon)) {
      term.field = t.substr(0, op);
      term.text = t.substr(op + 1);
      if (t[op] == '=') {
        term.kind = FilterTerm::KeyEq;
      } else if (parse_number(term.text, term.number)) {
        term.kind = t[op] == '<' ? FilterTerm::KeyLess : FilterTerm::KeyGreater;
      } else {
        term.kind = FilterTerm::KeyEq;  // "a<b" with a non-number: nothing sensible but equality
      }
    } else if (colon != std::string::npos && colon > 0) {
      static const char* fields[] = {"name", "method", "status", "tag", "study", "note", "base"};
      const std::string name = lower(t.substr(0, colon));
      if (std::find(std::begin(fields), std::end(fields), name) != std::end(fields)) {
        term.kind = FilterTerm::Field;
        term.field = name;
        term.text = lower(t.substr(colon + 1));
      } else {
        term.text = lower(t);
      }
    } else {
      term.text = lower(t);
    }
    f.terms.push_back(term);
  }
  return f;
}

const nlohmann::json* configAt(const nlohmann::json& config, const std::string& path) {
  const nlohmann::json* cur = &config;
  size_t start = 0;
  while (start <= path.size()) {
    const auto dot = path.find('.', start);
    const std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(key);
    if (it == cur->end()) return nullptr;
    cur = &*it;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return cur;
}

bool runMatches(const RunFilter& f, const store::RunSummary& run, const nlohmann::json& config,
                const std::string& study_name, const std::string& base_model) {
  const auto& r = run.run;
  const std::string status = store::to_string(r.status);
  auto any_tag = [&](const std::string& needle) {
    return std::any_of(run.tags.begin(), run.tags.end(), [&](const auto& t) { return contains(t, needle); });
  };
  for (const auto& t : f.terms) {
    bool ok = false;
    switch (t.kind) {
      case FilterTerm::Word:
        ok = contains(r.name, t.text) || contains(r.method, t.text) || contains(status, t.text) || any_tag(t.text) ||
             contains(run.note, t.text) || contains(study_name, t.text) || contains(base_model, t.text) ||
             std::to_string(r.id) == t.text;
        break;
      case FilterTerm::Field:
        if (t.field == "name") ok = contains(r.name, t.text);
        if (t.field == "method") ok = contains(r.method, t.text);
        if (t.field == "status") ok = contains(status, t.text);
        if (t.field == "tag") ok = any_tag(t.text);
        if (t.field == "study") ok = contains(study_name, t.text);
        if (t.field == "note") ok = contains(run.note, t.text);
        if (t.field == "base") ok = contains(base_model, t.text);
        break;
      case FilterTerm::KeyEq:
      case FilterTerm::KeyLess:
      case FilterTerm::KeyGreater: {
        const auto* v = configAt(config, t.field);
        if (v) ok = t.kind == FilterTerm::KeyEq ? value_equals(*v, t.text) : value_compare(*v, t.number, t.kind == FilterTerm::KeyLess);
        break;
      }
    }
    if (!ok) return false;
  }
  return true;
}

}  // namespace ctx::gui
