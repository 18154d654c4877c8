// The store as a file: concurrent first use of a store that does not exist yet, a foreign file with
// a stale -wal beside it, damaged pages, paths that are not files, and run folders that move with
// a copied store.
#include <SQLiteCpp/Database.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "store/run_store.h"

namespace fs = std::filesystem;
using namespace ctx::store;

namespace {

fs::path fresh_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const fs::path d = fs::path(CTXLAB_TEST_TMP) / ("store_files_" + std::string(info->name()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int64_t add_run(RunStore& s, const std::string& name) {
  NewRun n;
  n.name = name;
  return s.create_run(n);
}

}  // namespace

TEST(StoreFiles, ConcurrentFirstUseCreatesOneStoreAndLosesNoRun) {
  // Four processes open a store that does not exist yet, at the same moment, 20 times over: every
  // one of them gets the same complete store and its run.
  const fs::path dir = fresh_dir();
  for (int round = 0; round < 20; ++round) {
    const std::string path = (dir / ("race-" + std::to_string(round) + ".db")).string();
    int go[2];
    ASSERT_EQ(pipe(go), 0);
    std::vector<pid_t> kids;
    for (int k = 0; k < 4; ++k) {
      const pid_t pid = fork();
      ASSERT_GE(pid, 0);
      if (pid == 0) {
        close(go[1]);
        char c;
        (void)!read(go[0], &c, 1);  // returns at EOF, when the parent closes its end: all at once
        try {
          RunStore s(path);
          add_run(s, "writer-" + std::to_string(k));
          _exit(0);
        } catch (const std::exception& e) {
          fprintf(stderr, "child %d: %s\n", k, e.what());
          _exit(1);
        }
      }
      kids.push_back(pid);
    }
    close(go[0]);
    close(go[1]);  // the children's read returns: go
    for (pid_t pid : kids) {
      int st = 0;
      waitpid(pid, &st, 0);
      EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "round " << round;
    }
    RunStore s(path, true);
    EXPECT_EQ(s.run_count(), 4) << "round " << round;
    // No temporary copy is left behind.
    int entries = 0;
    for (const auto& e : fs::directory_iterator(dir))
      entries += e.path().filename().string().find(".new-") != std::string::npos;
    EXPECT_EQ(entries, 0);
  }
}

TEST(StoreFiles, ForeignFileWithAStaleWalIsNeverTouched) {
  // A -wal left beside a file that is not a SQLite database: SQLite would replay it (making the
  // file look like a store) and write it back. The file's own first bytes decide first.
  const fs::path dir = fresh_dir();
  const std::string real = (dir / "real.db").string();
  const std::string garbage = (dir / "garbage.db").string();
  {
    RunStore s(real);
    add_run(s, "a");
    // Keep a connection open so that the -wal is not checkpointed away, and copy it.
    SQLite::Database hold(real, SQLite::OPEN_READWRITE);
    hold.exec("PRAGMA wal_autocheckpoint = 0");
    add_run(s, "b");
    fs::copy_file(real + "-wal", garbage + "-wal");
  }
  std::ofstream(garbage, std::ios::binary) << std::string(8192, '\x5a');
  const std::string file_before = slurp(garbage), wal_before = slurp(garbage + "-wal");
  for (bool read_only : {false, true}) {
    try {
      RunStore s(garbage, read_only);
      ADD_FAILURE() << "opened (read_only=" << read_only << ")";
    } catch (const StoreError& e) {
      EXPECT_NE(std::string(e.what()).find("not a SQLite database"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(garbage), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(slurp(garbage), file_before);
  EXPECT_EQ(slurp(garbage + "-wal"), wal_before);
  EXPECT_FALSE(fs::exists(garbage + "-shm"));
}

TEST(StoreFiles, DamagedPagesAreRefusedForWritingAndLeftAsTheyWere) {
  const fs::path dir = fresh_dir();
  const std::string path = (dir / "damaged.db").string();
  {
    RunStore s(path);
    for (int i = 0; i < 200; ++i) {
      const auto id = add_run(s, std::string(300, 'n') + std::to_string(i));
      s.log_metrics(id, 1, {{"loss", 1.0}});
    }
  }
  ASSERT_FALSE(fs::exists(path + "-wal"));
  const auto size = fs::file_size(path);
  ASSERT_GT(size, 8u * 4096u);
  {
    // Scribble over two pages in the middle of the runs table.
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(4096 * 3));
    const std::string junk(8192, '\xa5');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  const std::string before = slurp(path);
  try {
    RunStore s(path);
    ADD_FAILURE() << "a damaged store opened for writing";
  } catch (const StoreDamagedError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("damaged"), std::string::npos) << e.what();
  }
  EXPECT_EQ(slurp(path), before);
  // Read-only: opens; what does not read fails as damage naming the file, and nothing is written.
  RunStore r(path, true);
  try {
    (void)r.list_runs();
  } catch (const StoreDamagedError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  NewRun n;
  EXPECT_THROW(r.create_run(n), StoreError);
  EXPECT_EQ(slurp(path), before);
}

TEST(StoreFiles, PathsThatAreNotFilesAreNamed) {
  const fs::path dir = fresh_dir();
  const std::string fifo = (dir / "pipe.db").string();
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& path : {dir.string(), fifo}) {
    for (bool read_only : {false, true}) {
      try {
        RunStore s(path, read_only);
        ADD_FAILURE() << path << " opened";
      } catch (const StoreError& e) {
        EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("not a CtxLab run store"), std::string::npos)
            << e.what();
      }
    }
  }
}

TEST(StoreFiles, RunFoldersAreStoredRelativeAndMoveWithACopiedStore) {
  const fs::path dir = fresh_dir();
  const fs::path a = dir / "a", b = dir / "b";
  fs::create_directories(a);
  const std::string path = (a / "exp.db").string();
  int64_t inside = 0, outside = 0, legacy = 0;
  {
    RunStore s(path);
    inside = add_run(s, "inside");
    s.set_run_dir(inside, (a / "exp.runs" / "run-1").string());
    outside = add_run(s, "outside");
    s.set_run_dir(outside, "/elsewhere/chosen");
    legacy = add_run(s, "legacy");
    EXPECT_EQ(s.get_run(inside).run_dir, (a / "exp.runs" / "run-1").string());
  }
  {
    SQLite::Database raw(path, SQLite::OPEN_READWRITE);
    EXPECT_EQ(
        raw.execAndGet("SELECT run_dir FROM runs WHERE id = " + std::to_string(inside)).getString(),
        "exp.runs/run-1");
    EXPECT_EQ(raw.execAndGet("SELECT run_dir FROM runs WHERE id = " + std::to_string(outside))
                  .getString(),
              "/elsewhere/chosen");
    // As stores written before relative folders hold them.
    raw.exec("UPDATE runs SET run_dir = '/old/place/exp.runs/run-" + std::to_string(legacy) +
             "' WHERE id = " + std::to_string(legacy));
  }
  fs::copy(a, b, fs::copy_options::recursive);
  RunStore copy((b / "exp.db").string(), true);
  EXPECT_EQ(copy.get_run(inside).run_dir, (b / "exp.runs" / "run-1").string());
  EXPECT_EQ(copy.get_run(outside).run_dir, "/elsewhere/chosen");
  EXPECT_EQ(copy.get_run(legacy).run_dir,
            (b / "exp.runs" / ("run-" + std::to_string(legacy))).string());
}
