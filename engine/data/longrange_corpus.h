// builtin:longrange — a synthetic corpus with local structure a small model learns in minutes and
// long-range dependencies at controlled distances, so that loss at far positions only drops when
// the model really uses distant tokens. Deterministic from the seed.
#pragma once

#include <cstdint>
#include <iterator>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "data/corpus.h"

namespace ctx::data {

struct LongRangeOptions {
  uint64_t seed = 1;
  int64_t docs = 96;
  int64_t doc_tokens = 4096;  // approximate length of each document in bytes (= tokens)
  // Distances (in tokens) at which facts are recalled and spans are repeated.
  // (Built from an array: GCC 12 warns falsely about a braced list here when inlined.)
  static constexpr int64_t kDefaultDistances[] = {32, 64, 128, 256, 512, 1024, 2048};
  std::vector<int64_t> distances{std::begin(kDefaultDistances), std::end(kDefaultDistances)};
  // 0: every distance is exact. j > 0: a drawn distance d becomes uniform in [ceil(d(1 - j)), d],
  // so no fixed offset predicts the answer and a model must find the fact by its content (what a
  // passkey or needle prompt at a random depth asks). Documents at j = 0 are byte-identical to
  // those made before this option existed.
  double jitter = 0;
  // Chance, at each boundary between filler units, of planting a fact (and its recall) or a copy.
  // The defaults give ~10% answer bytes at doc_tokens 4096; raising them concentrates the
  // retrieval signal (a retrieval-focused corpus for passkey/needle training).
  double fact_rate = 0.22, copy_rate = 0.3;
};

std::vector<Document> generate_longrange(const LongRangeOptions& opt);

// One recall event planted by the generator, for tests and for retrieval-by-distance evaluation:
// the answer bytes start at token `answer_pos` of the document and were first stated at
// `source_pos`.
struct PlantedRecall {
  int64_t doc = 0;
  int64_t source_pos = 0;
  int64_t answer_pos = 0;
  int64_t length = 0;  // bytes of the answer
};

// Same documents as generate_longrange, plus the list of recall events.
std::vector<Document> generate_longrange(const LongRangeOptions& opt,
                                         std::vector<PlantedRecall>* recalls);

// The fact format the generator teaches, for retrieval tasks that stay in its distribution:
// "the <attribute> of <Name> is <digits>." recalled later as "recall: the <attribute> of <Name> is
// ". A made-up name drawn like the generator's (capitalised syllables of its alphabet).
std::string longrange_name(std::mt19937_64& rng);
// The fact attributes with their digit counts: ("code", 4), ("key", 5), ...
std::vector<std::pair<std::string, int>> longrange_attributes();
inline constexpr const char* kLongRangeRecallMarker = "recall: ";

}  // namespace ctx::data
