// builtin:longrange: determinism, exact planted recalls at the requested distances, length, ASCII,
// and a share of long-range-predictable bytes in the intended range.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <string>

#include "data/longrange_corpus.h"

using ctx::data::ByteTokenizer;
using ctx::data::DataError;
using ctx::data::Document;
using ctx::data::generate_longrange;
using ctx::data::LongRangeOptions;
using ctx::data::PlantedRecall;

namespace {

LongRangeOptions options(uint64_t seed, int64_t docs = 12, int64_t doc_tokens = 2048) {
  LongRangeOptions o;
  o.seed = seed;
  o.docs = docs;
  o.doc_tokens = doc_tokens;
  return o;
}

int64_t nearest_distance_error(int64_t dist, const std::vector<int64_t>& distances) {
  int64_t best = INT64_MAX;
  for (int64_t d : distances) best = std::min(best, std::abs(dist - d));
  return best;
}

std::string text(const Document& d) {
  return ByteTokenizer::decode(d.tokens);
}

}  // namespace

TEST(LongRange, SameSeedSameBytes) {
  std::vector<PlantedRecall> ra, rb;
  const auto a = generate_longrange(options(3), &ra);
  const auto b = generate_longrange(options(3), &rb);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].tokens, b[i].tokens);
    EXPECT_EQ(a[i].source, b[i].source);
  }
  ASSERT_EQ(ra.size(), rb.size());
  for (size_t i = 0; i < ra.size(); ++i) {
    EXPECT_EQ(ra[i].answer_pos, rb[i].answer_pos);
    EXPECT_EQ(ra[i].source_pos, rb[i].source_pos);
  }
}

TEST(LongRange, DifferentSeedDifferentBytes) {
  const auto a = generate_longrange(options(3));
  const auto b = generate_longrange(options(4));
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NE(a[i].tokens, b[i].tokens) << "doc " << i;
}

TEST(LongRange, DocumentsDifferWithinACorpus) {
  const auto docs = generate_longrange(options(3));
  std::set<std::vector<ctx::data::Token>> unique;
  for (const auto& d : docs) unique.insert(d.tokens);
  EXPECT_EQ(unique.size(), docs.size());
}

TEST(LongRange, PinnedPrefixForSeedOne) {
  // Pins the exact bytes: the corpus must be identical on every machine and standard library.
  const auto docs = generate_longrange(options(1, 1, 256));
  EXPECT_EQ(text(docs[0]).substr(0, 64),
            "this drotrox sols beside two druvooks. the locker of Tranigleag ");
}

TEST(LongRange, EveryRecallRepeatsItsSourceAtARequestedDistance) {
  const LongRangeOptions opt = options(5, 24, 4096);
  std::vector<PlantedRecall> recalls;
  const auto docs = generate_longrange(opt, &recalls);
  ASSERT_GT(recalls.size(), 100u);
  std::map<int64_t, int> per_distance;
  for (const auto& r : recalls) {
    ASSERT_GE(r.doc, 0);
    ASSERT_LT(r.doc, static_cast<int64_t>(docs.size()));
    const auto& t = docs[static_cast<size_t>(r.doc)].tokens;
    ASSERT_GT(r.length, 0);
    ASSERT_LT(r.source_pos, r.answer_pos);
    ASSERT_LE(r.answer_pos + r.length, static_cast<int64_t>(t.size()));
    for (int64_t i = 0; i < r.length; ++i) {
      ASSERT_EQ(t[r.source_pos + i], t[r.answer_pos + i])
          << "doc " << r.doc << " recall at " << r.answer_pos << " byte " << i;
    }
    const int64_t dist = r.answer_pos - r.source_pos;
    EXPECT_LE(nearest_distance_error(dist, opt.distances), 4) << "distance " << dist;
    ++per_distance[dist];
  }
  for (int64_t d : opt.distances) EXPECT_GT(per_distance[d], 0) << "no recall at distance " << d;
}

TEST(LongRange, RecallsAreFactsOrCopiesWithTheirMarker) {
  std::vector<PlantedRecall> recalls;
  const auto docs = generate_longrange(options(6), &recalls);
  int facts = 0, copies = 0;
  for (const auto& r : recalls) {
    const std::string t = text(docs[static_cast<size_t>(r.doc)]);
    const std::string before = t.substr(0, static_cast<size_t>(r.answer_pos));
    if (before.size() >= 7 && before.compare(before.size() - 7, 7, "again: ") == 0) {
      ++copies;
      EXPECT_GE(r.length, 24);
      EXPECT_LE(r.length, 64);
    } else {
      ++facts;
      const size_t line = before.rfind("recall: the ");
      ASSERT_NE(line, std::string::npos);
      EXPECT_EQ(before.compare(before.size() - 4, 4, " is "), 0);
      // The answer is the digits of a fact, stated nowhere else before the recall.
      const std::string answer =
          t.substr(static_cast<size_t>(r.answer_pos), static_cast<size_t>(r.length));
      EXPECT_EQ(answer.find_first_not_of("0123456789"), std::string::npos) << answer;
      const std::string statement = before.substr(line + 8) + answer + ".";
      EXPECT_EQ(t.find(statement), static_cast<size_t>(r.source_pos) - (before.size() - line - 8));
    }
  }
  EXPECT_GT(facts, 20);
  EXPECT_GT(copies, 20);
}

TEST(LongRange, FactNamesAreFreshPerDocument) {
  const auto docs = generate_longrange(options(2, 2, 4096));
  auto names = [](const std::string& t) {
    std::set<std::string> out;
    for (size_t p = t.find(" of "); p != std::string::npos; p = t.find(" of ", p + 1)) {
      out.insert(t.substr(p + 4, t.find(' ', p + 4) - p - 4));
    }
    return out;
  };
  const auto a = names(text(docs[0])), b = names(text(docs[1]));
  ASSERT_GT(a.size(), 5u);
  std::vector<std::string> common;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(common));
  EXPECT_LE(common.size(), 1u);
}

TEST(LongRange, DocumentsAreAboutDocTokensLongAndAscii) {
  for (int64_t len : {64, 300, 4096}) {
    const auto docs = generate_longrange(options(8, 6, len));
    ASSERT_EQ(docs.size(), 6u);
    for (const auto& d : docs) {
      EXPECT_NEAR(static_cast<double>(d.tokens.size()), static_cast<double>(len), 8.0);
      for (auto t : d.tokens) {
        ASSERT_TRUE((t >= 0x20 && t < 0x7F) || t == '\n') << "byte " << t;
      }
    }
  }
}

TEST(LongRange, DistancesBeyondTheDocumentAreSkipped) {
  LongRangeOptions opt = options(9, 8, 512);
  opt.distances = {100, 5000};
  std::vector<PlantedRecall> recalls;
  generate_longrange(opt, &recalls);
  ASSERT_FALSE(recalls.empty());
  for (const auto& r : recalls) EXPECT_EQ(r.answer_pos - r.source_pos, 100);
}

TEST(LongRange, LongRangeShareIsFiveToFifteenPercent) {
  std::vector<PlantedRecall> recalls;
  const auto docs = generate_longrange(options(1, 32, 4096), &recalls);
  int64_t total = 0, answers = 0;
  for (const auto& d : docs) total += static_cast<int64_t>(d.tokens.size());
  for (const auto& r : recalls) answers += r.length;
  const double share = static_cast<double>(answers) / static_cast<double>(total);
  EXPECT_GT(share, 0.05);
  EXPECT_LT(share, 0.15);
}

TEST(LongRange, RejectsTinyDocuments) {
  EXPECT_THROW(generate_longrange(options(1, 2, 8)), DataError);
}

TEST(LongRange, DefaultOptionsKeepTheBytesOfEarlierVersions) {
  // FNV-1a of the documents the generator made before jitter and the rates became options
  // (computed from that version's source): runs stored earlier must see the same corpus.
  LongRangeOptions o = options(7, 6, 3000);
  uint64_t h = 1469598103934665603ULL;
  for (const auto& d : generate_longrange(o))
    for (auto t : d.tokens) h = (h ^ static_cast<uint64_t>(t)) * 1099511628211ULL;
  EXPECT_EQ(h, 14381020217015848550ULL);
}

TEST(LongRange, JitterSpreadsEachDistanceBelowItsRequestedValue) {
  LongRangeOptions o = options(9, 16, 4096);
  o.distances = std::vector<int64_t>{64, 128};
  o.jitter = 0.5;
  std::vector<PlantedRecall> recalls;
  const auto docs = generate_longrange(o, &recalls);
  ASSERT_GT(recalls.size(), 200u);
  std::set<int64_t> seen;
  for (const auto& r : recalls) {
    const int64_t dist = r.answer_pos - r.source_pos;
    // Copies start their answer a marker after the slot and facts after their prefix: the same
    // few-byte slack as exact distances have.
    EXPECT_GE(dist, 32 - 4) << "distance " << dist;
    EXPECT_LE(dist, 128 + 4) << "distance " << dist;
    for (int64_t i = 0; i < r.length; ++i)
      ASSERT_EQ(docs[r.doc].tokens[r.source_pos + i], docs[r.doc].tokens[r.answer_pos + i]);
    seen.insert(dist);
  }
  // Exact distances would give two values (and a few near them); jitter fills the range.
  EXPECT_GT(seen.size(), 40u);
}

TEST(LongRange, RatesSetHowManyFactsAndCopiesArePlanted) {
  auto count = [](double fact_rate, double copy_rate, const char* marker) {
    LongRangeOptions o = options(4, 6, 4096);
    o.fact_rate = fact_rate;
    o.copy_rate = copy_rate;
    size_t n = 0;
    for (const auto& d : generate_longrange(o)) {
      const std::string t = text(d);
      for (auto p = t.find(marker); p != std::string::npos; p = t.find(marker, p + 1)) ++n;
    }
    return n;
  };
  EXPECT_EQ(count(0.0, 0.3, "recall: "), 0u);
  EXPECT_GT(count(0.0, 0.3, "again: "), 20u);
  EXPECT_EQ(count(0.22, 0.0, "again: "), 0u);
  EXPECT_GT(count(1.0, 0.0, "recall: "), 2 * count(0.22, 0.0, "recall: "));
}

TEST(LongRange, RejectsJitterAndRatesOutOfRange) {
  LongRangeOptions o = options(1, 2, 512);
  o.jitter = 1.0;
  EXPECT_THROW(generate_longrange(o), ctx::data::DataError);
  o.jitter = 0;
  o.fact_rate = 1.5;
  EXPECT_THROW(generate_longrange(o), ctx::data::DataError);
}
