// ctxlab-cli and several GPUs: `devices` reports what this build trains on, and a run rank 0 of a
// torchrun launch recorded on "cuda × 2" reads so in `runs` (text and JSON) and `show`.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_runner.h"
#include "store/run_store.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path dir() {
  auto d = fs::path(CTXLAB_TEST_TMP) / "cli-devices";
  fs::create_directories(d);
  return d;
}

cli_test::Result cli(const std::string& args) { return cli_test::run_cli(args, dir()); }

// A store with a run as a two-GPU launch leaves it (the device rank 0 records) and a CPU run.
fs::path store_with_devices() {
  const auto p = dir() / "devices.db";
  for (auto suffix : {"", "-wal", "-shm"}) fs::remove(p.string() + suffix);
  ctx::store::RunStore db(p.string());
  for (const auto& [name, device] : {std::pair{"on-two-gpus", "cuda \u00d7 2"}, {"on-the-cpu", "cpu (2 threads)"}}) {
    ctx::store::NewRun r;
    r.name = name;
    r.method = "rope + contiguous";
    r.config_json = "{}";
    r.device = device;
    r.status = ctx::store::RunStatus::Finished;
    db.create_run(r);
  }
  return p;
}

}  // namespace

TEST(CliDevices, ReportsCudaGpusAndProcessGroups) {
  auto r = cli("devices --json");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = cli_test::last_json_line(r.out);
  ASSERT_TRUE(j["cuda"].is_boolean()) << j.dump();
  ASSERT_TRUE(j["gpus"].is_number_integer()) << j.dump();
  ASSERT_TRUE(j["nccl"].is_boolean()) << j.dump();
  ASSERT_TRUE(j["backends"].is_string()) << j.dump();
  if (!j["cuda"].get<bool>()) {
    EXPECT_EQ(j["gpus"], 0);
    EXPECT_FALSE(j["nccl"].get<bool>());  // NCCL comes only with a CUDA LibTorch
  }
  EXPECT_EQ(j["nccl"].get<bool>(), j["backends"].get<std::string>().find("nccl") != std::string::npos);
  auto text = cli("devices");
  ASSERT_EQ(text.rc, 0) << text.err;
  EXPECT_NE(text.out.find("CUDA GPUs       " + std::to_string(j["gpus"].get<int>())), std::string::npos) << text.out;
}

TEST(CliDevices, RunsAndShowReadCudaTimesN) {
  const auto db = store_with_devices();
  auto listed = cli("runs --json --db " + db.string());
  ASSERT_EQ(listed.rc, 0) << listed.err;
  const auto runs = cli_test::last_json_line(listed.out);
  ASSERT_EQ(runs.size(), 2u);
  for (const auto& r : runs) EXPECT_EQ(r["device"], r["name"] == "on-two-gpus" ? "cuda \u00d7 2" : "cpu (2 threads)");

  // The text table: a device column, its width counted in characters (× is two bytes).
  auto text = cli("runs --db " + db.string());
  ASSERT_EQ(text.rc, 0) << text.err;
  std::istringstream lines(text.out);
  std::string header, first, second;
  std::getline(lines, header);
  std::getline(lines, first);
  std::getline(lines, second);
  const auto column = header.find("device");
  ASSERT_NE(column, std::string::npos) << header;
  const auto gpu_line = first.find("on-two-gpus") != std::string::npos ? first : second;
  const auto cpu_line = first.find("on-two-gpus") != std::string::npos ? second : first;
  EXPECT_EQ(gpu_line.find("cuda \u00d7 2"), column) << text.out;
  EXPECT_EQ(cpu_line.find("cpu (2 threads)"), column) << text.out;
  const auto created = header.find("created");
  ASSERT_NE(created, std::string::npos);
  // The next column starts at the same character in both rows: one byte more where × is.
  EXPECT_EQ(gpu_line.find_first_not_of(' ', column + std::string("cuda \u00d7 2").size()), created + 1) << text.out;
  EXPECT_EQ(cpu_line.find_first_not_of(' ', column + std::string("cpu (2 threads)").size()), created) << text.out;

  const int64_t gpu_run = runs[0]["name"] == "on-two-gpus" ? runs[0]["id"].get<int64_t>() : runs[1]["id"].get<int64_t>();
  auto shown = cli("show " + std::to_string(gpu_run) + " --json --db " + db.string());
  ASSERT_EQ(shown.rc, 0) << shown.err;
  EXPECT_EQ(cli_test::last_json_line(shown.out)["device"], "cuda \u00d7 2");
  auto shown_text = cli("show " + std::to_string(gpu_run) + " --db " + db.string());
  EXPECT_NE(shown_text.out.find("device   cuda \u00d7 2"), std::string::npos) << shown_text.out;
}
