// Opening a run store file: recognising foreign or newer files before anything is written,
// connection settings, and the forward migrations that bring a file up to RunStore::kSchemaVersion.
#pragma once

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>

#include <cstdint>
#include <memory>
#include <string>

#include "store/run_store.h"

namespace ctx::store::schema {

// What the file header says, read without writing anything.
struct FileInfo {
  int32_t application_id = 0;
  int user_version = 0;
  bool has_objects = false;  // any table, index, view or trigger
};

FileInfo inspect(SQLite::Database& db);

// Throws StoreError when `info` belongs to something that is not a CtxLab store, or to a newer one.
void check_compatible(const std::string& path, const FileInfo& info);

// Opens `path` ready for use: WAL, busy timeout, foreign keys; creates and migrates the store
// unless `read_only`. Sets `*version` to the schema version found (after migrating).
std::unique_ptr<SQLite::Database> open_store(const std::string& path, bool read_only, int* version);

// Throws one line naming the file for any SQLite failure: StoreDamagedError for damaged pages.
[[noreturn]] void raise_sqlite_error(const std::string& path, const SQLite::Exception& e);

constexpr int kBusyTimeoutMs = 10000;

}  // namespace ctx::store::schema
