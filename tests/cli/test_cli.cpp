// ctxlab-cli end to end: a tiny run through every verb, and each kind of bad input giving a
// non-zero exit with one line naming the key, file or value while the store stays byte-identical.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_runner.h"
#include "store/file_tree.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using cli_test::Result;
using cli_test::last_json_line;
using cli_test::slurp;

fs::path dir() {
  auto d = fs::path(CTXLAB_TEST_TMP) / "cli";
  fs::create_directories(d);
  return d;
}

Result cli(const std::string& args) { return cli_test::run_cli(args, dir()); }

json tiny_config() {
  return {{"name", "tiny"},
          {"model", {{"layers", 1}, {"d_model", 32}, {"heads", 2}, {"max_positions", 128}}},
          {"data", {{"builtin_docs", 6}, {"builtin_doc_tokens", 400}}},
          {"train", {{"seq_len", 32}, {"batch_size", 2}, {"steps", 2}, {"warmup", 1}, {"threads", 1}}},
          {"eval", {{"lengths", {32, 64}}, {"max_tokens", 128}}}};
}

fs::path write_config(const std::string& name, const json& j) {
  auto p = dir() / name;
  std::ofstream(p) << j.dump(2);
  return p;
}

fs::path fresh_db(const std::string& name) {
  auto p = dir() / name;
  for (auto suffix : {"", "-wal", "-shm"}) fs::remove(p.string() + suffix);
  ctx::remove_tree(dir() / (p.stem().string() + ".runs"));
  return p;
}

// A store holding one finished run, shared by the bad-input tests.
const fs::path& seeded_store() {
  static fs::path db = [] {
    auto p = fresh_db("seeded-" + std::to_string(getpid()) + ".db");
    auto r = cli("train --config " + write_config("seed-" + std::to_string(getpid()) + ".json", tiny_config()).string() + " --db " + p.string() + " --json");
    EXPECT_EQ(r.rc, 0) << r.err;
    return p;
  }();
  return db;
}

// Runs `args` against the seeded store; expects failure with one stderr line containing `needle`
// and the store unchanged.
void expect_rejected(const std::string& args, const std::string& needle) {
  const auto& db = seeded_store();
  const auto before = slurp(db);
  auto r = cli(args + " --db " + db.string());
  EXPECT_NE(r.rc, 0) << args;
  EXPECT_NE(r.err.find(needle), std::string::npos) << "stderr: " << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "stderr: " << r.err;
  EXPECT_EQ(slurp(db), before) << args;
}

}  // namespace

TEST(Cli, TrainThenEveryReadingVerb) {
  auto db = fresh_db("verbs.db");
  auto cfg = write_config("tiny.json", tiny_config());
  auto t = cli("train --config " + cfg.string() + " --db " + db.string() + " --json");
  ASSERT_EQ(t.rc, 0) << t.err;
  auto res = last_json_line(t.out);
  EXPECT_EQ(res["status"], "finished");
  const int id = res["run_id"];
  // Event lines precede the result: steps and evaluations.
  EXPECT_NE(t.out.find("\"event\":\"step\""), std::string::npos);
  EXPECT_NE(t.out.find("\"event\":\"eval\""), std::string::npos);

  auto runs = last_json_line(cli("runs --json --db " + db.string()).out);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["id"], id);
  EXPECT_TRUE(runs[0]["ppl"]["nonoverlap"].contains("64"));

  auto show = last_json_line(cli("show " + std::to_string(id) + " --json --db " + db.string()).out);
  EXPECT_EQ(show["config"]["model"]["d_model"], 32);

  auto e = cli("eval --run " + std::to_string(id) + " --lengths 32,96 --mode sliding --json --db " + db.string());
  ASSERT_EQ(e.rc, 0) << e.err;
  EXPECT_EQ(last_json_line(e.out)["evals"].size(), 2u);

  auto t2 = cli("train --config " + cfg.string() + " --db " + db.string() + " --json");
  const int id2 = last_json_line(t2.out)["run_id"];
  auto cmp = last_json_line(cli("compare " + std::to_string(id) + " " + std::to_string(id2) + " --json --db " + db.string()).out);
  EXPECT_TRUE(cmp["config_diff"].empty());  // same config: nothing differs
  EXPECT_EQ(cmp["results"].size(), 2u);

  auto csv = cli("export " + std::to_string(id) + " " + std::to_string(id2) + " --csv --db " + db.string());
  ASSERT_EQ(csv.rc, 0);
  EXPECT_EQ(csv.out.substr(0, csv.out.find('\n')), "run,name,method,mode,32,64,96");
}

TEST(Cli, RandposEvaluationScoresRandomizedIdRunsAlikeEachTimeAndRefusesOthers) {
  // A run trained at contiguous ids has no id range to draw from: one line, exit 2, store as it
  // was.
  expect_rejected("eval --run 1 --lengths 32 --mode randpos",
                  "--mode: randpos scores windows at random ids from the range of train.positions "
                  "randpos, and this run trains with 'contiguous'");
  EXPECT_EQ(cli("eval --run 1 --lengths 32 --mode randpos --db " + seeded_store().string()).rc, 2);

  auto j = tiny_config();
  j["train"]["positions"] = {{"type", "randpos"}, {"factor", 2}};  // ids from [0, 64)
  j["eval"]["lengths"] = {32, 64, 96};
  j["eval"]["mode"] = {"nonoverlap", "randpos"};
  auto db = fresh_db("randpos.db");
  auto t = cli("train --config " + write_config("randpos.json", j).string() + " --db " +
               db.string() + " --json");
  ASSERT_EQ(t.rc, 0) << t.err;
  const int id = last_json_line(t.out)["run_id"];
  std::map<int64_t, double> randpos;
  std::istringstream lines(t.out);
  for (std::string line; std::getline(lines, line);) {
    const auto e = json::parse(line, nullptr, false);
    if (e.is_object() && e.value("event", "") == "eval" && e.value("mode", "") == "randpos")
      randpos[e["length"].get<int64_t>()] = e["ppl"].get<double>();
  }
  // 96 tokens need more distinct ids than [0, 64) holds: skipped with a warning, not failed.
  ASSERT_EQ(randpos.size(), 2u) << t.out;
  EXPECT_TRUE(randpos.count(32) && randpos.count(64));
  EXPECT_NE(t.err.find("randpos length 96 skipped"), std::string::npos) << t.err;
  // Evaluated again later: the same windows at the same ids, so the same perplexity.
  auto e = cli("eval --run " + std::to_string(id) + " --lengths 32 --mode randpos --json --db " +
               db.string());
  ASSERT_EQ(e.rc, 0) << e.err;
  const auto evals = last_json_line(e.out)["evals"];
  ASSERT_EQ(evals.size(), 1u);
  EXPECT_EQ(evals[0]["mode"], "randpos");
  EXPECT_DOUBLE_EQ(evals[0]["ppl"].get<double>(), randpos[32]);
}

TEST(Cli, RopePositionsAndMethodsPrintJson) {
  auto j = tiny_config();
  j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 4}};
  auto cfg = write_config("rope.json", j);
  auto r = last_json_line(cli("rope --config " + cfg.string() + " --length 256 --json").out);
  ASSERT_EQ(r["inv_freq"].size(), 8u);  // head_dim 16 -> 8 pairs
  EXPECT_NEAR(r["inv_freq"][0].get<double>(), 0.25, 1e-12);
  EXPECT_DOUBLE_EQ(r["attention_factor"].get<double>(), 1.0);

  auto p = last_json_line(cli("positions --config " + cfg.string() + " --samples 3 --json").out);
  ASSERT_EQ(p["ids"].size(), 3u);
  EXPECT_EQ(p["ids"][0].size(), 32u);
  int64_t total = 0;
  for (auto& n : p["id_histogram"]["counts"]) total += n.get<int64_t>();
  EXPECT_EQ(total, 3 * 32);

  auto m = last_json_line(cli("methods --json").out);
  EXPECT_GE(m.size(), 7u);
}

TEST(Cli, RopeOfAStoredRunReadsItsCheckpoint) {
  auto db = fresh_db("rope-run.db");
  auto j = tiny_config();
  j["rope_scaling"] = {{"rope_type", "clex"}, {"max_factor", 4}, {"original_max_position_embeddings", 32}};
  j["train"]["positions"] = {{"type", "clex_positions"}, {"original_len", 32}, {"max_t", 4}};
  j["eval"]["enabled"] = false;
  auto t = cli("train --config " + write_config("clex-run.json", j).string() + " --db " + db.string() + " --json");
  ASSERT_EQ(t.rc, 0) << t.err;
  const int id = last_json_line(t.out)["run_id"];
  auto r = cli("rope --run " + std::to_string(id) + " --length 100 --json --db " + db.string());
  ASSERT_EQ(r.rc, 0) << r.err;
  auto f = last_json_line(r.out);
  EXPECT_EQ(f["inv_freq"].size(), 8u);
  EXPECT_EQ(f["resolved"]["t"], 4);  // ceil(100 / 32)
  EXPECT_EQ(f["resolved"]["trained_ode"], true);
  EXPECT_NE(cli("rope --json").rc, 0);  // neither --config nor --run
}

TEST(Cli, BadConfigsAreNamed) {
  auto j = tiny_config();
  j["model"]["layres"] = 2;
  expect_rejected("train --config " + write_config("unknown.json", j).string(), "model.layres: unknown key");
  j = tiny_config();
  j["train"]["steps"] = -5;
  expect_rejected("train --config " + write_config("neg.json", j).string(), "train.steps");
  j = tiny_config();
  j["model"]["heads"] = 3;
  expect_rejected("train --config " + write_config("heads.json", j).string(), "model.heads: 3 does not divide d_model 32");
  j = tiny_config();
  j["train"]["lr"] = "fast";
  expect_rejected("train --config " + write_config("type.json", j).string(), "train.lr: must be a number");
  j = tiny_config();
  j["train"]["cuda_graph"] = true;  // the tiny config trains on the CPU
  expect_rejected("train --config " + write_config("graph-cpu.json", j).string(),
                  "train.cuda_graph: CUDA graphs need a CUDA device");
  j["train"]["grad_accum"] = 2;
  expect_rejected("train --config " + write_config("graph-accum.json", j).string(),
                  "train.cuda_graph: the graph holds one micro-batch's passes (train.grad_accum is 2");
  std::ofstream(dir() / "broken.json") << "{ \"name\": ";
  expect_rejected("train --config " + (dir() / "broken.json").string(), "broken.json: not valid JSON");
  expect_rejected("train --config " + (dir() / "nothere.json").string(), "nothere.json");
}

TEST(Cli, BadCorporaAndCheckpointsAreNamed) {
  auto j = tiny_config();
  j["data"]["corpus"] = (dir() / "no-such-corpus.txt").string();
  expect_rejected("train --config " + write_config("missing.json", j).string(), "no-such-corpus.txt");
  std::ofstream(dir() / "empty.txt").close();
  j["data"]["corpus"] = (dir() / "empty.txt").string();
  expect_rejected("train --config " + write_config("empty.json", j).string(), "empty.txt");
  std::ofstream(dir() / "bad.pt") << "garbage";
  j = tiny_config();
  j["init"] = {{"checkpoint", (dir() / "bad.pt").string()}};
  expect_rejected("train --config " + write_config("badckpt.json", j).string(), "bad.pt");
  j["init"] = {{"run", 999}};
  expect_rejected("train --config " + write_config("norun.json", j).string(), "no run 999");
}

TEST(Cli, NonUtf8TextIsAcceptedAsBytes) {
  std::string text;
  for (int i = 0; i < 3000; ++i) text += static_cast<char>(i % 7 == 0 ? 0xff : (i % 3 == 0 ? 0xc3 : 'a' + i % 26));
  std::ofstream(dir() / "latin.txt", std::ios::binary) << text;
  auto j = tiny_config();
  j["data"] = {{"corpus", (dir() / "latin.txt").string()}, {"split", "file"}, {"val_fraction", 0.2}};
  auto db = fresh_db("bytes.db");
  auto r = cli("train --config " + write_config("latin.json", j).string() + " --db " + db.string() + " --json");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(last_json_line(r.out)["status"], "finished");
}

TEST(Cli, ForeignAndNewerStoresAreRefusedAndLeftAlone) {
  auto text = dir() / "notes.db";
  std::ofstream(text) << "just some text, not a database at all........................................";
  auto before = slurp(text);
  auto r = cli("runs --db " + text.string());
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("notes.db"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(text), before);

  auto foreign = fresh_db("foreign.db");
  {
    SQLite::Database f(foreign.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    f.exec("CREATE TABLE invoices(id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5)");
  }
  before = slurp(foreign);
  r = cli("runs --db " + foreign.string());
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("not a CtxLab"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(foreign), before);

  auto newer = fresh_db("newer.db");
  ASSERT_EQ(cli("runs --db " + newer.string()).rc, 0);
  {
    SQLite::Database f(newer.string(), SQLite::OPEN_READWRITE);
    f.exec("PRAGMA user_version = 99");
  }
  before = slurp(newer);
  r = cli("runs --db " + newer.string());
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("99"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(newer), before);
}

TEST(Cli, KilledRunShowsInterruptedAndResumesToTheEnd) {
  auto db = fresh_db("killed.db");
  auto j = tiny_config();
  j["train"]["steps"] = 400;
  j["train"]["checkpoint_every"] = 20;
  j["eval"]["enabled"] = false;
  auto cfg = write_config("killed.json", j);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) _exit(126);
    execl(CTXLAB_CLI, CTXLAB_CLI, "train", "--config", cfg.c_str(), "--db", db.c_str(), "--json", (char*)nullptr);
    _exit(127);
  }
  // Wait for the first checkpoint, then kill -9 mid-run.
  auto ckdir = dir() / "killed.runs" / "run-1";
  bool saw = false;
  for (int i = 0; i < 600 && !saw; ++i) {
    usleep(50000);
    std::error_code ec;
    if (fs::is_directory(ckdir, ec))
      for (auto& e : fs::directory_iterator(ckdir, ec)) saw |= e.path().extension() == ".pt";
  }
  ASSERT_TRUE(saw) << "no checkpoint appeared";
  kill(pid, SIGKILL);
  int st = 0;
  waitpid(pid, &st, 0);
  ASSERT_TRUE(WIFSIGNALED(st)) << "the run finished before it could be killed";

  auto runs = last_json_line(cli("runs --json --db " + db.string()).out);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["status"], "interrupted");
  auto r = cli("resume 1 --json --db " + db.string());
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(last_json_line(r.out)["status"], "finished");
  auto show = last_json_line(cli("show 1 --json --db " + db.string()).out);
  EXPECT_EQ(show["metrics"]["loss"]["step"], 400);
  // The resumed run overwrote, not duplicated, the points after its checkpoint.
  SQLite::Database check(db.string(), SQLite::OPEN_READONLY);
  SQLite::Statement q(check, "SELECT COUNT(*), COUNT(DISTINCT step) FROM metrics m JOIN metric_names n ON n.id = m.metric_id WHERE n.name = 'loss'");
  ASSERT_TRUE(q.executeStep());
  EXPECT_EQ(q.getColumn(0).getInt(), 400);
  EXPECT_EQ(q.getColumn(1).getInt(), 400);
}
