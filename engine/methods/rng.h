// Deterministic random draws for samplers: an mt19937_64 seeded from mixed integers (run seed,
// step, example), drawing through data/rng.h so examples are the same with any standard library.
#pragma once

#include <cstdint>
#include <random>

#include "data/rng.h"

namespace ctx {

class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  // Seed derived from several integers (run seed, step, example index) by splitmix64 mixing.
  static uint64_t mix(uint64_t a, uint64_t b = 0, uint64_t c = 0, uint64_t d = 0);

  uint64_t next() { return g_(); }
  // Uniform in [0, n); n > 0.
  uint64_t below(uint64_t n) { return data::uniform_below(g_, n); }
  // Uniform integer in [lo, hi] inclusive.
  int64_t between(int64_t lo, int64_t hi) { return data::uniform_int(g_, lo, hi); }
  // Uniform real in [0, 1) with 53 random bits.
  double uniform() { return data::uniform_unit(g_); }

 private:
  std::mt19937_64 g_;
};

inline uint64_t Rng::mix(uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
  auto sm = [](uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  };
  return sm(sm(sm(sm(a) ^ b) ^ c) ^ d);
}

}  // namespace ctx
