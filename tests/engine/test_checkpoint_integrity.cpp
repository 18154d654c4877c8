// Damaged checkpoints are named, never loaded, and never change a run's status; checkpoints
// written before checksums still load; a signal during the final evaluation leaves the run
// interrupted (with its last step's checkpoint) so that resume finishes it.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <torch/serialize.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/interrupt.h"
#include "io/atomic_file.h"
#include "io/checked_file.h"
#include "store/file_tree.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace fs = std::filesystem;
using ctx::store::RunStatus;

namespace {

fs::path fresh_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const fs::path d = fs::path(CTXLAB_TEST_TMP) / "checkpoint-integrity" / info->name();
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

void put(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

ctx::RunConfig small_config(int64_t steps, bool eval) {
  return ctx::parse_run_config(
      {{"name", "integrity"},
       {"seed", 3},
       {"model", {{"layers", 1}, {"d_model", 32}, {"heads", 2}, {"max_positions", 64}}},
       {"data", {{"builtin_docs", 8}, {"builtin_doc_tokens", 512}}},
       {"train",
        {{"seq_len", 32},
         {"batch_size", 2},
         {"steps", steps},
         {"warmup", 1},
         {"checkpoint_every", 2},
         {"threads", 1}}},
       {"eval", {{"enabled", eval}, {"lengths", {16, 24, 32, 48}}, {"max_tokens", 64}}}});
}

class Quiet : public ctx::EventSink {};

// Stops the process (as SIGTERM would) at the first evaluation event.
class StopAtFirstEval : public ctx::EventSink {
 public:
  void on_eval(const ctx::EvalEvent&) override { ctx::request_stop(SIGTERM); }
};

std::string error_of_load(const std::string& path, ctx::LanguageModel& m) {
  try {
    ctx::load_checkpoint(path, m);
  } catch (const ctx::CheckpointError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(CheckpointIntegrity, BitFlipsAndTruncationsAreNamedNotLoaded) {
  const fs::path dir = fresh_dir();
  auto c = small_config(1, false);
  auto m = ctx::make_language_model(c.model, nullptr, 259);
  const auto path = (dir / "ck.pt").string();
  ctx::save_checkpoint(path, m, nullptr, 5, "{}");
  const std::string good = slurp(path);
  ASSERT_EQ(ctx::read_checkpoint_info(path).step, 5);
  // A flip inside the tensor data: a zip archive's reader does not notice, the checksum does.
  for (size_t at : {good.size() / 2, good.size() / 3, good.size() - 30}) {
    std::string bad = good;
    bad[at] = static_cast<char>(bad[at] ^ 0x10);
    put(path, bad);
    const auto msg = error_of_load(path, m);
    EXPECT_NE(msg.find("damaged"), std::string::npos) << at << ": " << msg;
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_THROW(ctx::read_checkpoint_info(path), ctx::CheckpointError);
  }
  // Truncated: the trailer is gone with the end of the archive.
  put(path, good.substr(0, good.size() / 2));
  EXPECT_FALSE(error_of_load(path, m).empty());
  // Only the trailer lost: the archive itself is whole, but a format-2 checkpoint needs it.
  put(path, good.substr(0, good.size() - ctx::io::kChecksumTrailerSize));
  EXPECT_NE(error_of_load(path, m).find("trailer is missing"), std::string::npos)
      << error_of_load(path, m);
  put(path, good);
  EXPECT_EQ(error_of_load(path, m), "");
}

TEST(CheckpointIntegrity, AWriteErrorWhileSavingIsAnErrorNotAnAbort) {
  // A file size limit makes writes fail as a full disk does (EFBIG instead of ENOSPC).
  const fs::path dir = fresh_dir();
  auto c = small_config(1, false);
  auto m = ctx::make_language_model(c.model, nullptr, 259);
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  auto* const previous = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old;
  small.rlim_cur = 4096;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string error;
  try {
    ctx::save_checkpoint((dir / "ck.pt").string(), m, nullptr, 1, "{}");
  } catch (const ctx::io::FileWriteError& e) {
    error = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, previous);
  EXPECT_NE(error.find("ck.pt.tmp: cannot write"), std::string::npos) << error;
  EXPECT_FALSE(fs::exists(dir / "ck.pt"));
  EXPECT_FALSE(fs::exists(dir / "ck.pt.tmp"));
}

TEST(CheckpointIntegrity, CheckpointsFromBeforeChecksumsStillLoad) {
  const fs::path dir = fresh_dir();
  auto c = small_config(1, false);
  torch::manual_seed(9);
  auto a = ctx::make_language_model(c.model, nullptr, 259);
  auto b = ctx::make_language_model(c.model, nullptr, 259);
  // As CtxLab wrote them before: a plain archive, format 1.
  torch::serialize::OutputArchive root, model;
  a->save(model);
  root.write("model", model);
  root.write("step", c10::IValue(int64_t{7}));
  root.write("config", c10::IValue(std::string("{}")));
  root.write("format", c10::IValue(std::string("ctxlab-checkpoint-1")));
  const auto path = (dir / "old.pt").string();
  root.save_to(path);
  EXPECT_EQ(ctx::load_checkpoint(path, b).step, 7);
  for (auto& p : a->named_parameters())
    EXPECT_TRUE(torch::equal(p.value(), b->named_parameters()[p.key()])) << p.key();
}

TEST(CheckpointIntegrity, ResumeFromADamagedCheckpointLeavesTheRunAsItWas) {
  const fs::path dir = fresh_dir();
  auto cfg = small_config(8, false);
  Quiet quiet;
  ctx::store::RunStore db((dir / "s.db").string());
  const int64_t id = ctx::create_run(db, cfg);
  ctx::TrainRequest req;
  req.store = &db;
  req.run_id = id;
  req.config = cfg;
  req.stop_after_step = 4;
  ASSERT_EQ(ctx::run_training(req, quiet).status, RunStatus::Interrupted);
  const auto before = db.get_run(id);
  ASSERT_EQ(before.status, RunStatus::Interrupted);
  const auto ck = *ctx::latest_checkpoint(before.run_dir);
  std::string bytes = slurp(ck);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 1);
  put(ck, bytes);

  req.stop_after_step = -1;
  req.resume = true;
  try {
    ctx::run_training(req, quiet);
    FAIL() << "resumed from a damaged checkpoint";
  } catch (const ctx::CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("damaged"), std::string::npos) << e.what();
  }
  const auto after = db.get_run(id);
  EXPECT_EQ(after.status, RunStatus::Interrupted);
  EXPECT_EQ(after.error, before.error);
  EXPECT_EQ(db.metric_series(id, "loss").size(), 4u);  // nothing truncated or added
}

TEST(CheckpointIntegrity, SignalDuringFinalEvaluationInterruptsAndResumeFinishes) {
  const fs::path dir = fresh_dir();
  auto cfg = small_config(3, true);
  ctx::store::RunStore db((dir / "s.db").string());
  const int64_t id = ctx::create_run(db, cfg);
  ctx::TrainRequest req;
  req.store = &db;
  req.run_id = id;
  req.config = cfg;
  req.should_stop = [] { return ctx::stop_requested(); };
  StopAtFirstEval stopper;
  const auto out = ctx::run_training(req, stopper);
  ctx::reset_stop();
  EXPECT_EQ(out.status, RunStatus::Interrupted) << out.error;
  EXPECT_NE(out.error.find("SIGTERM"), std::string::npos) << out.error;
  EXPECT_EQ(db.get_run(id).status, RunStatus::Interrupted);
  // One evaluation was recorded before the stop; the rest were not started.
  EXPECT_LT(db.evals(id, "ppl").size(), 3u * 4u);

  Quiet quiet;
  req.resume = true;
  const auto done = ctx::run_training(req, quiet);
  ASSERT_EQ(done.status, RunStatus::Finished) << done.error;
  EXPECT_EQ(done.evals.size(), 4u);
  EXPECT_EQ(db.metric_series(id, "loss").size(), 3u);
}
