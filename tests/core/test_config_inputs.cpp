// Config inputs a careless or hostile user gives (overflowing numbers, duplicate keys, paths that
// are not files, repeated or unsuppliable lengths, a model too large): one error naming each.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <future>

#include "config/eval_supply.h"
#include "config/model_memory.h"
#include "config/run_config.h"

namespace fs = std::filesystem;
using ctx::ConfigError;
using nlohmann::json;

namespace {

fs::path fresh_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const fs::path dir = fs::path(CTXLAB_TEST_TMP) / "config-inputs" / info->name();
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string write(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
  return path.string();
}

// read_config_file(path) must fail with one line containing `needle` and the path. The deadline
// only guards against a read that blocks (a FIFO); it is not a speed check.
void expect_file_refused(const std::string& path, const std::string& needle) {
  auto done = std::async(std::launch::async, [&]() -> std::string {
    try {
      ctx::read_config_file(path);
      return "read";
    } catch (const ConfigError& e) {
      return e.what();
    }
  });
  ASSERT_EQ(done.wait_for(std::chrono::seconds(60)), std::future_status::ready) << path;
  const std::string msg = done.get();
  EXPECT_NE(msg.find(needle), std::string::npos) << msg;
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

ctx::data::Document doc(size_t tokens) {
  ctx::data::Document d;
  d.source = "d";
  d.tokens.assign(tokens, 1);
  return d;
}

}  // namespace

TEST(ConfigInputs, OverflowingNumberNamesTheFile) {
  const auto p = write(fresh_dir() / "seed.json", R"({"seed": 1e999})");
  expect_file_refused(p, "overflow");
}

TEST(ConfigInputs, DuplicateKeysAreRefusedNotLastOneWins) {
  const auto p = write(fresh_dir() / "dup.json", R"({"train": {"steps": 5, "steps": 7}})");
  expect_file_refused(p, "duplicate key 'steps'");
}

// A key holding a newline or other control character is named escaped, so the message stays one
// line (scripts/stress found "train.stages[1].seq_le" and ": unknown key" on two lines).
TEST(ConfigInputs, KeysWithControlCharactersAreNamedOnOneLine) {
  auto error_of = [](const nlohmann::json& j) -> std::string {
    try {
      ctx::parse_run_config(j);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "parsed";
  };
  const auto stages = error_of(nlohmann::json::parse(
      R"({"train": {"stages": [{"seq_len": 32, "steps": 2}, {"seq_le\n": 64, "steps": 1}]}})"));
  EXPECT_EQ(stages, "train.stages[1].seq_le\\n: unknown key (known: seq_len, steps)");
  const auto top = error_of(nlohmann::json::parse(R"({"se\u0001ed\t": 1})"));
  EXPECT_NE(top.find("se\\x01ed\\t: unknown key"), std::string::npos) << top;
  const auto method = error_of(nlohmann::json::parse(
      R"({"rope_scaling": {"rope_type": "yarn", "factor": 4, "fac\ntor": 2}})"));
  EXPECT_NE(method.find("fac\\ntor"), std::string::npos) << method;
  for (const auto& msg : {stages, top, method}) EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  const auto p = write(fresh_dir() / "dup.json", "{\"a\\nb\": 1, \"a\\nb\": 2}");
  expect_file_refused(p, "duplicate key 'a\\nb'");
}

TEST(ConfigInputs, DirectoriesFifosAndDevicesAreRefusedWithoutBlocking) {
  const fs::path dir = fresh_dir();
  expect_file_refused(dir.string(), "is a directory");
  const std::string fifo = (dir / "pipe.json").string();
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  expect_file_refused(fifo, "not a regular file");
  expect_file_refused("/dev/zero", "not a regular file");
  expect_file_refused((dir / "missing.json").string(), "no such file");
}

TEST(ConfigInputs, HugeConfigFileIsRefusedBeforeReading) {
  const fs::path p = fresh_dir() / "huge.json";
  {
    std::ofstream f(p, std::ios::binary);
    f.seekp((17 << 20) - 1);
    f.put(' ');
  }
  expect_file_refused(p.string(), "too large");
}

TEST(ConfigInputs, RepeatedLengthsAndModesAreEvaluatedOnce) {
  auto c = ctx::parse_run_config(json{{"eval",
                                       {{"lengths", {256, 128, 256, 128}},
                                        {"mode", {"sliding", "nonoverlap", "sliding"}},
                                        {"passkey", {{"lengths", {128, 128}}}},
                                        {"attention_lengths", {32, 32}}}}});
  EXPECT_EQ(c.eval.lengths, (std::vector<int64_t>{256, 128}));
  EXPECT_EQ(c.eval.modes, (std::vector<std::string>{"sliding", "nonoverlap"}));
  EXPECT_EQ(c.eval.passkey.lengths, (std::vector<int64_t>{128}));
  EXPECT_EQ(c.eval.attention_lengths, (std::vector<int64_t>{32}));
}

TEST(ConfigInputs, RandposEvaluationNeedsARunTrainedAtRandomizedIds) {
  auto c = ctx::parse_run_config(
      json{{"train", {{"seq_len", 128}, {"positions", {{"type", "randpos"}, {"factor", 4}}}}},
           {"eval", {{"mode", {"nonoverlap", "randpos"}}}}});
  EXPECT_EQ(c.eval.modes, (std::vector<std::string>{"nonoverlap", "randpos"}));
  try {
    ctx::parse_run_config(json{{"eval", {{"mode", "randpos"}}}});
    FAIL() << "randpos evaluation accepted for contiguous training ids";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "eval.mode: randpos scores windows at random ids from the range of train.positions "
              "randpos, and this run trains with 'contiguous' (use nonoverlap or sliding)");
  }
  try {
    ctx::parse_run_config(json{{"eval", {{"mode", "strided"}}}});
    FAIL() << "unknown mode accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("(nonoverlap, sliding or randpos)"), std::string::npos)
        << e.what();
  }
}

TEST(ConfigInputs, PositionLrNeedsAPositionMethodWithWeights) {
  auto with = [](const json& model, const json& scaling) {
    json j{{"model", model}, {"train", {{"lr", 3e-4}, {"position_lr", 2e-5}}}};
    if (!scaling.is_null()) j["rope_scaling"] = scaling;
    return j;
  };
  const json clex = {
      {"rope_type", "clex"}, {"max_factor", 8}, {"original_max_position_embeddings", 128}};
  EXPECT_DOUBLE_EQ(ctx::parse_run_config(with({{"position", "rope"}}, clex)).train.position_lr,
                   2e-5);
  EXPECT_NO_THROW(ctx::parse_run_config(with({{"position", "learned"}}, nullptr)));
  EXPECT_NO_THROW(ctx::parse_run_config(with({{"position", "relative"}}, nullptr)));
  auto error = [&](const json& model, const json& scaling) -> std::string {
    try {
      ctx::parse_run_config(with(model, scaling));
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(error({{"position", "rope"}}, nullptr),
            "train.position_lr: model.position rope has no weights of its own to train at another "
            "rate (learned, relative, irpe and rope_scaling clex have)");
  EXPECT_NE(error({{"position", "rope"}}, {{"rope_type", "linear"}, {"factor", 4}})
                .find("model.position rope with rope_scaling linear has no weights"),
            std::string::npos);
  EXPECT_NE(error({{"position", "alibi"}}, nullptr).find("model.position alibi has no weights"),
            std::string::npos);
  // 0 (the default) is train.lr for every weight; a negative rate is refused by name.
  EXPECT_DOUBLE_EQ(ctx::parse_run_config(json::object()).train.position_lr, 0.0);
  try {
    ctx::parse_run_config(json{{"train", {{"position_lr", -1}}}});
    FAIL() << "negative position_lr accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("train.position_lr"), std::string::npos) << e.what();
  }
}

TEST(ConfigInputs, BuiltinCorpusTooLargeToMakeIsAConfigError) {
  try {
    ctx::parse_run_config(
        json{{"data", {{"builtin_docs", 1000000}, {"builtin_doc_tokens", 100000000}}}});
    FAIL() << "accepted 10^14 built-in tokens";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("data.builtin_docs: 1000000"), std::string::npos)
        << e.what();
  }
  // The same sizes are fine when the corpus is a file (they are not used).
  EXPECT_NO_THROW(ctx::parse_run_config(
      json{{"data",
            {{"corpus", "x.txt"}, {"builtin_docs", 1000000}, {"builtin_doc_tokens", 100000000}}}}));
}

TEST(ConfigInputs, EvalLengthsBeyondTheValidationSplitAreNamedWithoutOverflow) {
  ctx::EvalConfig e;
  e.lengths = {8, INT64_MAX};
  std::vector<ctx::data::Document> val = {doc(5), doc(4)};
  try {
    ctx::check_eval_supply(e, val);
    FAIL() << "accepted a length of INT64_MAX";
  } catch (const ctx::data::DataError& err) {
    const std::string msg = err.what();
    EXPECT_NE(msg.find("eval.lengths[1]: length 9223372036854775807"), std::string::npos) << msg;
    EXPECT_NE(msg.find("the 9 tokens"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('-'), std::string::npos) << msg;  // no wrapped-around negative number
  }
  // Packed, 5 + 4 tokens and a separator before each: lengths up to 10 fit, 11 does not.
  e.lengths = {10};
  EXPECT_NO_THROW(ctx::check_eval_supply(e, val));
  e.lengths = {11};
  EXPECT_THROW(ctx::check_eval_supply(e, val), ctx::data::DataError);
  e.enabled = false;  // no final evaluation, nothing to supply
  EXPECT_NO_THROW(ctx::check_eval_supply(e, val));
}

TEST(ConfigInputs, ModelTooLargeForTheMachineIsAConfigError) {
  auto c =
      ctx::parse_run_config(json{{"model", {{"layers", 256}, {"d_model", 65536}, {"heads", 64}}}});
  try {
    ctx::check_model_fits(c, 259);
    FAIL() << "a 13e12-parameter model fits?";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("256 layers, d_model 65536"), std::string::npos)
        << e.what();
  }
  auto small = ctx::parse_run_config(json::object());
  EXPECT_NO_THROW(ctx::check_model_fits(small, 259));
  // A learned position table of a billion rows counts too.
  auto table = ctx::parse_run_config(
      json{{"model", {{"position", "learned"}, {"max_positions", 1000000000}}}});
  EXPECT_GT(ctx::estimate_parameters(table.model, 259), 2.5e11);
  EXPECT_THROW(ctx::check_model_fits(table, 259, 64e9), ConfigError);
  // GPU memory is the device's: not checked here.
  c.train.device = "cuda";
  EXPECT_NO_THROW(ctx::check_model_fits(c, 259));
}
