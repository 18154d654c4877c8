// PoSE, positional skip-wise training (Zhu et al., METHODS.md §8.8): the seq_len (= Lc) window is
// cut into chunks whose ids are pushed apart by skip biases inside the target window [0, Lt).
//
// chunks = 2 follows the released code: first chunk = the document's first l0 tokens at ids
// 0..l0-1, l0 ~ U{1..floor((Lc+1)/2)}; the second chunk's text starts v ~ U{0..Lx-Lc} tokens later
// than contiguous (its end r = v+Lc ~ U{Lc..Lx}) and its ids start at l0+u, u ~ U{0..Lt-Lc}.
// chunks > 2 follows the paper: a uniform composition of Lc, u_i ~ U{u_(i-1)..Lt-Lc},
// v_i ~ U{v_(i-1)..Lx-Lc}, u_0 = v_0 = 0. Lx = usable document tokens (the document truncated to
// truncate*Lc tokens, as the code does with 5*Lc, plus one token that is only a target).
#include <algorithm>
#include <cmath>
#include <map>

#include "methods/registry.h"
#include "config/run_config.h"

namespace ctx {
namespace {

int64_t target_len(const nlohmann::json& p, int64_t seq) {
  const int64_t given = p["target_len"].get<int64_t>();
  return given > 0 ? given : p["factor"].get<int64_t>() * seq;
}

std::string check(const nlohmann::json& p, int64_t seq, int64_t max_positions,
                  const std::string& position) {
  const int64_t lt = target_len(p, seq);
  const std::string key = p["target_len"].get<int64_t>() > 0 ? "target_len" : "factor";
  if (lt < seq)
    return key + ": the target length " + std::to_string(lt) + " is below seq_len " +
           std::to_string(seq);
  if (p["chunks"].get<int64_t>() > seq)
    return "chunks: " + p["chunks"].dump() + " chunks do not fit in seq_len " + std::to_string(seq);
  if (position == "learned" && lt > max_positions)
    return key + ": ids reach " + std::to_string(lt - 1) +
           ", outside the learned position table (model.max_positions " +
           std::to_string(max_positions) + ")";
  return "";
}

class PoseSampler : public PositionSampler {
 public:
  PoseSampler(const nlohmann::json& p, const SamplerContext& ctx)
      : docs_(ctx.docs),
        seq_(ctx.seq_len),
        target_(target_len(p, ctx.seq_len)),
        chunks_(p["chunks"].get<int64_t>()),
        truncate_(p["truncate"].get<int64_t>()),
        mask_boundaries_(p["mask_boundary_labels"].get<bool>()) {
    size_t longest = 0;
    for (size_t i = 0; i < docs_->size(); ++i) {
      const size_t n = (*docs_)[i].tokens.size();
      longest = std::max(longest, n);
      if (static_cast<int64_t>(n) >= seq_ + 1) eligible_.push_back(i);
    }
    if (eligible_.empty())
      throw ConfigError("train.positions: pose needs training documents of at least seq_len+1 = " +
                        std::to_string(seq_ + 1) + " tokens (the longest has " +
                        std::to_string(longest) + ")");
  }

  data::Example sample(Rng& rng) override {
    const size_t d = eligible_[rng.below(eligible_.size())];
    const auto& doc = (*docs_)[d].tokens;
    int64_t usable = static_cast<int64_t>(doc.size()) - 1;
    if (truncate_ > 0) usable = std::min(usable, truncate_ * seq_);
    // Chunk lengths.
    std::vector<int64_t> len(static_cast<size_t>(chunks_));
    if (chunks_ == 2) {
      len[0] = rng.between(1, (seq_ + 1) / 2);
      len[1] = seq_ - len[0];
    } else {
      const auto cuts = sorted_sample(rng, chunks_ - 1, seq_ - 1);
      int64_t prev = 0;
      for (int64_t i = 0; i < chunks_; ++i) {
        const int64_t end = i + 1 < chunks_ ? cuts[static_cast<size_t>(i)] + 1 : seq_;
        len[static_cast<size_t>(i)] = end - prev;
        prev = end;
      }
    }
    std::vector<int64_t> idx;
    std::vector<double> pos;
    idx.reserve(static_cast<size_t>(seq_));
    std::map<std::string, double> info{{"doc", static_cast<double>(d)}};
    int64_t u = 0, v = 0, st = 0;
    for (int64_t i = 0; i < chunks_; ++i) {
      if (i > 0) {
        u = rng.between(u, target_ - seq_);  // skip bias of the ids
        v = rng.between(v, usable - seq_);   // skip of the text
        info["u" + std::to_string(i)] = static_cast<double>(u);
        info["v" + std::to_string(i)] = static_cast<double>(v);
      }
      info["len" + std::to_string(i)] = static_cast<double>(len[static_cast<size_t>(i)]);
      for (int64_t j = 0; j < len[static_cast<size_t>(i)]; ++j) {
        idx.push_back(v + st + j);
        pos.push_back(static_cast<double>(u + st + j));
      }
      st += len[static_cast<size_t>(i)];
    }
    auto ex = gather_example(doc, idx, pos, mask_boundaries_);
    ex.info = std::move(info);
    return ex;
  }

 private:
  const std::vector<data::Document>* docs_;
  int64_t seq_, target_, chunks_, truncate_;
  bool mask_boundaries_;
  std::vector<size_t> eligible_;  // documents with at least seq_+1 tokens
};

}  // namespace

MethodInfo sampler_pose_info() {
  MethodInfo m;
  m.kind = MethodKind::Sampler;
  m.name = "pose";
  m.doc =
      "PoSE (Zhu et al.): seq_len tokens in chunks whose ids skip ahead inside [0, Lt); pair with "
      "rope_scaling (linear factor Lt/seq_len in the paper).";
  m.params = {
      {"factor", ParamType::Int, 4, 1, 1e6, {}, "Lt = factor*seq_len (unless target_len is set)"},
      {"target_len",
       ParamType::Int,
       0,
       0,
       1e9,
       {},
       "Lt directly (scaled_max_position_embeddings in the code); 0 = use factor"},
      {"chunks",
       ParamType::Int,
       2,
       2,
       1e6,
       {},
       "number of chunks N: 2 = the released code's sampling; more = the paper's general form"},
      {"truncate",
       ParamType::Int,
       5,
       0,
       1e6,
       {},
       "documents are cut to truncate*seq_len tokens before the text is drawn (code: 5); 0 = off"},
      {"mask_boundary_labels",
       ParamType::Bool,
       true,
       -INFINITY,
       INFINITY,
       {},
       "do not score a chunk's last token when the next chunk's text does not continue it (the "
       "target is always the true next document token)"},
  };
  bind_checked_sampler<PoseSampler>(m, check);
  return m;
}

}  // namespace ctx
