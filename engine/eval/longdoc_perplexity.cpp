// Long-document perplexity: window plans, document selection and batched forward passes without
// gradients over windows that start with BOS.
#include "eval/longdoc_perplexity.h"

#include <torch/utils.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "data/interrupt.h"
#include "eval/perplexity.h"

namespace ctx {

std::vector<LongDocWindow> plan_longdoc_windows(int64_t tokens, int64_t length, int64_t stride,
                                                bool bos) {
  std::vector<LongDocWindow> out;
  // Targets are d[0..T) with BOS, d[1..T) without; slot j of a window holds target start + j.
  const int64_t n = bos ? tokens : tokens - 1;
  if (length < 1 || stride < 1 || n < length) return out;
  int64_t prev_end = 0;
  for (int64_t start = 0; prev_end < n; start += stride) {
    if (start + length > n) start = n - length;  // the last window flush with the end
    out.push_back({0, start, prev_end - start});
    prev_end = start + length;
  }
  return out;
}

LongDocSet select_longdoc_documents(const std::vector<data::Document>& docs, int64_t longest,
                                    int64_t max_docs, bool bos) {
  LongDocSet s;
  s.truncated_to = bos ? longest : longest + 1;
  for (const auto& d : docs) {
    if (static_cast<int64_t>(d.tokens.size()) < s.truncated_to) {
      s.skipped += 1;
      continue;
    }
    s.available += 1;
    if (max_docs > 0 && static_cast<int64_t>(s.docs.size()) >= max_docs) continue;
    s.docs.emplace_back(d.tokens.begin(), d.tokens.begin() + s.truncated_to);
  }
  return s;
}

PplResult evaluate_longdoc(LanguageModel& model, const LongDocSet& set, const LongDocOptions& opt,
                           const torch::Device& device) {
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t L = opt.length;
  const bool bos = opt.bos >= 0;
  if (opt.stride < 1 || opt.stride > L)
    throw data::DataError("stride " + std::to_string(opt.stride) + ": must be in [1, " +
                          std::to_string(L) + "] (the length)");
  std::vector<LongDocWindow> windows;
  for (size_t d = 0; d < set.docs.size(); ++d) {
    auto w = plan_longdoc_windows(static_cast<int64_t>(set.docs[d].size()), L, opt.stride, bos);
    if (w.empty())
      throw data::DataError("length " + std::to_string(L) + ": document " + std::to_string(d) +
                            " holds only " + std::to_string(set.docs[d].size()) + " tokens");
    for (auto& x : w) x.doc = d;
    windows.insert(windows.end(), w.begin(), w.end());
  }
  PplResult r;
  r.length = L;
  r.mode = "longdoc";
  ScoredLosses scored(L);
  torch::NoGradGuard ng;
  const bool was_training = model->is_training();
  model->eval();
  const auto positions = torch::arange(L, torch::kFloat).unsqueeze(0);
  const auto step = static_cast<size_t>(std::max<int64_t>(opt.batch_size, 1));
  for (size_t b0 = 0; b0 < windows.size(); b0 += step) {
    check_stop("evaluation");  // SIGINT/SIGTERM between batches, as the other evaluations
    const size_t b1 = std::min(windows.size(), b0 + step);
    const auto B = static_cast<int64_t>(b1 - b0);
    std::vector<int64_t> in(static_cast<size_t>(B * L)), tg(static_cast<size_t>(B * L));
    for (size_t w = b0; w < b1; ++w) {
      const auto& d = set.docs[windows[w].doc];
      const auto s = static_cast<size_t>(windows[w].start);
      const size_t row = (w - b0) * static_cast<size_t>(L);
      for (size_t i = 0; i < static_cast<size_t>(L); ++i) {
        in[row + i] = bos ? (i == 0 ? opt.bos : d[s + i - 1]) : d[s + i];
        tg[row + i] = bos ? d[s + i] : d[s + i + 1];
      }
    }
    auto tin = torch::from_blob(in.data(), {B, L}, torch::kLong).to(device);
    auto ttg = torch::from_blob(tg.data(), {B, L}, torch::kLong).to(device);
    std::vector<int64_t> score_from;
    for (size_t w = b0; w < b1; ++w) score_from.push_back(windows[w].score_from);
    scored.add(model->token_losses(tin, positions.expand({B, L}).to(device), ttg), score_from);
    if (opt.progress) opt.progress(static_cast<int64_t>(b1), static_cast<int64_t>(windows.size()));
  }
  if (was_training) model->train();
  r.windows = static_cast<int64_t>(windows.size());
  scored.finish(r);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace ctx
