// WindowSource: uniform windows of consecutive tokens over documents, shared by samplers.
#include "methods/sampler.h"

#include <algorithm>
#include <set>
#include <stdexcept>

namespace ctx {

data::Example window_example(const data::Token* window, int64_t seq, int64_t first_id) {
  data::Example ex;
  ex.tokens.assign(window, window + seq);
  ex.targets.assign(window + 1, window + seq + 1);
  ex.positions.resize(static_cast<size_t>(seq));
  for (int64_t i = 0; i < seq; ++i) ex.positions[static_cast<size_t>(i)] = static_cast<float>(first_id + i);
  ex.loss_mask.assign(static_cast<size_t>(seq), 1);
  return ex;
}

WindowSource::WindowSource(const SamplerContext& ctx, int64_t len, bool force_pack)
    : docs_(ctx.docs), len_(len) {
  const auto& docs = *ctx.docs;
  int64_t total = 0;
  for (size_t i = 0; i < docs.size() && !force_pack; ++i) {
    const auto n = static_cast<int64_t>(docs[i].tokens.size());
    if (n >= len) {
      total += n - len + 1;
      doc_index_.push_back(static_cast<int64_t>(i));
      cumulative_.push_back(total);
    }
  }
  if (doc_index_.empty()) {
    // No document is long enough: pack them, BOS-separated, so short-document corpora still train.
    packed_ = true;
    for (auto& d : docs) {
      stream_.push_back(ctx.separator);
      stream_.insert(stream_.end(), d.tokens.begin(), d.tokens.end());
    }
    while (static_cast<int64_t>(stream_.size()) < len) stream_.insert(stream_.end(), stream_.begin(), stream_.end());
  }
}

std::vector<data::Token> WindowSource::draw(Rng& rng, int64_t* offset) const {
  if (packed_) {
    const int64_t start = rng.between(0, static_cast<int64_t>(stream_.size()) - len_);
    if (offset) *offset = start;
    return {stream_.begin() + start, stream_.begin() + start + len_};
  }
  const int64_t r = static_cast<int64_t>(rng.below(static_cast<uint64_t>(cumulative_.back())));
  const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), r);
  const size_t k = static_cast<size_t>(it - cumulative_.begin());
  const int64_t before = k == 0 ? 0 : cumulative_[k - 1];
  const int64_t start = r - before;
  const auto& toks = (*docs_)[static_cast<size_t>(doc_index_[k])].tokens;
  if (offset) *offset = start;
  return {toks.begin() + start, toks.begin() + start + len_};
}

std::vector<int64_t> sorted_sample(Rng& rng, int64_t k, int64_t n) {
  std::set<int64_t> chosen;
  for (int64_t j = n - k; j < n; ++j) {
    const int64_t t = rng.between(0, j);
    chosen.insert(chosen.count(t) ? j : t);
  }
  return {chosen.begin(), chosen.end()};
}

data::Example gather_example(const std::vector<data::Token>& source,
                             const std::vector<int64_t>& idx, const std::vector<double>& positions,
                             bool mask_boundaries) {
  if (positions.size() != idx.size()) throw std::invalid_argument("gather_example: sizes differ");
  const size_t n = idx.size();
  data::Example ex;
  ex.tokens.resize(n);
  ex.targets.resize(n);
  ex.positions.resize(n);
  ex.loss_mask.assign(n, 1);
  for (size_t i = 0; i < n; ++i) {
    const auto j = static_cast<size_t>(idx[i]);
    if (idx[i] < 0 || j + 1 >= source.size())
      throw std::out_of_range("gather_example: index " + std::to_string(idx[i]) +
                              " has no next token");
    ex.tokens[i] = source[j];
    ex.targets[i] = source[j + 1];
    ex.positions[i] = static_cast<float>(positions[i]);
    if (mask_boundaries && i + 1 < n && idx[i + 1] != idx[i] + 1) ex.loss_mask[i] = 0;
  }
  return ex;
}

}  // namespace ctx
