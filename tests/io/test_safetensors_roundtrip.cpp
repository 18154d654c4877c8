// Writing and reading back: one file and shards give identical bytes, names, shapes, dtypes and
// metadata; the writer refuses bad input before touching the disk; release() really drops pages.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "safetensors_test_util.h"

using namespace ctx::io;
namespace fs = std::filesystem;

namespace {

// Tensors of every dtype with bytes that differ from tensor to tensor.
struct Sample {
  std::vector<std::vector<uint8_t>> storage;
  std::vector<TensorToWrite> tensors;
};

Sample sample_tensors() {
  Sample s;
  const std::vector<std::pair<Dtype, std::vector<int64_t>>> specs = {
      {Dtype::F64, {3}},      {Dtype::F32, {4, 5}}, {Dtype::F16, {7}}, {Dtype::BF16, {2, 3, 2}},
      {Dtype::I64, {2}},      {Dtype::I32, {5}},    {Dtype::I16, {3}}, {Dtype::I8, {9}},
      {Dtype::U8, {1, 1, 3}}, {Dtype::BOOL, {4}},   {Dtype::F32, {}},  {Dtype::F32, {0, 8}},
  };
  s.storage.reserve(specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    const auto& [dtype, shape] = specs[i];
    const uint64_t n = *tensor_nbytes(dtype, shape);
    s.storage.emplace_back(n);
    for (uint64_t b = 0; b < n; ++b) s.storage.back()[b] = static_cast<uint8_t>(i * 31 + b * 7);
    if (dtype == Dtype::BOOL) {
      for (auto& b : s.storage.back()) b &= 1;
    }
    s.tensors.push_back({"t" + std::to_string(i) + "." + dtype_name(dtype), dtype, shape,
                         s.storage.back().data(), n});
  }
  return s;
}

void expect_same(const std::vector<TensorToWrite>& written, const SafetensorsSet& read) {
  ASSERT_EQ(read.size(), written.size());
  for (const auto& t : written) {
    SCOPED_TRACE(t.name);
    const TensorRef ref = read.at(t.name);
    EXPECT_EQ(ref.info->dtype, t.dtype);
    EXPECT_EQ(ref.info->shape, t.shape);
    ASSERT_EQ(ref.info->nbytes(), t.nbytes);
    if (t.nbytes) {
      EXPECT_EQ(std::memcmp(ref.data(), t.data, t.nbytes), 0);
    }
  }
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// Resident kB of the mapping that contains `p` (from /proc/self/smaps), or -1.
long resident_kb(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  const auto addr = reinterpret_cast<uintptr_t>(p);
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 && line.find(':') > line.find(' ')) {
      inside = addr >= lo && addr < hi;
    } else if (inside && line.rfind("Rss:", 0) == 0) {
      return std::stol(line.substr(4));
    }
  }
  return -1;
}

}  // namespace

TEST(SafetensorsRoundTrip, OneFileKeepsEverything) {
  const Sample s = sample_tensors();
  const auto dir = st_test::fresh_dir();
  const SafetensorsMetadata meta = {{"format", "pt"}, {"note", "quotes \" and\nnewline, é"}};
  write_safetensors((dir / "model.safetensors").string(), s.tensors, meta);
  const SafetensorsSet set = open_folder(dir.string());
  expect_same(s.tensors, set);
  EXPECT_EQ(set.files()[0].metadata(), meta);
  // Header padded with spaces to a multiple of 8, every tensor aligned for its dtype.
  const auto& f = set.files()[0];
  EXPECT_EQ(f.header().header_size % 8, 0u);
  for (const auto& t : f.tensors()) EXPECT_TRUE(f.aligned(t)) << t.name;
  // Deterministic: the same input gives the same bytes.
  const std::string first = st_test::read_file(dir / "model.safetensors");
  write_safetensors((dir / "again.safetensors").string(), s.tensors, meta);
  EXPECT_EQ(st_test::read_file(dir / "again.safetensors"), first);
}

TEST(SafetensorsRoundTrip, NoTensorsAtAll) {
  const auto path = (st_test::fresh_dir() / "model.safetensors").string();
  write_safetensors(path, {});
  EXPECT_EQ(st_test::read_file(path), st_test::le64(8) + "{}      ");
  EXPECT_TRUE(SafetensorsFile(path).tensors().empty());
}

TEST(SafetensorsRoundTrip, ShardedFolderReadsBackIdentically) {
  const Sample s = sample_tensors();
  const auto dir = st_test::fresh_dir();
  const auto written = write_sharded(dir.string(), s.tensors, 24, {{"format", "pt"}});
  ASSERT_GT(written.size(), 3u);
  EXPECT_EQ(written.back(), "model.safetensors.index.json");
  EXPECT_EQ(written[0], shard_file_name(1, written.size() - 1));
  const SafetensorsSet set = open_folder(dir.string());
  EXPECT_TRUE(set.sharded());
  EXPECT_EQ(set.files().size(), written.size() - 1);
  expect_same(s.tensors, set);

  const auto index =
      nlohmann::json::parse(st_test::read_file(dir / "model.safetensors.index.json"));
  uint64_t total = 0;
  for (const auto& t : s.tensors) total += t.nbytes;
  EXPECT_EQ(index["metadata"]["total_size"], total);
  EXPECT_EQ(index["weight_map"].size(), s.tensors.size());
  // No shard holds more than the limit unless a single tensor is larger.
  for (const auto& f : set.files()) {
    uint64_t bytes = 0;
    for (const auto& t : f.tensors()) bytes += t.nbytes();
    EXPECT_TRUE(bytes <= 24 || f.tensors().size() == 1) << f.path();
  }
}

TEST(SafetensorsRoundTrip, PlanShardsFollowsHuggingFace) {
  std::vector<TensorToWrite> t(5);
  const uint64_t sizes[] = {40, 50, 200, 10, 60};
  for (size_t i = 0; i < 5; ++i) t[i].nbytes = sizes[i];
  // 40+50 fit in 100; 200 gets a shard of its own, appended at once; 10 still fits the open shard
  // (exactly 100); 60 starts a new one.
  const auto plan = plan_shards(t, 100);
  EXPECT_EQ(plan, (std::vector<std::vector<size_t>>{{2}, {0, 1, 3}, {4}}));
  EXPECT_EQ(plan_shards(t, 1000), (std::vector<std::vector<size_t>>{{0, 1, 2, 3, 4}}));
  EXPECT_EQ(plan_shards({}, 10).size(), 1u);
}

TEST(SafetensorsRoundTrip, RewritingSwitchesLayoutAndRemovesStaleFiles) {
  const Sample s = sample_tensors();
  const auto dir = st_test::fresh_dir();
  write_sharded(dir.string(), s.tensors, 24);
  st_test::write_file(dir / "model-00099-of-00099.safetensors", "stale");
  st_test::write_file(dir / "config.json", "{}");
  EXPECT_EQ(write_sharded(dir.string(), s.tensors),
            (std::vector<std::string>{"model.safetensors"}));
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(dir)) left.push_back(e.path().filename().string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"config.json", "model.safetensors"}));
  expect_same(s.tensors, open_folder(dir.string()));
  // And back to shards: the single file goes.
  write_sharded(dir.string(), s.tensors, 24);
  EXPECT_FALSE(fs::exists(dir / "model.safetensors"));
  expect_same(s.tensors, open_folder(dir.string()));
}

TEST(SafetensorsWriter, RefusesBadInputBeforeWriting) {
  const auto dir = st_test::fresh_dir();
  const auto path = (dir / "out.safetensors").string();
  const float v[4] = {1, 2, 3, 4};
  auto refused = [&](const std::vector<TensorToWrite>& t, const std::string& needle) {
    const std::string msg = error_of([&] { write_safetensors(path, t); });
    EXPECT_NE(msg.find(needle), std::string::npos) << msg << "\nwanted: " << needle;
    EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
    EXPECT_FALSE(fs::exists(path));
    EXPECT_FALSE(fs::exists(path + ".tmp"));
  };
  refused({{"a", Dtype::F32, {4}, v, 16}, {"a", Dtype::F32, {2}, v, 8}},
          "tensor 'a' appears twice");
  refused({{"a", Dtype::F32, {4}, v, 12}}, "tensor 'a': 12 bytes given but F32 [4] needs 16");
  refused({{"a", Dtype::F32, {-1, 4}, v, 16}}, "negative dimension or overflows");
  refused({{"a", Dtype::F32, {4}, nullptr, 16}}, "no data given");
  refused({{"", Dtype::U8, {1}, v, 1}}, "empty name");
  refused({{"__metadata__", Dtype::U8, {1}, v, 1}}, "reserved");
  refused({{"bad\xff", Dtype::U8, {1}, v, 1}}, "not valid UTF-8");
  const std::string msg = error_of([&] {
    write_sharded((dir / "sub").string(), {{"a", Dtype::F32, {4}, v, 8}});
  });
  EXPECT_NE(msg.find("needs 16"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(dir / "sub"));
}

TEST(SafetensorsWriter, IoFailureNamesThePath) {
  const std::string path = "/proc/ctxlab-no-such-dir/model.safetensors";
  const std::string msg = error_of([&] { write_safetensors(path, {}); });
  EXPECT_EQ(msg.rfind(path + ".tmp: cannot create", 0), 0u) << msg;
}

TEST(SafetensorsFile, ReleaseDropsResidentPagesAndDataStaysReadable) {
  // 8 tensors of 1 MiB each.
  std::vector<std::vector<float>> storage(8, std::vector<float>(1 << 18));
  std::vector<TensorToWrite> tensors;
  for (size_t i = 0; i < storage.size(); ++i) {
    std::iota(storage[i].begin(), storage[i].end(), static_cast<float>(i * 1000));
    tensors.push_back(
        {"w" + std::to_string(i), Dtype::F32, {1 << 18}, storage[i].data(), 1u << 20});
  }
  const auto dir = st_test::fresh_dir();
  write_safetensors((dir / "model.safetensors").string(), tensors);
  const SafetensorsFile f((dir / "model.safetensors").string());
  const uint8_t* base = f.data(f.tensors()[0]);
  volatile uint8_t sink = 0;
  for (const auto& t : f.tensors()) {
    const uint8_t* p = f.data(t);
    for (uint64_t b = 0; b < t.nbytes(); b += 4096) sink = sink + p[b];
  }
  const long before = resident_kb(base);
  if (before < 0) GTEST_SKIP() << "/proc/self/smaps not readable";
  EXPECT_GT(before, 7 * 1024);
  for (size_t i = 0; i < f.tensors().size(); ++i) {
    ASSERT_TRUE(f.release(f.tensors()[i]));
    EXPECT_LT(resident_kb(base), before - static_cast<long>(i) * 1024 - 900) << i;
  }
  EXPECT_LT(resident_kb(base), 64);
  for (size_t i = 0; i < f.tensors().size(); ++i) {
    const auto& t = f.at("w" + std::to_string(i));
    EXPECT_EQ(std::memcmp(f.data(t), storage[i].data(), t.nbytes()), 0) << t.name;
  }
}
