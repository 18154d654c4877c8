// open_folder's errors: an index naming a missing shard, tensors missing from (or unlisted in) a
// shard, unsafe shard names, pickle-only and empty folders; each a one-line SafetensorsError.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "safetensors_test_util.h"

using namespace ctx::io;
namespace fs = std::filesystem;

namespace {

std::string open_error(const fs::path& dir) {
  try {
    open_folder(dir.string());
  } catch (const SafetensorsError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    return msg;
  }
  return "";
}

void expect_open_error(const fs::path& dir, const std::string& needle) {
  const std::string msg = open_error(dir);
  EXPECT_NE(msg.find(needle), std::string::npos) << "message: " << msg << "\nwanted: " << needle;
}

// Two shards: a = {x, y}, b = {z}, with a matching index.
fs::path sharded_folder() {
  const fs::path dir = st_test::fresh_dir();
  static const float v[4] = {1, 2, 3, 4};
  write_safetensors((dir / "a.safetensors").string(),
                    {{"x", Dtype::F32, {2}, v, 8}, {"y", Dtype::F32, {2}, v + 2, 8}});
  write_safetensors((dir / "b.safetensors").string(), {{"z", Dtype::F32, {4}, v, 16}});
  return dir;
}

void write_index(const fs::path& dir, const nlohmann::json& weight_map) {
  st_test::write_file(
      dir / "model.safetensors.index.json",
      nlohmann::json({{"metadata", {{"total_size", 32}}}, {"weight_map", weight_map}}).dump(2));
}

}  // namespace

TEST(SafetensorsFolder, IndexedShardsOpenAndLookUpAcrossShards) {
  const fs::path dir = sharded_folder();
  write_index(dir, {{"x", "a.safetensors"}, {"y", "a.safetensors"}, {"z", "b.safetensors"}});
  const SafetensorsSet set = open_folder(dir.string());
  EXPECT_TRUE(set.sharded());
  EXPECT_EQ(set.names(), (std::vector<std::string>{"x", "y", "z"}));
  EXPECT_EQ(set.at("z").file->path(), (dir / "b.safetensors").string());
  EXPECT_EQ(decode_to_f32(Dtype::F32, set.at("y").data(), 8), (std::vector<float>{3, 4}));
  EXPECT_EQ(set.total_bytes(), 32u);
  EXPECT_TRUE(set.release("x"));
  EXPECT_EQ(decode_to_f32(Dtype::F32, set.at("x").data(), 8), (std::vector<float>{1, 2}));
  try {
    set.at("w");
    FAIL();
  } catch (const SafetensorsError& e) {
    EXPECT_EQ(std::string(e.what()), dir.string() + ": no tensor 'w' in its safetensors weights");
  }
}

TEST(SafetensorsFolder, IndexNamingAMissingShard) {
  const fs::path dir = sharded_folder();
  write_index(dir, {{"x", "a.safetensors"}, {"y", "a.safetensors"}, {"z", "c.safetensors"}});
  expect_open_error(dir,
                    "model.safetensors.index.json: shard 'c.safetensors' (listed for 1 tensor, "
                    "e.g. 'z') is missing from " +
                        dir.string());
}

TEST(SafetensorsFolder, TensorsMissingFromTheShardTheIndexNames) {
  const fs::path dir = sharded_folder();
  write_index(dir, {{"x", "a.safetensors"},
                    {"y", "a.safetensors"},
                    {"z", "b.safetensors"},
                    {"q", "b.safetensors"},
                    {"r", "b.safetensors"}});
  expect_open_error(dir,
                    "model.safetensors.index.json: assigns 2 tensors to 'b.safetensors' that "
                    "the shard does not hold: 'q', 'r'");
  write_index(dir, {{"x", "a.safetensors"},
                    {"y", "a.safetensors"},
                    {"z", "b.safetensors"},
                    {"q", "b.safetensors"}});
  expect_open_error(dir, "assigns 1 tensor to 'b.safetensors' that the shard does not hold: 'q'");
}

TEST(SafetensorsFolder, TensorsInAShardButNotInTheIndex) {
  const fs::path dir = sharded_folder();
  write_index(dir, {{"x", "a.safetensors"}, {"z", "b.safetensors"}});
  expect_open_error(dir,
                    "a.safetensors: holds 1 tensor that model.safetensors.index.json does not "
                    "assign to it: 'y'");
}

TEST(SafetensorsFolder, ManyNamesAreCut) {
  const fs::path dir = sharded_folder();
  nlohmann::json map = {{"x", "a.safetensors"}, {"y", "a.safetensors"}, {"z", "b.safetensors"}};
  for (int i = 0; i < 12; ++i) map["m" + std::to_string(10 + i)] = "b.safetensors";
  write_index(dir, map);
  expect_open_error(dir,
                    "assigns 12 tensors to 'b.safetensors' that the shard does not hold: "
                    "'m10', 'm11', 'm12', 'm13', 'm14', ... (12 in all)");
}

TEST(SafetensorsFolder, BadIndexFiles) {
  const fs::path dir = sharded_folder();
  write_index(dir, {{"x", "../a.safetensors"}});
  expect_open_error(dir, "weight_map names shard '../a.safetensors', which is not a file name");
  write_index(dir, {{"x", ".."}});
  expect_open_error(dir, "not a file name in the folder");
  write_index(dir, {{"x", 3}});
  expect_open_error(dir, "weight_map entry 'x' is not a file name");
  write_index(dir, nlohmann::json::object());
  expect_open_error(dir, "weight_map lists no tensors");
  st_test::write_file(dir / "model.safetensors.index.json", R"({"metadata": {}})");
  expect_open_error(dir, "no 'weight_map' object");
  st_test::write_file(dir / "model.safetensors.index.json",
                      R"({"weight_map": {"x": "a", "x": "b"}})");
  expect_open_error(dir, "model.safetensors.index.json: not valid JSON: duplicate key 'x'");
  st_test::write_file(dir / "model.safetensors.index.json", "[]");
  expect_open_error(dir, "model.safetensors.index.json: not a JSON object");
}

TEST(SafetensorsFolder, ABrokenShardIsReportedByName) {
  const fs::path dir = sharded_folder();
  write_index(dir, {{"x", "a.safetensors"}, {"y", "a.safetensors"}, {"z", "b.safetensors"}});
  st_test::write_file(dir / "b.safetensors", "\x02");
  expect_open_error(dir, (dir / "b.safetensors").string() + ": truncated");
}

TEST(SafetensorsFolder, PickleOnlyFolder) {
  const fs::path dir = st_test::fresh_dir();
  st_test::write_file(dir / "pytorch_model.bin", "PK\x03\x04 pickle");
  st_test::write_file(dir / "config.json", "{}");
  EXPECT_EQ(open_error(dir),
            dir.string() +
                ": holds pickle weights (pytorch_model.bin); CtxLab never loads pickle: convert "
                "them to safetensors first (for example with transformers: "
                "model.save_pretrained(dir, safe_serialization=True))");
  st_test::write_file(dir / "consolidated.00.pth", "x");
  expect_open_error(dir, "holds pickle weights (consolidated.00.pth, pytorch_model.bin)");
}

TEST(SafetensorsFolder, EmptyAndMissingFolders) {
  const fs::path dir = st_test::fresh_dir();
  EXPECT_EQ(open_error(dir), dir.string() +
                                 ": no weights: neither model.safetensors nor "
                                 "model.safetensors.index.json");
  st_test::write_file(dir / "adapter_model.safetensors", "x");
  expect_open_error(dir, "(it holds 'adapter_model.safetensors')");
  EXPECT_EQ(open_error(dir / "nope"), (dir / "nope").string() + ": folder does not exist");
  EXPECT_EQ(open_error(dir / "adapter_model.safetensors"),
            (dir / "adapter_model.safetensors").string() + ": not a folder");
}

TEST(SafetensorsFolder, SingleFileWinsOverAnIndex) {
  const fs::path dir = sharded_folder();
  write_index(dir, {{"x", "missing.safetensors"}});
  const float v[1] = {7};
  write_safetensors((dir / "model.safetensors").string(), {{"only", Dtype::F32, {1}, v, 4}});
  const SafetensorsSet set = open_folder(dir.string());
  EXPECT_FALSE(set.sharded());
  EXPECT_EQ(set.names(), (std::vector<std::string>{"only"}));
}
