// The RULER-style suite on tiny models: effective length on fixture scores (the threshold rule,
// none qualifying, the default reference), sweeps that decode every prompt once and count its
// prefill, requests checked before any work, and the records' axes.
#include <gtest/gtest.h>

#include <filesystem>

#include "data/retrieval_tasks.h"
#include "eval/effective_length.h"
#include "eval/ruler.h"
#include "scheme_test_util.h"

namespace fs = std::filesystem;
using namespace ctx;

namespace {

std::map<int64_t, double> fixture_averages() {
  return {{1024, 0.95}, {2048, 0.92}, {4096, 0.88}, {8192, 0.70}, {16384, 0.86}};
}

std::string error_of(LanguageModel& m, const RulerOptions& o, bool corpus = true) {
  try {
    check_ruler_request(m, o, corpus);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(EffectiveLength, AveragesEachTaskOverItsCellsFirst) {
  // Task a has two depth cells at 100 (mean 0.5), task b one (1.0): the length averages 0.75.
  const auto avg = average_over_tasks({{"a", 100, 0.0}, {"a", 100, 1.0}, {"b", 100, 1.0},
                                       {"a", 200, 0.2}, {"b", 200, 0.4}});
  ASSERT_EQ(avg.size(), 2u);
  EXPECT_DOUBLE_EQ(avg.at(100), 0.75);
  EXPECT_DOUBLE_EQ(avg.at(200), 0.3);
}

TEST(EffectiveLength, LongestLengthThatStaysAboveTheThreshold) {
  const auto a = fixture_averages();
  EXPECT_EQ(longest_above(a, 0.85), 4096);  // 8192 dips to 0.70: 16384's 0.86 does not count
  EXPECT_EQ(longest_above(a, 0.5), 16384);
  EXPECT_EQ(longest_above(a, 0.95), 0);  // strictly above: 0.95 itself does not qualify
  EXPECT_EQ(longest_above(a, 0.99), 0);
  EXPECT_EQ(longest_above({}, 0.1), 0);
}

TEST(EffectiveLength, DefaultThresholdIsNinetyPercentOfTheTrainingLength) {
  const auto a = fixture_averages();
  // Trained at 2048: reference 0.92, threshold 0.828 -> 4096 (0.88) qualifies, 8192 does not.
  auto e = effective_length(a, 2048);
  EXPECT_EQ(e.reference_length, 2048);
  EXPECT_DOUBLE_EQ(e.reference_score, 0.92);
  EXPECT_DOUBLE_EQ(e.threshold, 0.9 * 0.92);
  EXPECT_EQ(e.length, 4096);
  // Trained at 3000: the nearest evaluated length at or below it is 2048.
  EXPECT_EQ(effective_length(a, 3000).reference_length, 2048);
  // Trained below every length: the shortest is the reference.
  EXPECT_EQ(effective_length(a, 512).reference_length, 1024);
  // A given threshold wins over the default; none qualifying gives 0.
  EXPECT_EQ(effective_length(a, 2048, 0.75).length, 4096);
  EXPECT_EQ(effective_length(a, 2048, 0.6).length, 16384);
  EXPECT_EQ(effective_length(a, 2048, 0.96).length, 0);
  // A model that scores nothing at its own length has no effective length.
  EXPECT_EQ(effective_length({{128, 0.0}, {256, 0.0}}, 128).length, 0);
}

TEST(Ruler, RequestsAreCheckedBeforeAnyWork) {
  torch::manual_seed(1);
  auto rope = make_language_model(tiny("rope"), nullptr, 259);
  RulerOptions o;
  o.tasks = {"niah_single_1", "vt"};
  o.lengths = {800};
  EXPECT_EQ(error_of(rope, o), "");
  o.lengths = {40};
  EXPECT_NE(error_of(rope, o).find("length 40: too short for a niah_single_1"), std::string::npos)
      << error_of(rope, o);
  o.lengths = {800};
  o.tasks = {"niah_single_9"};
  EXPECT_NE(error_of(rope, o).find("known: niah_single_1"), std::string::npos);
  o.tasks = {"niah_single_corpus_number"};
  EXPECT_NE(error_of(rope, o, false).find("corpus"), std::string::npos);
  o.tasks = {"vt"};
  o.depths = {0.5, 1.5};
  EXPECT_NE(error_of(rope, o).find("depth 1.5"), std::string::npos);
  auto learned = make_language_model(tiny("learned"), nullptr, 259);  // 64 rows
  o.depths = {};
  EXPECT_NE(error_of(learned, o).find("length 800"), std::string::npos);
}

TEST(Ruler, SweepDecodesEveryPromptOnceAndStoresItsAxes) {
  torch::manual_seed(3);
  auto m = make_language_model(tiny("rope"), nullptr, 259);
  RulerOptions o;
  o.tasks = {"niah_single_1", "niah_multiquery", "vt", "fwe"};
  o.lengths = {800};
  o.depths = {0, 1};
  o.samples = 3;
  o.batch_size = 2;
  o.seed = 5;
  int64_t last_done = 0, last_total = 0;
  o.progress = [&](int64_t done, int64_t total, const std::string&) {
    EXPECT_GT(done, last_done);
    last_done = done;
    last_total = total;
  };
  const auto r = run_ruler(m, {}, o, torch::kCPU);
  // Needle tasks: one cell per depth; vt and fwe: one at y = -1.
  ASSERT_EQ(r.cells.size(), 6u);
  EXPECT_EQ(last_total, 3 * 6);
  EXPECT_EQ(last_done, last_total);
  EXPECT_EQ(r.format, "fact format");
  std::set<std::pair<std::string, double>> axes;
  for (const auto& c : r.cells) {
    axes.insert({c.task, c.y});
    EXPECT_EQ(c.samples, 3);
    EXPECT_GE(c.accuracy(), 0.0);
    EXPECT_LE(c.accuracy(), 1.0);
    ASSERT_EQ(c.examples.size(), 2u);
    EXPECT_FALSE(c.examples[0].expected.empty());
    if (c.task == "vt" || c.task == "fwe") {
      EXPECT_EQ(c.mean_depth, -1);
    }
  }
  EXPECT_TRUE(axes.count({"niah_single_1", 0.0}) && axes.count({"niah_multiquery", 1.0}) &&
              axes.count({"vt", -1.0}) && axes.count({"fwe", -1.0}));
  // Every prompt's tokens are read once by a prefill pass, every answer token generated once.
  int64_t prompt_tokens = 0, answer_tokens = 0;
  for (const auto& name : o.tasks) {
    const auto& t = data::ruler_task(name);
    for (size_t d = 0; d < (t.has_depth() ? 2u : 1u); ++d)
      for (int64_t s = 0; s < 3; ++s) {
        std::mt19937_64 rng(data::trial_seed(5, "ruler/" + name, 800, 0, s));
        const auto p = data::make_ruler_prompt(t, {}, nullptr, rng, 800, t.has_depth() ? o.depths[d] : -1);
        prompt_tokens += static_cast<int64_t>(p.tokens.size());
        answer_tokens += p.total() - static_cast<int64_t>(p.tokens.size());
        for (const auto& turn : p.turns) answer_tokens -= static_cast<int64_t>(turn.forced.size());
      }
  }
  EXPECT_EQ(r.prefill_tokens, prompt_tokens);
  EXPECT_EQ(r.generated_tokens, answer_tokens);
  EXPECT_GT(r.prefill_tokens_per_s(), 0);

  const auto db_path = fs::path(CTXLAB_TEST_TMP) / ("ruler-eval-" + std::to_string(getpid()) + ".db");
  fs::remove(db_path);
  store::RunStore db(db_path.string());
  store::NewRun nr;
  nr.name = "tiny";
  nr.config_json = "{}";
  const int64_t run = db.create_run(nr);
  const auto e = effective_length(average_over_tasks(task_scores(r)), 800);
  db.transaction([&] { store_ruler(db, run, 7, r, e); });
  const auto recs = db.evals(run);
  ASSERT_EQ(recs.size(), 7u);
  for (const auto& rec : recs) {
    EXPECT_EQ(rec.step, 7);
    const auto extra = nlohmann::json::parse(rec.extra_json);
    if (rec.task == "ruler") {
      EXPECT_EQ(rec.mode, "effective_length");
      EXPECT_EQ(rec.metric, "effective_length");
      EXPECT_EQ(rec.x, 0);
      EXPECT_EQ(rec.y, -1);
      EXPECT_EQ(rec.value, static_cast<double>(e.length));
      EXPECT_TRUE(extra.contains("threshold") && extra.contains("reference_length") &&
                  extra.contains("reference_score") && extra["averages"].contains("800"));
      continue;
    }
    EXPECT_EQ(rec.task.rfind("ruler/", 0), 0u);
    EXPECT_EQ(rec.mode, "greedy");
    EXPECT_EQ(rec.metric, "accuracy");
    EXPECT_EQ(rec.x, 800);
    EXPECT_EQ(extra["samples"], 3);
    EXPECT_NEAR(extra["score_sum"].get<double>() / 3.0, rec.value, 1e-12);
    EXPECT_EQ(extra["examples"].size(), 2u);
    EXPECT_TRUE(extra["examples"][0].contains("expected") && extra["examples"][0].contains("got"));
  }
}
