// Shared by the fidelity tests (tests/core/test_fidelity_samplers.cpp, tests/engine/test_fidelity.cpp):
// reading the fixtures that tools/make_fidelity_fixtures.py made from the authors' code, and
// comparing our sampler draws with the reference draws as distributions.
//
// Every sampler statistic is a per-example quantity, so the two samples are independent draws of
// it and a two-sample z score per histogram bin is honest (the ids of one example are strongly
// dependent, so pooling ids would overstate the sample size):
//  - per-example histograms: each example contributes the fraction of its ids in each bin; the
//    fixture holds the mean and standard deviation of those fractions over n_ref examples, and
//    z_k = (mean_ours - mean_ref) / sqrt(sd_ref^2 / n_ref + sd_ours^2 / n_ours);
//  - one value per example (a layout parameter): category counts, two-proportion z score with the
//    pooled proportion.
// A comparison passes when every |z_k| < kMaxZ = 5: under the null each bin fails with
// probability 5.7e-7, so the ~500 bins of all fidelity tests together fail by chance with
// probability < 3e-4, while with 20 000 draws a side a shift of a bin's mass by 0.0035 / sqrt(p)
// of the bin's standard deviation is already visible. The total-variation distance of the two
// histograms is printed with its expected value under the null (sum of the bins' standard errors
// times sqrt(2/pi)/2), as the report's "histogram distance".
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fidelity {

constexpr double kMaxZ = 5.0;

inline nlohmann::json load(const std::string& name) {
  const std::string path = std::string(CTXLAB_FIXTURES) + "/fidelity/" + name;
  std::ifstream f(path);
  if (!f) throw std::runtime_error("missing fixture " + path);
  return nlohmann::json::parse(f);
}

inline std::vector<double> doubles(const nlohmann::json& a) { return a.get<std::vector<double>>(); }

// Bin of v among the edges [e0, e1), [e1, e2), ..., the last bin closed (numpy.histogram's rule);
// -1 outside.
inline int bin_of(double v, const std::vector<double>& edges) {
  const size_t k = edges.size() - 1;
  if (v < edges.front() || v > edges.back()) return -1;
  if (v == edges.back()) return static_cast<int>(k - 1);
  const auto it = std::upper_bound(edges.begin(), edges.end(), v);
  return static_cast<int>(it - edges.begin()) - 1;
}

// Per-example histograms of ours, on the edges of a reference statistic.
struct PerExample {
  std::vector<double> edges, sum, sumsq;
  int64_t n = 0;
  explicit PerExample(const nlohmann::json& ref)
      : edges(doubles(ref["edges"])), sum(edges.size() - 1, 0.0), sumsq(edges.size() - 1, 0.0) {}
  template <class V>
  void add(const V& values) {
    std::vector<double> c(sum.size(), 0.0);
    for (auto v : values) {
      const int b = bin_of(static_cast<double>(v), edges);
      if (b >= 0) c[static_cast<size_t>(b)] += 1;
    }
    for (size_t k = 0; k < c.size(); ++k) {
      const double f = c[k] / static_cast<double>(std::max<size_t>(values.size(), 1));
      sum[k] += f;
      sumsq[k] += f * f;
    }
    ++n;
  }
  double mean(size_t k) const { return sum[k] / static_cast<double>(n); }
  double sd(size_t k) const {
    const double m = mean(k);
    return std::sqrt(std::max(0.0, (sumsq[k] - static_cast<double>(n) * m * m) / static_cast<double>(n - 1)));
  }
};

struct Result {
  double max_z = 0, tv = 0, tv_null = 0;
  int worst = -1;
  std::string text;
};

inline std::string describe(const std::string& what, const Result& r, bool full = true) {
  std::ostringstream s;
  s << what << ": max|z| " << r.max_z << " (bin " << r.worst << "), TV " << r.tv << " (null ~" << r.tv_null
    << ")" << (full ? r.text : "");
  return s.str();
}

// Per-example histogram of ours against the reference's {edges, n, mean, sd}.
inline Result compare(const nlohmann::json& ref, const PerExample& ours) {
  Result r;
  const auto mr = doubles(ref["mean"]), sr = doubles(ref["sd"]);
  const double nr = ref["n"].get<double>(), no = static_cast<double>(ours.n);
  std::ostringstream s;
  for (size_t k = 0; k < mr.size(); ++k) {
    const double d = ours.mean(k) - mr[k];
    const double se = std::sqrt(sr[k] * sr[k] / nr + ours.sd(k) * ours.sd(k) / no);
    const double z = se > 0 ? d / se : (d == 0 ? 0.0 : INFINITY);
    r.tv += 0.5 * std::abs(d);
    r.tv_null += 0.5 * std::sqrt(2.0 / M_PI) * se;
    if (std::abs(z) > r.max_z) {
      r.max_z = std::abs(z);
      r.worst = static_cast<int>(k);
    }
    s << (k ? " " : "\n  ours-ref: ") << d;
  }
  r.text = s.str();
  return r;
}

// Category counts of ours against reference counts (same categories, same order).
inline Result compare_counts(const std::vector<int64_t>& ref, const std::vector<int64_t>& ours) {
  Result r;
  double nr = 0, no = 0;
  for (auto c : ref) nr += static_cast<double>(c);
  for (auto c : ours) no += static_cast<double>(c);
  std::ostringstream s;
  for (size_t k = 0; k < ref.size(); ++k) {
    const double pr = static_cast<double>(ref[k]) / nr, po = static_cast<double>(ours[k]) / no;
    const double p = (static_cast<double>(ref[k]) + static_cast<double>(ours[k])) / (nr + no);
    const double se = std::sqrt(p * (1 - p) * (1 / nr + 1 / no));
    const double z = se > 0 ? (po - pr) / se : 0.0;
    r.tv += 0.5 * std::abs(po - pr);
    r.tv_null += 0.5 * std::sqrt(2.0 / M_PI) * se;
    if (std::abs(z) > r.max_z) {
      r.max_z = std::abs(z);
      r.worst = static_cast<int>(k);
    }
    s << (k ? " " : "\n  ref/ours: ") << ref[k] << "/" << ours[k];
  }
  r.text = s.str();
  return r;
}

// Values (one per example) binned on a reference {edges, n, counts} histogram.
inline Result compare_binned(const nlohmann::json& ref, const std::vector<double>& values) {
  const auto edges = doubles(ref["edges"]);
  std::vector<int64_t> c(edges.size() - 1, 0);
  for (double v : values) {
    const int b = bin_of(v, edges);
    EXPECT_GE(b, 0) << "value " << v << " outside the reference's range";
    if (b >= 0) ++c[static_cast<size_t>(b)];
  }
  return compare_counts(ref["counts"].get<std::vector<int64_t>>(), c);
}

// Integer values lo..hi against a reference {lo, hi, counts}.
inline Result compare_ints(const nlohmann::json& ref, const std::vector<int64_t>& values) {
  const int64_t lo = ref["lo"].get<int64_t>(), hi = ref["hi"].get<int64_t>();
  std::vector<int64_t> c(static_cast<size_t>(hi - lo + 1), 0);
  for (auto v : values) {
    EXPECT_TRUE(v >= lo && v <= hi) << v << " outside [" << lo << ", " << hi << "]";
    if (v >= lo && v <= hi) ++c[static_cast<size_t>(v - lo)];
  }
  return compare_counts(ref["counts"].get<std::vector<int64_t>>(), c);
}

#define EXPECT_SAME_DISTRIBUTION(what, result)                                  \
  do {                                                                          \
    const auto fidelity_r_ = (result);                                          \
    EXPECT_LT(fidelity_r_.max_z, fidelity::kMaxZ) << fidelity::describe(what, fidelity_r_); \
    std::cout << "[fidelity] " << fidelity::describe(what, fidelity_r_, false) << "\n";      \
  } while (0)

}  // namespace fidelity
