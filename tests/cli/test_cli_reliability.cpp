// ctxlab-cli driven carelessly or hostilely: bad configs and corpora refused alike by check and
// train, signals in every phase, damaged checkpoints and stores, a copied store.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/cli_child.h"
#include "sanitizers/sanitizer_skip.h"
#include "store/file_tree.h"

namespace fs = std::filesystem;
using ctx::test::CliChild;
using ctx::test::run_cli;
using nlohmann::json;

namespace {

fs::path fresh_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const fs::path d = fs::path(CTXLAB_TEST_TMP) / "cli-reliability" / info->name();
  ctx::remove_tree(d);
  fs::create_directories(d);
  return d;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string write(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
  return p.string();
}

json tiny(int64_t steps = 2) {
  return {{"name", "tiny"},
          {"model", {{"layers", 1}, {"d_model", 32}, {"heads", 2}, {"max_positions", 128}}},
          {"data", {{"builtin_docs", 6}, {"builtin_doc_tokens", 400}}},
          {"train",
           {{"seq_len", 32},
            {"batch_size", 2},
            {"steps", steps},
            {"warmup", 1},
            {"threads", 1},
            {"checkpoint_every", 5}}},
          {"eval", {{"lengths", {32, 64}}, {"max_tokens", 128}}}};
}

json last_json_line(const std::string& out) {
  auto end = out.find_last_not_of('\n');
  auto start = out.rfind('\n', end);
  start = start == std::string::npos ? 0 : start + 1;
  return json::parse(out.substr(start, end - start + 1));
}

int lines(const std::string& s) {
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

// `check` and `train` both refuse `cfg` with exit 2 and one line containing `needle`; train
// stores nothing.
void expect_check_and_train_refuse(const fs::path& test_dir, const json& cfg,
                                   const std::string& needle) {
  static int n = 0;
  const fs::path dir = test_dir / ("case-" + std::to_string(n++));
  fs::create_directories(dir);
  const auto path = write(dir / "cfg.json", cfg.dump());
  auto c = run_cli({"check", "--config", path}, 20);
  EXPECT_EQ(c.rc, 2) << c.err;
  EXPECT_NE(c.err.find(needle), std::string::npos) << c.err;
  EXPECT_EQ(lines(c.err), 1) << c.err;
  const auto db = (dir / "s.db").string();
  auto t = run_cli({"train", "--config", path, "--db", db}, 20);
  EXPECT_EQ(t.rc, 2) << t.err;
  EXPECT_NE(t.err.find(needle), std::string::npos) << t.err;
  EXPECT_EQ(lines(t.err), 1) << t.err;
  EXPECT_EQ(t.out.find("\"event\":\"step\""), std::string::npos);
  auto runs = run_cli({"runs", "--json", "--db", db}, 20);
  ASSERT_EQ(runs.rc, 0) << runs.err;
  EXPECT_TRUE(last_json_line(runs.out).empty()) << runs.out;
}

// Trains `cfg` into `db` to its end; returns the run id.
int64_t train(const fs::path& dir, const json& cfg, const std::string& db) {
  const auto path = write(dir / "train.json", cfg.dump());
  auto t = run_cli({"train", "--config", path, "--db", db, "--json"});
  EXPECT_EQ(t.rc, 0) << t.err;
  return last_json_line(t.out).value("run_id", int64_t{0});
}

std::string status_of(const std::string& db, int64_t run) {
  auto s = run_cli({"show", std::to_string(run), "--json", "--db", db}, 30);
  EXPECT_EQ(s.rc, 0) << s.err;
  return last_json_line(s.out).value("status", "");
}

}  // namespace

TEST(CliReliability, CheckRefusesWhatTrainWouldFailOn) {
  const fs::path dir = fresh_dir();
  auto j = tiny();
  j["eval"]["lengths"] = {INT64_MAX};
  expect_check_and_train_refuse(dir, j, "eval.lengths[0]: length 9223372036854775807");
  j = tiny();
  j["data"] = {{"corpus", write(dir / "five.txt", "hello")}};
  expect_check_and_train_refuse(dir, j, "eval.lengths[0]: length 32 needs more than");
  j["data"] = {{"corpus", "/dev/zero"}};
  expect_check_and_train_refuse(dir, j, "is a character device");
  const auto fifo = (dir / "pipe.txt").string();
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  j["data"] = {{"corpus", fifo}};
  expect_check_and_train_refuse(dir, j, "is a FIFO");
  j["data"] = {{"corpus", (dir / "nothere.txt").string()}};
  expect_check_and_train_refuse(dir, j, "nothere.txt");
  // --config-only (the window's form check) stops at the config itself: the same config passes.
  const auto only = write(dir / "config-only.json", j.dump());
  auto c = run_cli({"check", "--config-only", "--config", only, "--json"}, 20);
  EXPECT_EQ(c.rc, 0) << c.err;
  EXPECT_TRUE(last_json_line(c.out).value("ok", false)) << c.out;
  j = tiny();
  j["model"]["layers"] = 256;
  j["model"]["d_model"] = 65536;
  j["model"]["heads"] = 64;
  expect_check_and_train_refuse(dir, j, "to train");
}

TEST(CliReliability, ConfigPathsThatAreNotFilesExit2AtOnce) {
  const fs::path dir = fresh_dir();
  const auto fifo = (dir / "cfg.json").string();
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& path : {dir.string(), fifo, std::string("/dev/zero")}) {
    for (const char* verb : {"check", "train"}) {
      auto r = run_cli({verb, "--config", path, "--db", (dir / "s.db").string()}, 5);
      EXPECT_EQ(r.rc, 2) << verb << " " << path << ": " << r.err;
      EXPECT_NE(r.err.find(path), std::string::npos) << r.err;
      EXPECT_EQ(lines(r.err), 1) << r.err;
    }
  }
  write(dir / "overflow.json", R"({"seed": 1e999})");
  auto r = run_cli({"check", "--config", (dir / "overflow.json").string()}, 10);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("overflow.json"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "s.db"));
}

TEST(CliReliability, BinaryCorpusTrainsWithAWarning) {
  const fs::path dir = fresh_dir();
  std::string bin(4000, 'a');
  for (size_t i = 0; i < bin.size(); i += 7) bin[i] = '\0';
  auto j = tiny();
  j["data"] = {{"corpus", write(dir / "blob.bin", bin)}, {"val_fraction", 0.3}};
  const auto cfg = write(dir / "cfg.json", j.dump());
  auto c = run_cli({"check", "--config", cfg, "--json"}, 30);
  ASSERT_EQ(c.rc, 0) << c.err;
  EXPECT_NE(last_json_line(c.out)["warnings"].dump().find("looks binary"), std::string::npos);
  EXPECT_NE(c.err.find("warning:"), std::string::npos) << c.err;
  auto t = run_cli({"train", "--config", cfg, "--db", (dir / "s.db").string(), "--json"});
  ASSERT_EQ(t.rc, 0) << t.err;
  EXPECT_NE(t.out.find("looks binary"), std::string::npos);
}

// SIGTERM exits 143 and SIGINT 130 in training and in the final evaluation; the run is
// interrupted (never left running) and resume finishes it.
TEST(CliReliability, SignalsAreHonouredInTrainingAndEvaluation) {
  const fs::path dir = fresh_dir();
  struct Case {
    int sig, code;
    const char* phase;  // the event line to wait for before signalling
  };
  int n = 0;
  for (const Case& k :
       {Case{SIGTERM, 143, "\"event\":\"step\""}, Case{SIGINT, 130, "\"event\":\"step\""},
        Case{SIGTERM, 143, "\"event\":\"eval\""}, Case{SIGINT, 130, "\"event\":\"eval\""}}) {
    const std::string db = (dir / ("s" + std::to_string(n++) + ".db")).string();
    auto j = tiny(std::string(k.phase).find("step") != std::string::npos ? 100000 : 2);
    // Many lengths: evaluation takes long enough to be caught in the middle.
    j["eval"]["lengths"] = json::array();
    for (int L = 16; L <= 400; L += 8) j["eval"]["lengths"].push_back(L);
    j["eval"]["mode"] = {"nonoverlap", "sliding"};
    j["eval"]["max_tokens"] = 8000;
    j["data"]["builtin_docs"] = 20;
    j["data"]["builtin_doc_tokens"] = 4000;
    j["data"]["val_fraction"] = 0.3;
    const auto cfg = write(dir / "sig.json", j.dump());
    CliChild child({"train", "--config", cfg, "--db", db, "--json"});
    ASSERT_TRUE(child.wait_for_output(
        [&](const std::string& out) { return out.find(k.phase) != std::string::npos; }, 120))
        << k.phase << " never came: " << child.err();
    kill(child.pid(), k.sig);
    // The deadline only guards against a signal that is never honoured (the run would go on for
    // 100000 steps or ~100 lengths); how fast it is honoured is scripts/stress's figure.
    const int rc = child.wait(60);
    EXPECT_EQ(rc, k.code) << k.phase << ": " << child.err();
    EXPECT_NE(child.err().find(k.sig == SIGTERM ? "SIGTERM" : "SIGINT"), std::string::npos)
        << child.err();
    EXPECT_EQ(status_of(db, 1), "interrupted");
    // Resume to the end (training is done; the evaluation runs again, whole).
    if (std::string(k.phase).find("eval") != std::string::npos && k.sig == SIGTERM) {
      auto r = run_cli({"resume", "1", "--json", "--db", db});
      EXPECT_EQ(r.rc, 0) << r.err;
      EXPECT_EQ(status_of(db, 1), "finished");
    }
  }
}

TEST(CliReliability, EvalVerbStopsAtASignalAndRepeatedLengthsRunOnce) {
  const fs::path dir = fresh_dir();
  const std::string db = (dir / "s.db").string();
  auto j = tiny();
  j["data"]["builtin_docs"] = 10;
  j["data"]["builtin_doc_tokens"] = 2000;
  j["data"]["val_fraction"] = 0.3;
  const auto id = train(dir, j, db);
  auto r = run_cli(
      {"eval", "--run", std::to_string(id), "--lengths", "32,32,48,32", "--json", "--db", db});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(last_json_line(r.out)["evals"].size(), 2u);
  std::string many;
  for (int L = 16; L <= 400; L += 2) many += (many.empty() ? "" : ",") + std::to_string(L);
  CliChild child({"eval", "--run", std::to_string(id), "--lengths", many, "--mode", "sliding",
                  "--json", "--db", db});
  ASSERT_TRUE(child.wait_for_output(
      [](const std::string& out) { return out.find("\"event\":\"eval\"") != std::string::npos; },
      60))
      << child.err();
  kill(child.pid(), SIGTERM);
  EXPECT_EQ(child.wait(60), 143) << child.err();
  EXPECT_EQ(status_of(db, id), "finished");  // an evaluation never changes the run's status
}

// A signal stops `study run` too: its exit status is the signal's, the run it was training is
// interrupted (resumable), and no later run of the study starts.
TEST(CliReliability, StudyRunStopsAtASignal) {
  const fs::path dir = fresh_dir();
  const std::string db = (dir / "s.db").string();
  const json study = {{"name", "stopped"},
                      {"base", {{"config", tiny(100000)}}},
                      {"runs", {{{"name", "next"}, {"init", "base"}, {"config", tiny(2)}}}}};
  const auto file = write(dir / "study.json", study.dump());
  CliChild child({"study", "run", file, "--db", db, "--json"});
  ASSERT_TRUE(child.wait_for_output(
      [](const std::string& out) { return out.find("\"event\":\"step\"") != std::string::npos; },
      120))
      << child.err();
  kill(child.pid(), SIGTERM);
  EXPECT_EQ(child.wait(60), 143) << child.err();
  EXPECT_NE(child.err().find("interrupted by SIGTERM during study run 'tiny' (1)"), std::string::npos)
      << child.err();
  EXPECT_EQ(status_of(db, 1), "interrupted");
  auto runs = run_cli({"runs", "--json", "--db", db}, 30);
  ASSERT_EQ(runs.rc, 0) << runs.err;
  EXPECT_EQ(last_json_line(runs.out).size(), 1u) << runs.out;
}

TEST(CliReliability, DamagedCheckpointsExit2AndLeaveTheRunAsItWas) {
  const fs::path dir = fresh_dir();
  const std::string db = (dir / "s.db").string();
  auto j = tiny(100000);
  const auto cfg = write(dir / "long.json", j.dump());
  {
    CliChild child({"train", "--config", cfg, "--db", db, "--json"});
    ASSERT_TRUE(child.wait_for_output(
        [](const std::string& out) { return out.find("\"step\":12,") != std::string::npos; }, 60));
    kill(child.pid(), SIGTERM);
    ASSERT_EQ(child.wait(10), 143) << child.err();
  }
  ASSERT_EQ(status_of(db, 1), "interrupted");
  std::vector<fs::path> cks;
  for (const auto& e : fs::directory_iterator(dir / "s.runs" / "run-1"))
    if (e.path().extension() == ".pt") cks.push_back(e.path());
  std::sort(cks.begin(), cks.end());
  ASSERT_FALSE(cks.empty());
  const std::string good = slurp(cks.back());
  for (const std::string& bad : {good.substr(0, good.size() / 2), [&] {
                                   std::string b = good;
                                   b[b.size() / 2] = static_cast<char>(b[b.size() / 2] ^ 4);
                                   return b;
                                 }()}) {
    write(cks.back(), bad);
    const std::string before = slurp(db);
    for (std::vector<std::string> args :
         {std::vector<std::string>{"resume", "1", "--db", db},
          std::vector<std::string>{"eval", "--run", "1", "--db", db}}) {
      auto r = run_cli(args, 60);
      EXPECT_EQ(r.rc, 2) << args[0] << ": " << r.err;
      EXPECT_NE(r.err.find(cks.back().string()), std::string::npos) << r.err;
      EXPECT_EQ(lines(r.err), 1) << r.err;
    }
    EXPECT_EQ(status_of(db, 1), "interrupted");
  }
  write(cks.back(), good);
  // Whole again: resume continues (the run is long; stop it once it is running).
  CliChild child({"resume", "1", "--json", "--db", db});
  ASSERT_TRUE(child.wait_for_output(
      [](const std::string& out) { return out.find("\"event\":\"step\"") != std::string::npos; },
      60))
      << child.err();
  kill(child.pid(), SIGINT);
  EXPECT_EQ(child.wait(10), 130);
}

TEST(CliReliability, DamagedStoreIsRefusedByNameAndNeverWritten) {
  const fs::path dir = fresh_dir();
  const std::string db = (dir / "s.db").string();
  auto j = tiny();
  for (int i = 0; i < 3; ++i) train(dir, j, db);
  ASSERT_FALSE(fs::exists(db + "-wal") && fs::file_size(db + "-wal") > 0);
  {
    std::fstream f(db, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096 * 2);
    const std::string junk(4096 * 3, '\x3c');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  const std::string before = slurp(db);
  const auto cfg = write(dir / "again.json", j.dump());
  auto t = run_cli({"train", "--config", cfg, "--db", db});
  EXPECT_EQ(t.rc, 2) << t.err;
  EXPECT_NE(t.err.find(db + " is damaged"), std::string::npos) << t.err;
  EXPECT_EQ(lines(t.err), 1) << t.err;
  EXPECT_EQ(slurp(db), before);
  // Reading: read-only, with a warning; it reads what it can or names the damage, writes nothing.
  auto r = run_cli({"runs", "--db", db}, 30);
  EXPECT_TRUE(r.rc == 0 || r.rc == 2) << r.err;
  EXPECT_NE(r.err.find("damaged"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(db), before);
}

TEST(CliReliability, EmptyFileIsNotTakenForANewStore) {
  const fs::path dir = fresh_dir();
  const std::string db = write(dir / "zero.db", "");
  for (std::vector<std::string> args :
       {std::vector<std::string>{"runs", "--db", db},
        std::vector<std::string>{"train", "--config", write(dir / "c.json", tiny().dump()), "--db",
                                 db}}) {
    auto r = run_cli(args, 60);
    EXPECT_EQ(r.rc, 2) << r.err;
    EXPECT_NE(r.err.find("empty file"), std::string::npos) << r.err;
  }
  EXPECT_EQ(fs::file_size(db), 0u);
}

TEST(CliReliability, ACopiedStoreUsesItsOwnRunFolders) {
  const fs::path dir = fresh_dir();
  fs::create_directories(dir / "a");
  const std::string db = (dir / "a" / "s.db").string();
  const auto id = train(dir, tiny(), db);
  fs::copy(dir / "a", dir / "b", fs::copy_options::recursive);
  ctx::remove_tree(dir / "a");  // the original is gone: the copy must not need it
  const std::string copy = (dir / "b" / "s.db").string();
  auto show = run_cli({"show", std::to_string(id), "--json", "--db", copy}, 30);
  ASSERT_EQ(show.rc, 0) << show.err;
  EXPECT_EQ(last_json_line(show.out)["run_dir"], (dir / "b" / "s.runs" / "run-1").string());
  auto e =
      run_cli({"eval", "--run", std::to_string(id), "--lengths", "48", "--json", "--db", copy});
  EXPECT_EQ(e.rc, 0) << e.err;
  EXPECT_FALSE(fs::exists(dir / "a"));
}

TEST(CliReliability, SentencePieceLoadsInALibTorchProcess) {
  CTXLAB_SKIP_SPM_UNDER_SANITIZERS();
  const std::string spm = std::string(CTXLAB_FIXTURES) + "/hf/tokenizers/sentencepiece";
  auto r = run_cli({"tokenize", "--tokenizer", spm, "--text", "hello world", "--json"}, 60);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_FALSE(last_json_line(r.out)["ids"].empty()) << r.out;
}
