// XXH64 against xxHash's published values, and checked files: the trailer written, verified on
// read, and every kind of damage (a flipped bit, a truncation, a lost trailer) named.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/checked_file.h"
#include "io/checksum.h"

namespace fs = std::filesystem;
using ctx::io::CheckedFileError;

namespace {

fs::path fresh_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const fs::path dir = fs::path(CTXLAB_TEST_TMP) / "checked-file" / info->name();
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
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

std::string payload() {
  std::string s;
  for (int i = 0; i < 100000; ++i) s += static_cast<char>((i * 7919) >> 3);
  return s;
}

void write_checked(const fs::path& p, const std::string& bytes) {
  ctx::io::write_checked_file(p.string(), [&](const auto& write) {
    // In uneven pieces, as an archive writer hands them over.
    for (size_t at = 0; at < bytes.size(); at += 777)
      write(bytes.data() + at, std::min<size_t>(777, bytes.size() - at));
  });
}

void expect_damage(const fs::path& p, const std::string& needle) {
  try {
    ctx::io::read_checked_file(p.string(), "checkpoint");
    ADD_FAILURE() << "read a damaged file";
  } catch (const CheckedFileError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(p.string()), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(Checksum, Xxh64MatchesPublishedValues) {
  EXPECT_EQ(ctx::io::xxh64("", 0), 0xEF46DB3751D8E999ULL);
  EXPECT_EQ(ctx::io::xxh64("a", 1), 0xD24EC4F1A98C6E5BULL);
  EXPECT_EQ(ctx::io::xxh64("abc", 3), 0x44BC2CF5AD770999ULL);
  const std::string spam = "Nobody inspects the spammish repetition";
  EXPECT_EQ(ctx::io::xxh64(spam.data(), spam.size()), 0xFBCEA83C8A378BF1ULL);
}

TEST(Checksum, StreamingEqualsOneShot) {
  const std::string data = payload();
  for (size_t piece : {1u, 3u, 31u, 32u, 33u, 4096u}) {
    ctx::io::Xxh64 h;
    for (size_t at = 0; at < data.size(); at += piece)
      h.update(data.data() + at, std::min(piece, data.size() - at));
    EXPECT_EQ(h.digest(), ctx::io::xxh64(data.data(), data.size())) << piece;
  }
}

TEST(CheckedFile, RoundTripsAndCarriesATrailer) {
  const fs::path p = fresh_dir() / "ck.pt";
  const std::string data = payload();
  write_checked(p, data);
  EXPECT_EQ(fs::file_size(p), data.size() + ctx::io::kChecksumTrailerSize);
  const auto r = ctx::io::read_checked_file(p.string(), "checkpoint");
  EXPECT_TRUE(r.has_trailer);
  EXPECT_EQ(r.payload, data);
  EXPECT_FALSE(fs::exists(p.string() + ".tmp"));
}

TEST(CheckedFile, EveryFlippedBitIsFound) {
  const fs::path p = fresh_dir() / "ck.pt";
  const std::string data = payload();
  write_checked(p, data);
  const std::string good = slurp(p);
  for (size_t at :
       {size_t{0}, good.size() / 3, good.size() / 2, data.size() - 1, data.size() + 20}) {
    for (int bit : {0, 5}) {
      std::string bad = good;
      bad[at] = static_cast<char>(bad[at] ^ (1 << bit));
      put(p, bad);
      expect_damage(p, "is damaged");
    }
  }
}

TEST(CheckedFile, TruncationIsFound) {
  const fs::path p = fresh_dir() / "ck.pt";
  write_checked(p, payload());
  const std::string good = slurp(p);
  // Cut inside the payload: the trailer is gone, the caller decides (a checkpoint refuses it).
  put(p, good.substr(0, good.size() / 2));
  EXPECT_FALSE(ctx::io::read_checked_file(p.string(), "checkpoint").has_trailer);
  // A payload that lost bytes in the middle but kept its trailer.
  put(p, good.substr(0, 1000) + good.substr(2000));
  expect_damage(p, "bytes where its trailer records");
}

TEST(CheckedFile, FilesWithoutATrailerAreReturnedWhole) {
  const fs::path p = fresh_dir() / "old.pt";
  put(p, "an old file");
  const auto r = ctx::io::read_checked_file(p.string(), "checkpoint");
  EXPECT_FALSE(r.has_trailer);
  EXPECT_EQ(r.payload, "an old file");
}

TEST(CheckedFile, OnlyRegularFilesAreRead) {
  const fs::path dir = fresh_dir();
  const std::string fifo = (dir / "pipe.pt").string();
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THROW(ctx::io::read_checked_file(fifo, "checkpoint"), CheckedFileError);
  EXPECT_THROW(ctx::io::read_checked_file(dir.string(), "checkpoint"), CheckedFileError);
  EXPECT_THROW(ctx::io::read_checked_file((dir / "missing").string(), "checkpoint"),
               CheckedFileError);
}
