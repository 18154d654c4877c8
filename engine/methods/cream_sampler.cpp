// CREAM (Wu et al., METHODS.md §3): head / Gaussian-placed middle / tail pieces of a seq_len (= N)
// example with ids spread over the target window [0, k·N), as src/train.py::CREAM builds them.
//
// Code differences made options: the continuity/relativity coin is drawn once per 3000-example
// `datasets.map` batch in the code; here per example (default, what METHODS.md takes as the intent)
// or per batch (`coin: per_batch`: once per training (micro-)batch, the closest deterministic
// equivalent). Documents are the code's pre-tokenized samples, read with one extra token that is
// only a target: a document of len tokens gives len-1 inputs.
#include <algorithm>
#include <cmath>

#include "methods/registry.h"
#include "config/run_config.h"

namespace ctx {
namespace {

std::string check(const nlohmann::json& p, int64_t seq, int64_t max_positions,
                  const std::string& position) {
  const int64_t k = p["factor"].get<int64_t>();
  const std::string layouts = p["layouts"];
  if (layouts != "relativity" && seq < 3)
    return "layouts: the continuity layout needs seq_len >= 3 (got " + std::to_string(seq) + ")";
  const int64_t rel = p["relativity_head"].get<int64_t>() * k;
  if (layouts != "continuity" && seq - 2 * rel < 1)
    return "relativity_head: head and tail of relativity_head*factor = " + std::to_string(rel) +
           " tokens each leave no middle in seq_len " + std::to_string(seq);
  if (!(p["sigma"].get<double>() > 0)) return "sigma: must be > 0";
  if (position == "learned" && k * seq > max_positions)
    return "factor: ids reach factor*seq_len-1 = " + std::to_string(k * seq - 1) +
           ", outside the learned position table (model.max_positions " +
           std::to_string(max_positions) + ")";
  return "";
}

class CreamSampler : public PositionSampler {
 public:
  CreamSampler(const nlohmann::json& p, const SamplerContext& ctx)
      : docs_(ctx.docs),
        n_(ctx.seq_len),
        k_(p["factor"].get<int64_t>()),
        rel_(p["relativity_head"].get<int64_t>() * k_),
        per_batch_(p["coin"] == "per_batch"),
        layouts_(p["layouts"]),
        mask_boundaries_(p["mask_boundary_labels"].get<bool>()) {
    const std::string trunc = p["doc_truncate"];
    limit_ = trunc == "seq_len" ? n_ + 1 : trunc == "target" ? k_ * n_ + 1 : INT64_MAX;
    size_t longest = 0;
    for (size_t i = 0; i < docs_->size(); ++i) {
      const size_t len = (*docs_)[i].tokens.size();
      longest = std::max(longest, len);
      if (static_cast<int64_t>(len) >= n_ + 1) eligible_.push_back(i);
    }
    if (eligible_.empty())
      throw ConfigError("train.positions: cream needs training documents of at least seq_len+1 = " +
                        std::to_string(n_ + 1) + " tokens (the longest has " +
                        std::to_string(longest) + ")");
    // Inverse-CDF grid of the scale r: 1000 points in [2, 2k], Phi((x - mu) / sigma), mu = 1 + k.
    const double mu = 1.0 + static_cast<double>(k_), sigma = p["sigma"].get<double>();
    for (int j = 0; j < kGrid; ++j) {
      const double x = 2.0 + (2.0 * static_cast<double>(k_) - 2.0) * j / (kGrid - 1);
      grid_x_.push_back(x);
      grid_f_.push_back(0.5 * (1.0 + std::erf((x - mu) / (sigma * std::sqrt(2.0)))));
    }
  }

  void begin_batch(Rng& rng) override {
    if (per_batch_) batch_layout_ = static_cast<int>(rng.below(2));
  }

  data::Example sample(Rng& rng) override {
    int layout = layouts_ == "continuity" ? 0 : layouts_ == "relativity" ? 1 : batch_layout_;
    if (layouts_ == "both" && !per_batch_) layout = static_cast<int>(rng.below(2));
    const int64_t h = layout == 0 ? n_ / 3 : rel_, tail = h, m = n_ - h - tail;
    const size_t d = eligible_[rng.below(eligible_.size())];
    const auto& doc = (*docs_)[d].tokens;
    const int64_t len = std::min<int64_t>(static_cast<int64_t>(doc.size()), limit_) - 1;  // inputs
    const int64_t r = scale(rng.uniform());
    const int64_t e = rng.between(h + (m - 1) * r / 2, r * n_ / 2 - tail - 1);  // middle's last id
    std::vector<int64_t> idx;
    std::vector<double> pos;
    idx.reserve(static_cast<size_t>(n_));
    for (int64_t i = 0; i < h; ++i) {
      idx.push_back(i);
      pos.push_back(static_cast<double>(i));
    }
    const int64_t mid_text = e < len ? e - m + 1 : len - tail - m;  // first document index
    for (int64_t i = 0; i < m; ++i) {
      idx.push_back(mid_text + i);
      pos.push_back(static_cast<double>(e - m + 1 + i));
    }
    for (int64_t i = 0; i < tail; ++i) {
      idx.push_back(len - tail + i);
      pos.push_back(static_cast<double>(k_ * n_ - tail + i));
    }
    auto ex = gather_example(doc, idx, pos, mask_boundaries_);
    ex.info = {{"layout", static_cast<double>(layout)},
               {"r", static_cast<double>(r)},
               {"e", static_cast<double>(e)},
               {"doc", static_cast<double>(d)}};
    return ex;
  }

 private:
  static constexpr int kGrid = 1000;

  // np.interp(u, F, x) cast to int: u outside [F_0, F_last] clamps to the grid's ends.
  int64_t scale(double u) const {
    double x;
    if (u <= grid_f_.front()) {
      x = grid_x_.front();
    } else if (u >= grid_f_.back()) {
      x = grid_x_.back();
    } else {
      const auto j = static_cast<size_t>(std::upper_bound(grid_f_.begin(), grid_f_.end(), u) -
                                         grid_f_.begin() - 1);
      const double df = grid_f_[j + 1] - grid_f_[j];
      x = df > 0 ? grid_x_[j] + (u - grid_f_[j]) * (grid_x_[j + 1] - grid_x_[j]) / df : grid_x_[j];
    }
    return std::clamp<int64_t>(static_cast<int64_t>(std::floor(x)), 2, 2 * k_);
  }

  const std::vector<data::Document>* docs_;
  int64_t n_, k_, rel_, limit_ = 0;
  bool per_batch_;
  std::string layouts_;
  bool mask_boundaries_;
  int batch_layout_ = 0;
  std::vector<size_t> eligible_;  // documents with at least seq_len+1 tokens
  std::vector<double> grid_x_, grid_f_;
};

}  // namespace

MethodInfo sampler_cream_info() {
  MethodInfo m;
  m.kind = MethodKind::Sampler;
  m.name = "cream";
  m.doc =
      "CREAM (Wu et al.): head, Gaussian-placed middle and tail with ids in [0, factor*seq_len); "
      "continuity/relativity layouts; pair with rope_scaling linear factor k.";
  m.params = {
      {"factor",
       ParamType::Int,
       4,
       1,
       1e6,
       {},
       "k: target window k*seq_len (paper: 8 for 4K->32K; 4 suits small models)"},
      {"sigma",
       ParamType::Float,
       3.0,
       0.0,
       1e6,
       {},
       "std of the Gaussian over the scale r in [2, 2k]"},
      {"coin",
       ParamType::Choice,
       "per_example",
       -INFINITY,
       INFINITY,
       {"per_example", "per_batch"},
       "how often the continuity/relativity coin is drawn (code: once per 3000 examples)"},
      {"layouts",
       ParamType::Choice,
       "both",
       -INFINITY,
       INFINITY,
       {"both", "continuity", "relativity"},
       "both = fair coin (CREAM); one name = that layout only (ablation)"},
      {"relativity_head",
       ParamType::Int,
       4,
       1,
       1e6,
       {},
       "relativity layout head = tail = relativity_head*k tokens (code: 4k)"},
      {"doc_truncate",
       ParamType::Choice,
       "none",
       -INFINITY,
       INFINITY,
       {"none", "seq_len", "target"},
       "read documents as they are (code), cut to seq_len+1 tokens (the paper's ~N-token samples) "
       "or to k*seq_len+1 tokens (text at its true offsets)"},
      {"mask_boundary_labels",
       ParamType::Bool,
       true,
       -INFINITY,
       INFINITY,
       {},
       "do not score a piece's last token when the next piece's text does not continue it (the "
       "target is always the true next document token)"},
  };
  bind_checked_sampler<CreamSampler>(m, check);
  return m;
}

}  // namespace ctx
