// The validation split against eval.lengths, in 64-bit arithmetic that cannot overflow: a length
// of INT64_MAX is compared, never incremented.
#include "config/eval_supply.h"

namespace ctx {

void check_eval_supply(const EvalConfig& eval, const std::vector<data::Document>& validation) {
  if (!eval.enabled) return;
  // Packed, the documents are joined with one separator before each: that stream is the most
  // any window can draw from.
  int64_t packed = 0;
  for (const auto& d : validation) packed += static_cast<int64_t>(d.tokens.size()) + 1;
  for (size_t i = 0; i < eval.lengths.size(); ++i) {
    const int64_t L = eval.lengths[i];
    if (L < packed) continue;  // L + 1 <= packed
    throw data::DataError(
        "eval.lengths[" + std::to_string(i) + "]: length " + std::to_string(L) +
        " needs more than the " + std::to_string(packed - static_cast<int64_t>(validation.size())) +
        " tokens the validation split holds (" + std::to_string(validation.size()) +
        (validation.size() == 1 ? " document" : " documents") +
        "): shorten it, raise data.val_fraction or add text");
  }
}

}  // namespace ctx
