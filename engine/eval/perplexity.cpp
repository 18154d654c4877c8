// Perplexity sweeps: windows planned per document, batched forward passes without gradients.
#include "eval/perplexity.h"

#include <torch/utils.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "data/interrupt.h"
#include "methods/sampler.h"
#include "model/context_parallel.h"

namespace ctx {

std::vector<int64_t> random_window_ids(int64_t length, int64_t range, uint64_t window) {
  if (length < 0 || length > range)
    throw std::invalid_argument("random_window_ids: " + std::to_string(length) +
                                " distinct ids do not fit in [0, " + std::to_string(range) + ")");
  // The training samplers' generator and draw, so the ids are the same with any standard library.
  Rng rng(Rng::mix(static_cast<uint64_t>(length), static_cast<uint64_t>(range), window, 0x7a4d));
  return sorted_sample(rng, length, range);
}

std::vector<EvalWindow> plan_windows(const std::vector<std::vector<data::Token>>& docs, const PplOptions& opt) {
  std::vector<EvalWindow> out;
  const int64_t L = opt.length;
  const int64_t S = opt.mode == "sliding" ? (opt.stride > 0 ? std::min(opt.stride, L) : std::max<int64_t>(L / 2, 1)) : L;
  int64_t scored = 0;
  for (size_t d = 0; d < docs.size() && scored < opt.max_tokens; ++d) {
    const int64_t n = static_cast<int64_t>(docs[d].size()) - 1;  // predictable tokens
    if (n < L) continue;
    if (opt.mode == "sliding") {
      // Window k covers [k*S, k*S+L); it scores the tokens after the previous window's end.
      int64_t prev_end = 0;
      for (int64_t start = 0; prev_end < n && scored < opt.max_tokens; start += S) {
        if (start + L > n) start = n - L;  // last window flush with the end
        const int64_t from = prev_end - start;
        out.push_back({d, start, from});
        scored += L - from;
        prev_end = start + L;
      }
    } else {
      for (int64_t start = 0; start + L <= n && scored < opt.max_tokens; start += L) {
        out.push_back({d, start, 0});
        scored += L;
      }
    }
  }
  return out;
}

ScoredLosses::ScoredLosses(int64_t length)
    : pos_sum_(static_cast<size_t>(length), 0.0), pos_n_(static_cast<size_t>(length), 0) {}

void ScoredLosses::add(const torch::Tensor& losses, const std::vector<int64_t>& score_from) {
  const auto L = static_cast<int64_t>(pos_sum_.size());
  const auto host = losses.to(torch::kCPU).to(torch::kDouble).contiguous();
  const double* lp = host.data_ptr<double>();
  for (size_t b = 0; b < score_from.size(); ++b) {
    for (int64_t i = score_from[b]; i < L; ++i) {
      const double v = lp[b * static_cast<size_t>(L) + static_cast<size_t>(i)];
      pos_sum_[static_cast<size_t>(i)] += v;
      pos_n_[static_cast<size_t>(i)] += 1;
      total_ += v;
      count_ += 1;
    }
  }
}

void ScoredLosses::finish(PplResult& r) const {
  r.tokens = count_;
  r.loss = total_ / static_cast<double>(std::max<int64_t>(count_, 1));
  r.ppl = std::exp(r.loss);
  r.position_count = pos_n_;
  r.position_loss.resize(pos_sum_.size());
  for (size_t i = 0; i < pos_sum_.size(); ++i)
    r.position_loss[i] = pos_n_[i]
                             ? static_cast<float>(pos_sum_[i] / static_cast<double>(pos_n_[i]))
                             : std::numeric_limits<float>::quiet_NaN();
}

PplResult evaluate_perplexity(LanguageModel& model, const std::vector<data::Document>& docs, const PplOptions& opt,
                              const torch::Device& device) {
  const auto t0 = std::chrono::steady_clock::now();
  PplResult r;
  r.length = opt.length;
  r.mode = opt.mode;
  const int64_t L = opt.length;
  if (opt.mode == "randpos" && opt.id_range < L)
    throw data::DataError("randpos evaluation at length " + std::to_string(L) + ": ids from [0, " +
                          std::to_string(opt.id_range) + ") cannot hold " + std::to_string(L) +
                          " distinct positions");

  std::vector<std::vector<data::Token>> seqs;
  for (auto& d : docs) seqs.push_back(d.tokens);
  auto windows = plan_windows(seqs, opt);
  if (windows.empty()) {
    // No document holds L+1 tokens: evaluate on the documents joined by the separator instead.
    std::vector<data::Token> stream;
    for (auto& d : docs) {
      stream.push_back(opt.separator);
      stream.insert(stream.end(), d.tokens.begin(), d.tokens.end());
    }
    seqs = {stream};
    windows = plan_windows(seqs, opt);
    r.packed = true;
  }
  if (windows.empty())  // the run's preflight rules this out; `eval --lengths` can still ask
    throw data::DataError("length " + std::to_string(L) + ": the validation documents hold only " +
                          std::to_string(seqs.empty() ? 0 : seqs[0].size()) +
                          " tokens in total, not the length plus one");

  ScoredLosses scored(L);

  torch::NoGradGuard ng;
  model->eval();
  auto positions = torch::arange(L, torch::kFloat).unsqueeze(0);
  const bool memory = opt.memory && opt.mode == "nonoverlap";
  LayerMemory mem;
  const size_t step = memory ? 1 : static_cast<size_t>(opt.batch_size);
  for (size_t b0 = 0; b0 < windows.size(); b0 += step) {
    check_stop("evaluation");
    const size_t b1 = std::min(windows.size(), b0 + step);
    // The cache only holds when this window directly follows the previous one in its document.
    if (memory && (b0 == 0 || windows[b0].doc != windows[b0 - 1].doc || windows[b0].start != windows[b0 - 1].start + L))
      mem.clear();
    const int64_t B = static_cast<int64_t>(b1 - b0);
    std::vector<int64_t> in(static_cast<size_t>(B * L)), tg(static_cast<size_t>(B * L));
    for (size_t w = b0; w < b1; ++w) {
      const auto& s = seqs[windows[w].doc];
      for (int64_t i = 0; i < L; ++i) {
        in[(w - b0) * static_cast<size_t>(L) + static_cast<size_t>(i)] = s[static_cast<size_t>(windows[w].start + i)];
        tg[(w - b0) * static_cast<size_t>(L) + static_cast<size_t>(i)] = s[static_cast<size_t>(windows[w].start + i + 1)];
      }
    }
    auto tin = torch::from_blob(in.data(), {B, L}, torch::kLong).to(device);
    auto ttg = torch::from_blob(tg.data(), {B, L}, torch::kLong).to(device);
    // Split over the context-parallel ring when one is installed (lengths past one GPU's memory).
    std::vector<int64_t> score_from;
    for (size_t w = b0; w < b1; ++w) score_from.push_back(windows[w].score_from);
    auto ids = positions.expand({B, L});
    if (opt.mode == "randpos") {
      std::vector<float> drawn;
      drawn.reserve(static_cast<size_t>(B * L));
      for (size_t w = b0; w < b1; ++w)
        for (auto id : random_window_ids(L, opt.id_range, w))
          drawn.push_back(static_cast<float>(id));
      ids = torch::from_blob(drawn.data(), {B, L}, torch::kFloat).clone();
    }
    scored.add(
        context_parallel_token_losses(model, tin, ids.to(device), ttg, memory ? &mem : nullptr),
        score_from);
  }
  model->train();
  r.windows = static_cast<int64_t>(windows.size());
  scored.finish(r);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace ctx
