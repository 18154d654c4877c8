// ctxlab-cli ruler and eval --mode longdoc: the RULER-style suite on an imported Hugging Face model
// (natural-language prompts in its tokenizer) and on a byte-level run that requested it in its
// config (fact format, run when training ends); records on their documented axes, progress event
// lines, prefill throughput in --json; long-document perplexity records with their protocol (lengths
// as a FROM:TO:STEP range); and
// every bad input exits 2 with one line and leaves the store byte-identical.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "cli_runner.h"
#include "config/run_config.h"
#include "store/file_tree.h"
#include "store/run_store.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path kModels = fs::path(CTXLAB_FIXTURES) / "hf" / "models";

fs::path dir() {
  auto d = fs::path(CTXLAB_TEST_TMP) / ("cli-ruler-" + std::to_string(getpid()));
  fs::create_directories(d);
  return d;
}

cli_test::Result cli(const std::string& args) { return cli_test::run_cli(args, dir()); }

fs::path fresh_db(const std::string& name) {
  auto p = dir() / name;
  for (auto s : {"", "-wal", "-shm"}) fs::remove(p.string() + s);
  ctx::remove_tree(dir() / (p.stem().string() + ".runs"));
  return p;
}

// The llama-gqa fixture imported as run 1.
const fs::path& hf_store() {
  static fs::path db = [] {
    auto p = fresh_db("hf.db");
    auto r = cli("import " + (kModels / "llama-gqa").string() + " --db " + p.string() + " --json");
    EXPECT_EQ(r.rc, 0) << r.err;
    return p;
  }();
  return db;
}

// A tiny byte-level RoPE run trained for two steps that asks for two RULER tasks at 400 tokens.
const fs::path& byte_store() {
  static fs::path db = [] {
    auto p = fresh_db("byte.db");
    json cfg = {{"name", "tiny-rope"},
                {"model", {{"layers", 2}, {"d_model", 32}, {"heads", 2}, {"max_positions", 128}}},
                {"data", {{"builtin_docs", 6}, {"builtin_doc_tokens", 400}}},
                {"train", {{"seq_len", 32}, {"batch_size", 2}, {"steps", 2}, {"warmup", 1}, {"threads", 1}}},
                {"eval",
                 {{"lengths", {32}},
                  {"max_tokens", 64},
                  {"ruler", {{"lengths", {400}}, {"tasks", {"niah_single_1", "vt"}}, {"samples", 2}}}}}};
    std::ofstream(dir() / "tiny-rope.json") << cfg.dump();
    auto r = cli("train --config " + (dir() / "tiny-rope.json").string() + " --db " + p.string() + " --json");
    EXPECT_EQ(r.rc, 0) << r.err;
    return p;
  }();
  return db;
}

// A store whose only run has no checkpoint.
const fs::path& bare_store() {
  static fs::path db = [] {
    auto p = fresh_db("bare.db");
    ctx::store::RunStore s(p.string());
    ctx::store::NewRun r;
    r.name = "never-trained";
    r.config_json = ctx::to_json(ctx::parse_run_config(json::object())).dump();
    s.create_run(r);
    return p;
  }();
  return db;
}

std::vector<json> events_of(const std::string& out, const std::string& kind) {
  std::vector<json> events;
  std::stringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    const auto j = json::parse(line, nullptr, false);
    if (j.is_object() && j.value("event", "") == kind) events.push_back(j);
  }
  return events;
}

void expect_rejected(const fs::path& db, const std::string& args, const std::string& needle) {
  const auto before = cli_test::slurp(db);
  auto r = cli(args + " --db " + db.string());
  EXPECT_EQ(r.rc, 2) << args << "\n" << r.err;
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << args << "\nstderr: " << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "stderr: " << r.err;
  EXPECT_EQ(cli_test::slurp(db), before) << args;
}

}  // namespace

TEST(CliRuler, SuiteOnAnImportedModelStoresItsCellsAndEffectiveLength) {
  const auto& db = hf_store();
  auto r = cli("ruler --run 1 --lengths 768,1024 --tasks niah_single_1,niah_multikey_2,vt,fwe,"
               "niah_single_corpus_word --depths 0,1 --samples 2 --json --db " + db.string());
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = cli_test::last_json_line(r.out);
  EXPECT_EQ(j["format"], "natural language");
  EXPECT_EQ(j["cells"].size(), 2u * (3 * 2 + 2));  // needle tasks at 2 depths, the others at -1
  EXPECT_GT(j["prefill_tokens_per_s"].get<double>(), 0);
  EXPECT_GT(j["prefill_tokens"].get<int64_t>(), 2 * 768);
  EXPECT_GT(j["minutes"].get<double>(), 0);
  EXPECT_TRUE(j["averages"].contains("768") && j["averages"].contains("1024"));
  EXPECT_TRUE(j.contains("effective_length") && j.contains("threshold"));
  const auto progress = events_of(r.out, "progress");
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back()["done"], progress.back()["total"]);
  EXPECT_EQ(progress.back()["total"], 2 * 2 * (3 * 2 + 2));
  EXPECT_EQ(progress.front()["what"].get<std::string>().rfind("ruler ", 0), 0u);

  ctx::store::RunStore s(db.string(), true);
  std::set<std::tuple<std::string, double, double>> axes;
  for (const auto& e : s.evals(1)) {
    if (e.task.rfind("ruler/", 0) != 0) continue;
    EXPECT_EQ(e.mode, "greedy");
    EXPECT_EQ(e.metric, "accuracy");
    const auto extra = json::parse(e.extra_json);
    EXPECT_EQ(extra["samples"], 2);
    EXPECT_NEAR(extra["score_sum"].get<double>() / 2, e.value, 1e-12);
    EXPECT_EQ(extra["examples"].size(), 2u);
    axes.insert({e.task, e.x, e.y});
  }
  EXPECT_EQ(axes.size(), 16u);
  EXPECT_TRUE(axes.count({"ruler/niah_single_1", 768, 0}) && axes.count({"ruler/niah_single_1", 1024, 1}));
  EXPECT_TRUE(axes.count({"ruler/vt", 1024, -1}) && axes.count({"ruler/fwe", 768, -1}));
  EXPECT_TRUE(axes.count({"ruler/niah_single_corpus_word", 768, 1}));
  const auto eff = s.evals(1, "ruler");
  ASSERT_EQ(eff.size(), 1u);
  EXPECT_EQ(eff[0].mode, "effective_length");
  EXPECT_EQ(eff[0].metric, "effective_length");
  EXPECT_EQ(eff[0].x, 0);
  EXPECT_EQ(eff[0].y, -1);
  EXPECT_EQ(eff[0].value, j["effective_length"].get<double>());
  const auto extra = json::parse(eff[0].extra_json);
  EXPECT_EQ(extra["averages"].size(), 2u);
  EXPECT_EQ(extra["threshold"], j["threshold"]);
  EXPECT_TRUE(extra.contains("reference_length") && extra.contains("reference_score"));
}

TEST(CliRuler, ConfigRequestRunsWhenTrainingEndsInTheFactFormat) {
  ctx::store::RunStore s(byte_store().string(), true);
  const auto cells = s.evals(1, "ruler/niah_single_1");
  ASSERT_EQ(cells.size(), 1u);
  EXPECT_EQ(cells[0].x, 400);
  EXPECT_EQ(cells[0].y, -1);
  EXPECT_EQ(cells[0].step, 2);
  EXPECT_EQ(json::parse(cells[0].extra_json)["format"], "fact format");
  EXPECT_EQ(s.evals(1, "ruler/vt").size(), 1u);
  const auto eff = s.evals(1, "ruler");
  ASSERT_EQ(eff.size(), 1u);
  // The default reference: train.seq_len is 32, below every evaluated length, so the shortest.
  EXPECT_EQ(json::parse(eff[0].extra_json)["reference_length"], 400);
}

TEST(CliRuler, LongDocPerplexityRecordsItsProtocol) {
  const auto& db = byte_store();
  auto r = cli("eval --run 1 --mode longdoc --lengths 64:128:64 --stride 32 --docs 0 --json --db " + db.string());
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = cli_test::last_json_line(r.out);
  EXPECT_GE(j["docs"].get<int64_t>(), 1);
  EXPECT_EQ(j["evals"].size(), 2u);
  const auto progress = events_of(r.out, "progress");
  ASSERT_FALSE(progress.empty());
  std::set<std::string> what;
  for (const auto& p : progress) what.insert(p["what"]);
  EXPECT_EQ(what, (std::set<std::string>{"longdoc 64", "longdoc 128"}));
  EXPECT_EQ(progress.back()["done"], progress.back()["total"]);

  ctx::store::RunStore s(db.string(), true);
  std::set<std::pair<double, std::string>> seen;
  for (const auto& e : s.evals(1, "ppl")) {
    if (e.mode != "longdoc") continue;
    seen.insert({e.x, e.metric});
    const auto extra = json::parse(e.extra_json);
    EXPECT_EQ(extra["docs"], j["docs"]);
    EXPECT_EQ(extra["stride"], 32);
    EXPECT_EQ(extra["bos"], "once per window");
    EXPECT_EQ(extra["tokenizer"]["kind"], "byte");
    EXPECT_FALSE(extra["tokenizer"]["fingerprint"].get<std::string>().empty());
    if (e.metric == "tokens") {
      EXPECT_EQ(e.value, 128.0 * j["docs"].get<double>());
    }
  }
  EXPECT_EQ(seen.size(), 6u);  // ppl, loss, tokens at both lengths
  EXPECT_TRUE(s.artifact(1, "position_loss/longdoc/128"));
}

TEST(CliRuler, BadInputIsNamedAndStoresNothing) {
  const auto& hf = hf_store();
  expect_rejected(hf, "ruler --run 1 --lengths 1024 --tasks niah_single_1,niah_single_9",
                  "task 'niah_single_9': unknown (known: niah_single_1");
  expect_rejected(hf, "ruler --run 1 --lengths 40 --tasks vt", "length 40: too short for a vt prompt");
  expect_rejected(hf, "ruler --run 1 --lengths 1024 --tasks vt --depths 0.5,2", "depth 2");
  expect_rejected(hf, "ruler --run 1 --lengths 1024 --tasks vt --threshold 1.5", "--threshold 1.5");
  expect_rejected(hf, "ruler --run 7 --lengths 1024", "no run 7");
  expect_rejected(bare_store(), "ruler --run 1 --lengths 1024 --tasks vt", "has no checkpoint");
  expect_rejected(bare_store(), "eval --run 1 --mode longdoc --lengths 1024", "has no checkpoint");
  const auto& bytes = byte_store();
  expect_rejected(bytes, "eval --run 1 --mode longdoc --lengths 64 --stride 0", "stride 0");
  expect_rejected(bytes, "eval --run 1 --mode longdoc --lengths 64,128 --stride 100", "stride 100");
  expect_rejected(bytes, "eval --run 1 --mode longdoc --lengths 64,100000 --stride 32",
                  "no validation document holds 100000 tokens");
  expect_rejected(bytes, "eval --run 1 --mode longdoc,sliding --lengths 64", "give it alone");
  expect_rejected(bytes, "eval --run 1 --mode longdoc --lengths 128:64:32", "'128:64:32' is not a range");
}
