// What a careless or hostile corpus path does: FIFOs, devices and sockets are refused before they
// are opened (a FIFO would block, /dev/zero never ends), the size limit holds, binary files are
// read with a warning (skipped inside folders), and loading stops at a signal.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>

#include "data/corpus.h"
#include "data/interrupt.h"

namespace fs = std::filesystem;
using ctx::data::CorpusOptions;
using ctx::data::DataError;
using ctx::data::load_corpus;

namespace {

fs::path fresh_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const fs::path dir = fs::path(CTXLAB_TEST_TMP) / "data-inputs" / info->name();
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string write(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
  return path.string();
}

// load_corpus(spec) must fail within two seconds with a DataError containing `needle`.
void expect_refused_quickly(const std::string& spec, const std::string& needle,
                            CorpusOptions opt = {}) {
  auto done = std::async(std::launch::async, [&]() -> std::string {
    try {
      load_corpus(spec, opt);
      return "loaded";
    } catch (const DataError& e) {
      return e.what();
    }
  });
  ASSERT_EQ(done.wait_for(std::chrono::seconds(2)), std::future_status::ready)
      << spec << ": still reading after 2 s";
  const std::string msg = done.get();
  EXPECT_NE(msg.find(needle), std::string::npos) << msg;
  EXPECT_NE(msg.find(spec), std::string::npos) << msg;
}

}  // namespace

TEST(CorpusInputs, FifoIsRefusedWithoutBlocking) {
  const std::string fifo = (fresh_dir() / "pipe.txt").string();
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  expect_refused_quickly(fifo, "is a FIFO");
}

TEST(CorpusInputs, DevicesAreRefusedWithoutReading) {
  expect_refused_quickly("/dev/zero", "is a character device");
  expect_refused_quickly("/dev/null", "is a character device");
}

TEST(CorpusInputs, SocketIsRefused) {
  const std::string path = (fresh_dir() / "sock").string();
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof addr.sun_path);
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  expect_refused_quickly(path, "is a socket");
  close(fd);
}

TEST(CorpusInputs, FifoInsideAFolderIsNotRead) {
  const fs::path dir = fresh_dir();
  write(dir / "a.txt", "plain text");
  ASSERT_EQ(mkfifo((dir / "b.txt").c_str(), 0600), 0);
  auto done = std::async(std::launch::async, [&] { return load_corpus(dir.string()).docs.size(); });
  ASSERT_EQ(done.wait_for(std::chrono::seconds(2)), std::future_status::ready);
  EXPECT_EQ(done.get(), 1u);
}

TEST(CorpusInputs, SizeLimitHoldsForFilesAndFolders) {
  const fs::path dir = fresh_dir();
  CorpusOptions opt;
  opt.max_bytes = 1000;
  const std::string big = write(dir / "big.txt", std::string(1001, 'x'));
  expect_refused_quickly(big, "corpus limit", opt);
  write(dir / "folder-a.txt", std::string(600, 'y'));
  fs::create_directories(dir / "f");
  write(dir / "f" / "a.txt", std::string(600, 'y'));
  write(dir / "f" / "b.txt", std::string(600, 'z'));
  expect_refused_quickly((dir / "f").string(), "corpus limit", opt);
  opt.max_bytes = 1200;
  EXPECT_EQ(load_corpus((dir / "f").string(), opt).docs.size(), 2u);
}

TEST(CorpusInputs, BinaryFileIsReadWithAWarning) {
  const fs::path dir = fresh_dir();
  const std::string bin = write(dir / "model.bin", std::string("\x7f"
                                                               "ELF\0\0\0binary",
                                                               13));
  const auto c = load_corpus(bin);
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("looks binary"), std::string::npos) << c.warnings[0];
  EXPECT_NE(c.warnings[0].find(bin), std::string::npos) << c.warnings[0];
  EXPECT_EQ(c.docs.size(), 1u);
}

TEST(CorpusInputs, BinaryFileInsideAFolderIsSkippedWithAWarning) {
  const fs::path dir = fresh_dir();
  write(dir / "text.txt", "some text");
  write(dir / "blob.dat", std::string("\0\1\2\3", 4));
  const auto c = load_corpus(dir.string());
  EXPECT_EQ(c.docs.size(), 1u);
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("skipped"), std::string::npos) << c.warnings[0];
  EXPECT_NE(c.warnings[0].find("blob.dat"), std::string::npos) << c.warnings[0];
}

TEST(CorpusInputs, LoadingStopsAtASignal) {
  const fs::path dir = fresh_dir();
  const std::string path = write(dir / "c.txt", "text");
  ctx::request_stop(SIGTERM);
  try {
    load_corpus(path);
    ADD_FAILURE() << "loaded although a stop was requested";
  } catch (const ctx::Interrupted& e) {
    EXPECT_EQ(e.signal, SIGTERM);
    EXPECT_NE(std::string(e.what()).find("SIGTERM"), std::string::npos) << e.what();
  }
  CorpusOptions builtin;
  builtin.builtin_docs = 4;
  builtin.builtin_doc_tokens = 256;
  EXPECT_THROW(load_corpus("builtin:longrange", builtin), ctx::Interrupted);
  ctx::reset_stop();
  EXPECT_EQ(load_corpus(path).docs.size(), 1u);
}
