// Portable random draws for the data layer: the same seed gives the same bytes with any standard
// library, because only std::mt19937_64's raw output (fully specified by the standard) is used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace ctx::data {

// Uniform integer in [0, n) by rejection: the distributions in <random> are implementation-defined
// and differ between libstdc++ and libc++ versions, which would change the data on another machine.
inline uint64_t uniform_below(std::mt19937_64& rng, uint64_t n) {
  if (n <= 1) return 0;
  const uint64_t threshold = (0 - n) % n;  // 2^64 mod n: drop the partial block at the bottom
  for (;;) {
    const uint64_t r = rng();
    if (r >= threshold) return r % n;
  }
}

// Uniform integer in [lo, hi] (inclusive); lo when hi < lo.
inline int64_t uniform_int(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  if (hi <= lo) return lo;
  return lo + static_cast<int64_t>(uniform_below(rng, static_cast<uint64_t>(hi - lo) + 1));
}

// Uniform double in [0, 1) from the top 53 bits.
inline double uniform_unit(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
}

inline bool bernoulli(std::mt19937_64& rng, double p) {
  return uniform_unit(rng) < p;
}

template <typename T>
void fisher_yates_shuffle(std::vector<T>& v, std::mt19937_64& rng) {
  for (size_t i = v.size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(uniform_below(rng, i));
    using std::swap;
    swap(v[i - 1], v[j]);
  }
}

template <typename T>
const T& pick(const std::vector<T>& v, std::mt19937_64& rng) {
  return v[static_cast<size_t>(uniform_below(rng, v.size()))];
}

template <typename T, size_t N>
const T& pick(const T (&a)[N], std::mt19937_64& rng) {
  return a[static_cast<size_t>(uniform_below(rng, N))];
}

}  // namespace ctx::data
