// Opening run store files: creation of new stores, and refusal (without a single byte written) of
// empty files, text files, foreign SQLite files and stores from a newer CtxLab.

#include <SQLiteCpp/Database.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "store/run_store.h"

using namespace ctx::store;

namespace {

// A path of its own per test, cleared of what an earlier run left there.
std::string temp_db(const std::string& tag = "") {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string p = std::string(CTXLAB_TEST_TMP) + "/store_" + info->test_suite_name() + "_" +
                        info->name() + tag + ".db";
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(p + suffix);
  return p;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string schema_sql(const std::string& path) {
  SQLite::Database raw(path, SQLite::OPEN_READONLY);
  return raw
      .execAndGet(
          "SELECT group_concat(sql, ';') FROM (SELECT sql FROM sqlite_master ORDER BY name)")
      .getString();
}

// Expects opening `path` (both ways) to throw a StoreError whose message contains `needle`.
void expect_refused(const std::string& path, const std::string& needle) {
  for (bool read_only : {false, true}) {
    try {
      RunStore s(path, read_only);
      ADD_FAILURE() << path << " opened (read_only=" << read_only << ")";
    } catch (const StoreError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
}

}  // namespace

TEST(StoreOpen, CreatesSchemaInNewFileAndReopensIdempotently) {
  const std::string path = temp_db();
  {
    RunStore s(path);
    EXPECT_EQ(s.schema_version(), RunStore::kSchemaVersion);
    EXPECT_EQ(s.path(), path);
    NewRun n;
    n.name = "first";
    s.create_run(n);
  }
  {
    SQLite::Database raw(path, SQLite::OPEN_READONLY);
    EXPECT_EQ(raw.execAndGet("PRAGMA user_version").getInt(), 1);
    EXPECT_EQ(raw.execAndGet("PRAGMA application_id").getInt(), RunStore::kApplicationId);
    EXPECT_EQ(raw.execAndGet("PRAGMA journal_mode").getString(), "wal");
    for (const char* t : {"runs", "metric_names", "metrics", "metrics_latest", "evals", "artifacts",
                          "tags", "notes", "studies"}) {
      EXPECT_TRUE(raw.tableExists(t)) << t;
    }
  }
  const std::string before = schema_sql(path);
  for (int i = 0; i < 2; ++i) {
    RunStore again(path);
    EXPECT_EQ(again.schema_version(), 1);
    ASSERT_EQ(again.list_runs().size(), 1u);
    EXPECT_EQ(again.list_runs()[0].name, "first");
  }
  EXPECT_EQ(schema_sql(path), before);
  RunStore reader(path, true);
  EXPECT_EQ(reader.schema_version(), 1);
  EXPECT_EQ(reader.list_runs().size(), 1u);
}

TEST(StoreOpen, ZeroByteFileIsRefusedAndLeftEmpty) {
  // Stores are created whole (never as an empty file), so an empty file is someone else's.
  const std::string path = temp_db();
  std::ofstream(path).close();
  expect_refused(path, "empty file");
  EXPECT_EQ(std::filesystem::file_size(path), 0u);
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
}

TEST(StoreOpen, RefusesForeignSqliteFileAndLeavesItByteIdentical) {
  const std::string path = temp_db();
  {
    SQLite::Database raw(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    raw.exec("CREATE TABLE recipes(id INTEGER PRIMARY KEY, title TEXT)");
    raw.exec("INSERT INTO recipes(title) VALUES ('bread'), ('soup')");
  }
  const std::string bytes = slurp(path);
  expect_refused(path, "is not a CtxLab run store");
  EXPECT_EQ(slurp(path), bytes);
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
  SQLite::Database raw(path, SQLite::OPEN_READONLY);
  EXPECT_EQ(raw.execAndGet("PRAGMA journal_mode").getString(), "delete");
  EXPECT_EQ(raw.execAndGet("PRAGMA user_version").getInt(), 0);
  EXPECT_FALSE(raw.tableExists("runs"));
}

TEST(StoreOpen, RefusesOtherApplicationIdEvenWithoutTables) {
  const std::string path = temp_db();
  {
    SQLite::Database raw(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    raw.exec("PRAGMA application_id = 1234");
  }
  const std::string bytes = slurp(path);
  expect_refused(path, "is not a CtxLab run store");
  EXPECT_EQ(slurp(path), bytes);
}

TEST(StoreOpen, RefusesTextFilesAndLeavesThemUnchanged) {
  for (size_t size : {30u, 5000u}) {
    const std::string path = temp_db("_" + std::to_string(size));
    std::string text;
    while (text.size() < size) text += "step,loss\n1,2.5\n";
    std::ofstream(path, std::ios::binary) << text;
    expect_refused(path, ": not a SQLite database");
    EXPECT_EQ(slurp(path), text);
  }
}

TEST(StoreOpen, RefusesNewerSchemaAndLeavesItUnchanged) {
  const std::string path = temp_db();
  {
    SQLite::Database raw(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    raw.exec("PRAGMA application_id = " + std::to_string(RunStore::kApplicationId));
    raw.exec("PRAGMA user_version = 99");
    raw.exec("CREATE TABLE runs(id INTEGER PRIMARY KEY, shiny_new_column TEXT)");
  }
  const std::string bytes = slurp(path);
  expect_refused(path, "has schema version 99, newer than this CtxLab (1); upgrade CtxLab");
  EXPECT_EQ(slurp(path), bytes);
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
}

TEST(StoreOpen, ReadOnlyNeverCreatesOrWrites) {
  const std::string missing = temp_db("_missing");
  EXPECT_THROW(RunStore(missing, true), StoreError);
  EXPECT_FALSE(std::filesystem::exists(missing));

  const std::string empty = temp_db("_empty");
  std::ofstream(empty).close();
  EXPECT_THROW(RunStore(empty, true), StoreError);
  EXPECT_EQ(std::filesystem::file_size(empty), 0u);

  const std::string path = temp_db();
  int64_t id = 0;
  {
    RunStore w(path);
    NewRun n;
    n.name = "kept";
    id = w.create_run(n);
    w.log_metrics(id, 0, {{"loss", 3.0}});
  }
  RunStore r(path, true);
  EXPECT_EQ(r.get_run(id).name, "kept");
  EXPECT_EQ(r.metric_series(id, "loss").size(), 1u);
  NewRun n;
  EXPECT_THROW(r.create_run(n), StoreError);
  EXPECT_THROW(r.log_metrics(id, 1, {{"loss", 2.0}}), StoreError);
  EXPECT_THROW(r.rename_run(id, "changed"), StoreError);
  EXPECT_THROW(r.transaction([] {}), StoreError);
  EXPECT_TRUE(r.reconcile_interrupted().empty());  // nothing to change, so nothing to refuse
  EXPECT_EQ(r.get_run(id).name, "kept");
  EXPECT_EQ(r.metric_series(id, "loss").size(), 1u);
}

TEST(StoreOpen, UnopenablePathNamesTheFile) {
  const std::string path = std::string(CTXLAB_TEST_TMP) + "/no/such/dir/store.db";
  try {
    RunStore s(path);
    FAIL() << "opened " << path;
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}
