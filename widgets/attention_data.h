// The attention-capture artifacts as the attention tab reads them, as pure functions: names
// ("attention/<L>/<layer>/<kind>"), what a run holds, one head's slice (or the mean over heads),
// tile token ranges, the probe's token texts for hover text, and which stored step stands for a
// step of the playback.
#pragma once

#include <QString>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "store/run_store.h"

namespace ctx::gui {

// kind: "mean" | "max" [H,G,G], "distance" [H,B], "entropy" [H,G], "sink" [H,G].
std::string attentionName(int64_t length, int layer, const std::string& kind);
std::string distanceEdgesName(int64_t length);  // [B+1]
// u8: a JSON array of the display texts of the probe's first L tokens (" the", "\\n").
std::string tokensName(int64_t length);

// The texts of a tokens artifact; empty when it holds no JSON array (entries that are not strings
// become "").
std::vector<std::string> tokenTexts(const store::Artifact& a);
// Tokens [first, last) as one line for hover text: control characters escaped (\n, \t, \r,
// \x07, \u2028), cut to at most `max_chars` characters (at a space in the second half, when
// there is one) plus "…" when longer; empty when the range holds none of the texts.
QString tokenSpanText(const std::vector<std::string>& texts, int64_t first, int64_t last, int max_chars = 24);

// What a run's artifact list holds of attention captures.
struct AttentionIndex {
  std::set<int64_t> lengths;
  std::set<int> layers;
  // (length, layer) -> steps at which its maps ("mean" or "max") were captured, ascending.
  std::map<std::pair<int64_t, int>, std::vector<int64_t>> steps;
  bool empty() const { return lengths.empty(); }
  // Every step captured for `layer` at any length, ascending: the playback's frames.
  std::vector<int64_t> frames(int layer) const;
};
AttentionIndex indexAttention(const std::map<std::string, std::vector<int64_t>>& artifact_steps);

// The stored step shown for playback step `step`: the latest captured at or before it, else the
// first captured (-1 when there are none).
int64_t stepAtOrBefore(const std::vector<int64_t>& steps, int64_t step);

// Token range [first, last) of tile i when L tokens are cut into G tiles.
std::pair<int64_t, int64_t> tileRange(int i, int64_t length, int tiles);

// One head's slice of an f32 [H, ...] artifact (rows*cols values, row-major), or the mean over
// heads when head < 0. Throws store::StoreError when the shape is not [H, ...] or head >= H.
std::vector<float> headSlice(const store::Artifact& a, int head);
int headCount(const store::Artifact& a);

}  // namespace ctx::gui
