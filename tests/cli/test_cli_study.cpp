// ctxlab-cli study: a tiny study runs end to end on the CPU (a base trained from a config, two
// fine-tunes from it, an evaluation, one check that holds and one that cannot), its runs are
// grouped in one study of the store, a second run of the study reuses its finished base (tagged as
// that study's base), and an
// invalid study file exits 2 with the store untouched.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli_runner.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path dir() {
  auto d = fs::path(CTXLAB_TEST_TMP) / ("cli-study-" + std::to_string(getpid()));
  fs::create_directories(d);
  return d;
}

cli_test::Result cli(const std::string& args) {
  return cli_test::run_cli(args, dir());
}

json tiny(int64_t steps) {
  return {{"model", {{"layers", 1}, {"d_model", 32}, {"heads", 2}, {"max_positions", 256}}},
          {"data", {{"builtin_docs", 6}, {"builtin_doc_tokens", 500}}},
          {"train",
           {{"seq_len", 32}, {"batch_size", 2}, {"steps", steps}, {"warmup", 1}, {"threads", 1}}},
          {"eval", {{"lengths", {32}}, {"max_tokens", 64}}}};
}

}  // namespace

TEST(CliStudy, ATinyStudyRunsAndReportsItsChecks) {
  json pi = tiny(2), yarn = tiny(2);
  pi["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 2}};
  yarn["rope_scaling"] = {
      {"rope_type", "yarn"}, {"factor", 2}, {"original_max_position_embeddings", 32}};
  json study = {{"name", "tiny-study"},
                {"claim", "the flow works"},
                {"base", {{"config", tiny(3)}}},
                {"runs", {{{"name", "pi"}, {"config", pi}}, {{"name", "yarn"}, {"config", yarn}}}},
                {"evaluations", {{{"lengths", {32, 64}}}}},
                {"checks",
                 {{{"kind", "bounded"},
                   {"run", "yarn"},
                   {"lengths", {64}},
                   {"reference_length", 32},
                   {"max_ratio", 1e6}},
                  {{"kind", "blows_up"},
                   {"run", "pi"},
                   {"length", 64},
                   {"reference_length", 32},
                   {"min_ratio", 1e6}}}}};
  const auto file = dir() / "tiny-study.json";
  std::ofstream(file) << study.dump(2);
  const auto db = dir() / "study.db";
  auto r = cli("study run " + file.string() + " --db " + db.string() + " --json");
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = cli_test::last_json_line(r.out);
  EXPECT_EQ(j["held"], 1);
  EXPECT_EQ(j["total"], 2);
  EXPECT_TRUE(j["checks"][0]["held"].get<bool>());
  EXPECT_FALSE(j["checks"][1]["held"].get<bool>());
  EXPECT_EQ(j["runs"].size(), 3u);  // base, pi, yarn
  auto runs = cli("runs --db " + db.string() + " --json");
  ASSERT_EQ(runs.rc, 0);
  EXPECT_EQ(cli_test::last_json_line(runs.out).size(), 3u);

  // The same study again: the finished base (same config as given) is reused, the fine-tunes are
  // trained again into a second study group.
  auto again = cli("study run " + file.string() + " --db " + db.string() + " --json");
  ASSERT_EQ(again.rc, 0) << again.err;
  const auto j2 = cli_test::last_json_line(again.out);
  EXPECT_EQ(j2["runs"]["base"], j["runs"]["base"]);
  EXPECT_NE(j2["runs"]["pi"], j["runs"]["pi"]);
  runs = cli("runs --db " + db.string() + " --json");
  const auto listed = cli_test::last_json_line(runs.out);
  EXPECT_EQ(listed.size(), 5u);
  // The reused base holds the second study's outcomes and is tagged as its base (the first study
  // trained it, so it is that study's member and got no tag then).
  for (const auto& r : listed) {
    if (r["id"] == j["runs"]["base"]) {
      EXPECT_EQ(r["tags"],
                json::array({"study-base:" + std::to_string(j2["study_id"].get<int64_t>())}))
          << r.dump();
    }
  }

  // A base whose config differs (another seed) is trained anew.
  study["base"]["config"]["seed"] = 9;
  std::ofstream(file) << study.dump(2);
  auto third = cli("study run " + file.string() + " --db " + db.string() + " --json");
  ASSERT_EQ(third.rc, 0) << third.err;
  EXPECT_NE(cli_test::last_json_line(third.out)["runs"]["base"], j["runs"]["base"]);
}

TEST(CliStudy, AnInvalidStudyIsRefusedBeforeTheStore) {
  json bad = {{"name", "bad"},
              {"base", {{"preset", "quickstart"}}},
              {"runs", {{{"name", "a"}, {"init", "b"}}}}};
  const auto file = dir() / "bad.json";
  std::ofstream(file) << bad.dump();
  const auto db = dir() / "untouched.db";
  auto r = cli("study run " + file.string() + " --db " + db.string());
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("runs[0].init: no run 'b'"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
  EXPECT_FALSE(fs::exists(db));
}

TEST(CliStudy, AMissingCorpusIsNamedWithTheSetupLineBeforeTheStore) {
  json base = tiny(2);
  base["data"] = {{"corpus", (dir() / "absent" / "docs.jsonl").string()}};
  json study = {{"name", "needs-data"},
                {"setup", "scripts/fetch-long-docs"},
                {"base", {{"config", base}}},
                {"runs", json::array()}};
  const auto file = dir() / "needs-data.json";
  std::ofstream(file) << study.dump();
  const auto db = dir() / "needs-data.db";
  auto r = cli("study run " + file.string() + " --db " + db.string());
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("docs.jsonl' does not exist; setup: scripts/fetch-long-docs"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
  EXPECT_FALSE(fs::exists(db));
  // A corpus that is not even a string is bad input too (exit 2, one line), not a JSON type error.
  study["base"]["config"]["data"]["corpus"] = 5;
  std::ofstream(file) << study.dump();
  r = cli("study run " + file.string() + " --db " + db.string());
  EXPECT_EQ(r.rc, 2) << r.err;
  EXPECT_NE(r.err.find("run base: data.corpus: must be a string, got 5"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
  EXPECT_FALSE(fs::exists(db));
}

TEST(CliStudy, EveryShippedStudyIsValid) {
  const fs::path studies = fs::path(CTXLAB_PRESETS).parent_path() / "studies";
  int n = 0;
  for (const auto& e : fs::directory_iterator(studies)) {
    if (e.path().extension() != ".json") continue;
    auto r = cli("study validate " + e.path().string() + " --json");
    EXPECT_EQ(r.rc, 0) << e.path() << ": " << r.err;
    // Every shipped study states its figure (the Studies tab draws it), none derived.
    const auto out = json::parse(r.out.substr(r.out.rfind('\n', r.out.size() - 2) + 1), nullptr, false);
    ASSERT_TRUE(out.is_object()) << r.out;
    EXPECT_EQ(out["plot"]["derived"], false) << e.path();
    // Every preset a study names exists.
    std::ifstream f(e.path());
    const auto s = json::parse(f);
    std::vector<std::string> presets;
    if (s["base"].contains("preset")) presets.push_back(s["base"]["preset"]);
    for (const auto& run : s["runs"])
      if (run.contains("preset")) presets.push_back(run["preset"]);
    for (const auto& p : presets)
      EXPECT_TRUE(fs::exists(fs::path(CTXLAB_PRESETS) / (p + ".json"))) << e.path() << ": " << p;
    ++n;
  }
  EXPECT_GE(n, 6);
}
