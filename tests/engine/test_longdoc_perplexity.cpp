// Long-document perplexity (YaRN's protocol) on a tiny model: window plans that score every
// token exactly once, document selection, and strided perplexity equal to a sum computed window by
// window with the model's own forward pass.
#include <gtest/gtest.h>

#include "eval/longdoc_perplexity.h"
#include "scheme_test_util.h"

using namespace ctx;

namespace {

std::vector<data::Document> random_docs(const std::vector<int64_t>& sizes, uint64_t seed) {
  torch::manual_seed(static_cast<int64_t>(seed));
  std::vector<data::Document> docs;
  for (auto n : sizes) {
    auto t = torch::randint(0, 256, {n}, torch::kLong);
    data::Document d;
    d.source = "random";
    for (int64_t i = 0; i < n; ++i) d.tokens.push_back(static_cast<data::Token>(t[i].item<int64_t>()));
    docs.push_back(std::move(d));
  }
  return docs;
}

}  // namespace

TEST(LongDoc, WindowsScoreEveryTokenExactlyOnce) {
  for (bool bos : {true, false})
    for (int64_t T : {300, 301, 128})
      for (int64_t L : {64, 128})
        for (int64_t S : {16, 50, 64}) {
          const auto w = plan_longdoc_windows(T, L, S, bos);
          const std::string what = "T=" + std::to_string(T) + " L=" + std::to_string(L) +
                                   " S=" + std::to_string(S) + (bos ? " bos" : "");
          const int64_t targets = bos ? T : T - 1;
          if (targets < L) {
            EXPECT_TRUE(w.empty()) << what;
            continue;
          }
          std::vector<int> seen(static_cast<size_t>(T), 0);
          for (size_t k = 0; k < w.size(); ++k) {
            EXPECT_LE(w[k].start + L, targets) << what;
            if (k + 1 < w.size()) {
              EXPECT_EQ(w[k].start, static_cast<int64_t>(k) * S) << what;
            }
            if (k > 0) {
              EXPECT_LE(L - w[k].score_from, S) << what;
            }
            for (int64_t i = w[k].score_from; i < L; ++i)
              seen[static_cast<size_t>(w[k].start + i + (bos ? 0 : 1))] += 1;
          }
          for (int64_t j = 0; j < T; ++j)
            EXPECT_EQ(seen[static_cast<size_t>(j)], bos || j > 0 ? 1 : 0) << what << " token " << j;
        }
}

TEST(LongDoc, TotalEqualsTheSumComputedWindowByWindow) {
  torch::manual_seed(11);
  auto m = make_language_model(tiny("rope"), nullptr, 259);
  m->eval();
  const auto docs = random_docs({260, 100, 300}, 4);  // the 100-token one is too short
  for (data::Token bos : {data::Token{256}, data::Token{-1}}) {
    const auto set = select_longdoc_documents(docs, 128, 0, bos >= 0);
    ASSERT_EQ(set.docs.size(), 2u);
    EXPECT_EQ(set.skipped, 1);
    EXPECT_EQ(set.truncated_to, bos >= 0 ? 128 : 129);
    for (int64_t L : {64, 128}) {
      LongDocOptions o;
      o.length = L;
      o.stride = 48;
      o.bos = bos;
      o.batch_size = 3;
      const auto r = evaluate_longdoc(m, set, o, torch::kCPU);
      // By hand: windows at 0, 48, 96, ... (the last flush with the end), each scoring the
      // targets after the previous window's end, BOS first when there is one.
      double sum = 0;
      int64_t count = 0;
      torch::NoGradGuard ng;
      for (const auto& d : set.docs) {
        const int64_t T = static_cast<int64_t>(d.size()), n = bos >= 0 ? T : T - 1;
        int64_t prev_end = 0;
        for (int64_t start = 0; prev_end < n; start += 48) {
          start = std::min(start, n - L);
          std::vector<int64_t> in, tg;
          for (int64_t i = 0; i < L; ++i) {
            if (bos >= 0) {
              in.push_back(i == 0 ? bos : d[static_cast<size_t>(start + i - 1)]);
              tg.push_back(d[static_cast<size_t>(start + i)]);
            } else {
              in.push_back(d[static_cast<size_t>(start + i)]);
              tg.push_back(d[static_cast<size_t>(start + i + 1)]);
            }
          }
          auto logits = m->forward(torch::tensor(in).unsqueeze(0), ids(L)).squeeze(0);
          auto logp = torch::log_softmax(logits.to(torch::kDouble), -1);
          for (int64_t i = prev_end - start; i < L; ++i) {
            sum -= logp[i][tg[static_cast<size_t>(i)]].item<double>();
            count += 1;
          }
          prev_end = start + L;
        }
      }
      EXPECT_EQ(r.tokens, count) << L;
      EXPECT_EQ(count, 2 * (bos >= 0 ? 128 : 128));
      EXPECT_NEAR(r.loss * static_cast<double>(r.tokens), sum, 1e-4 * sum) << L;
      EXPECT_EQ(r.mode, "longdoc");
    }
  }
}

TEST(LongDoc, RefusesAStrideOutsideTheWindow) {
  torch::manual_seed(12);
  auto m = make_language_model(tiny("rope"), nullptr, 259);
  const auto set = select_longdoc_documents(random_docs({200}, 5), 64, 0, true);
  LongDocOptions o;
  o.length = 64;
  o.bos = 256;
  o.stride = 0;
  EXPECT_THROW(evaluate_longdoc(m, set, o, torch::kCPU), data::DataError);
  o.stride = 65;
  EXPECT_THROW(evaluate_longdoc(m, set, o, torch::kCPU), data::DataError);
}
