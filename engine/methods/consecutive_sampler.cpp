// Consecutive windows, as Shortformer trains: the training documents are joined (BOS between them)
// into one stream; batch row r reads the window right after the one it read at the previous step,
// so a cache of the previous window's states is the text that really came before.
#include <cmath>

#include "methods/registry.h"
#include "config/run_config.h"

namespace ctx {
namespace {

class ConsecutiveSampler : public PositionSampler {
 public:
  explicit ConsecutiveSampler(const SamplerContext& ctx) : seq_(ctx.seq_len) {
    for (const auto& d : *ctx.docs) {
      stream_.push_back(ctx.separator);
      stream_.insert(stream_.end(), d.tokens.begin(), d.tokens.end());
    }
    if (static_cast<int64_t>(stream_.size()) < 2 * (seq_ + 1))
      throw ConfigError("train.positions: consecutive needs at least " + std::to_string(2 * (seq_ + 1)) +
                        " training tokens (the corpus has " + std::to_string(stream_.size()) + ")");
  }
  void set_slot(int64_t row, int64_t tokens_before) override {
    row_ = row;
    before_ = tokens_before;
  }
  data::Example sample(Rng&) override {
    const auto span = static_cast<int64_t>(stream_.size()) - seq_ - 1;
    // Rows start spread over the stream (golden-ratio spacing) and advance by what they consumed.
    const double frac = std::fmod(static_cast<double>(row_) * 0.6180339887498949, 1.0);
    const int64_t start = static_cast<int64_t>(frac * static_cast<double>(span));
    const int64_t off = (start + before_) % span;
    auto ex = window_example(stream_.data() + off, seq_);
    ex.info["offset"] = static_cast<double>(off);
    return ex;
  }

 private:
  int64_t seq_;
  std::vector<data::Token> stream_;
  int64_t row_ = 0, before_ = 0;
};

}  // namespace

MethodInfo sampler_consecutive_info() {
  MethodInfo m;
  m.kind = MethodKind::Sampler;
  m.name = "consecutive";
  m.doc = "Each batch row continues where it stopped last step (unshuffled stream, ids 0..T-1): Shortformer's training order.";
  m.sampler = [](const nlohmann::json&, const SamplerContext& ctx) -> std::unique_ptr<PositionSampler> {
    return std::make_unique<ConsecutiveSampler>(ctx);
  };
  return m;
}

}  // namespace ctx
