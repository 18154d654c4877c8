// Attention artifact names, index, slices and tile ranges; see attention_data.h.
#include "widgets/attention_data.h"

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

namespace ctx::gui {
namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  size_t a = 0;
  for (size_t b; (b = s.find(sep, a)) != std::string::npos; a = b + 1) parts.push_back(s.substr(a, b - a));
  parts.push_back(s.substr(a));
  return parts;
}

bool parse_int(const std::string& s, int64_t& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  out = std::strtoll(s.c_str(), &end, 10);
  return end && *end == '\0';
}

}  // namespace

std::string attentionName(int64_t length, int layer, const std::string& kind) {
  return "attention/" + std::to_string(length) + "/" + std::to_string(layer) + "/" + kind;
}

std::string distanceEdgesName(int64_t length) { return "attention/" + std::to_string(length) + "/distance_edges"; }

std::string tokensName(int64_t length) { return "attention/" + std::to_string(length) + "/tokens"; }

std::vector<std::string> tokenTexts(const store::Artifact& a) {
  const auto j = nlohmann::json::parse(a.data.begin(), a.data.end(), nullptr, false);
  std::vector<std::string> out;
  if (!j.is_array()) return out;
  out.reserve(j.size());
  for (const auto& t : j) out.push_back(t.is_string() ? t.get<std::string>() : std::string());
  return out;
}

QString tokenSpanText(const std::vector<std::string>& texts, int64_t first, int64_t last, int max_chars) {
  const int64_t n = static_cast<int64_t>(texts.size());
  first = std::max<int64_t>(first, 0);
  last = std::min(last, n);
  QString out;
  for (int64_t t = first; t < last; ++t) {
    const QString s = QString::fromStdString(texts[static_cast<size_t>(t)]);
    for (qsizetype i = 0; i < s.size(); ++i) {
      QString piece(s[i]);
      const char16_t c = s[i].unicode();
      if (s[i].isHighSurrogate() && i + 1 < s.size()) {
        piece += s[++i];  // one character, never cut in half
      } else if (c == '\n') {
        piece = "\\n";
      } else if (c == '\t') {
        piece = "\\t";
      } else if (c == '\r') {
        piece = "\\r";
      } else if (s[i].category() == QChar::Other_Control || c == 0x2028 || c == 0x2029) {
        const auto code = static_cast<uint>(c);
        piece = code < 0x100 ? QString("\\x%1").arg(code, 2, 16, QChar('0')) : QString("\\u%1").arg(code, 4, 16, QChar('0'));
      }
      if (out.size() + piece.size() > max_chars) {
        // Cut at the last word boundary when one is near the end ("There is an important…").
        const qsizetype space = out.lastIndexOf(' ');
        if (space > out.size() / 2) out.truncate(space);
        return out + "…";
      }
      out += piece;
    }
  }
  return out;
}

std::vector<int64_t> AttentionIndex::frames(int layer) const {
  std::set<int64_t> all;
  for (const auto& [key, s] : steps)
    if (key.second == layer) all.insert(s.begin(), s.end());
  return {all.begin(), all.end()};
}

AttentionIndex indexAttention(const std::map<std::string, std::vector<int64_t>>& artifact_steps) {
  AttentionIndex idx;
  for (const auto& [name, steps] : artifact_steps) {
    const auto p = split(name, '/');
    int64_t L = 0, layer = 0;
    if (p.size() != 4 || p[0] != "attention" || !parse_int(p[1], L) || !parse_int(p[2], layer)) continue;
    if (p[3] != "mean" && p[3] != "max") continue;
    idx.lengths.insert(L);
    idx.layers.insert(static_cast<int>(layer));
    auto& s = idx.steps[{L, static_cast<int>(layer)}];
    s.insert(s.end(), steps.begin(), steps.end());
    std::sort(s.begin(), s.end());
    s.erase(std::unique(s.begin(), s.end()), s.end());
  }
  return idx;
}

int64_t stepAtOrBefore(const std::vector<int64_t>& steps, int64_t step) {
  if (steps.empty()) return -1;
  auto it = std::upper_bound(steps.begin(), steps.end(), step);
  return it == steps.begin() ? steps.front() : *std::prev(it);
}

std::pair<int64_t, int64_t> tileRange(int i, int64_t length, int tiles) {
  // Integer arithmetic is floor() for these non-negative values, with no rounding at large L.
  return {static_cast<int64_t>(i) * length / tiles, static_cast<int64_t>(i + 1) * length / tiles};
}

int headCount(const store::Artifact& a) { return a.shape.empty() ? 0 : static_cast<int>(a.shape.front()); }

std::vector<float> headSlice(const store::Artifact& a, int head) {
  const auto v = store::artifact_as_f32(a);
  if (a.shape.size() < 2 || a.shape[0] < 1)
    throw store::StoreError("artifact '" + a.name + "': expected a shape [heads, ...]");
  const int64_t H = a.shape[0];
  const size_t per = v.size() / static_cast<size_t>(H);
  if (per * static_cast<size_t>(H) != v.size()) throw store::StoreError("artifact '" + a.name + "': size does not match its shape");
  if (head >= H) throw store::StoreError("artifact '" + a.name + "': no head " + std::to_string(head));
  if (head >= 0) return {v.begin() + static_cast<std::ptrdiff_t>(per * static_cast<size_t>(head)),
                         v.begin() + static_cast<std::ptrdiff_t>(per * static_cast<size_t>(head + 1))};
  std::vector<double> sum(per, 0.0);
  for (int64_t h = 0; h < H; ++h)
    for (size_t k = 0; k < per; ++k) sum[k] += v[static_cast<size_t>(h) * per + k];
  std::vector<float> out(per);
  for (size_t k = 0; k < per; ++k) out[k] = static_cast<float>(sum[k] / static_cast<double>(H));
  return out;
}

}  // namespace ctx::gui
