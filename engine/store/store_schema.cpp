// Run store DDL and migrations, and the checks that keep us from touching files that are not ours.
// Every migration step runs in one BEGIN IMMEDIATE transaction that also bumps user_version.

#include "store/store_schema.h"

#include <sqlite3.h>

#include <algorithm>

#include "store/store_file.h"

namespace ctx::store::schema {
namespace {

// Version 1. Times are unix seconds (REAL), 0 meaning "not yet". Metric values are nullable because
// SQLite stores a bound NaN as NULL and a diverged run's loss is exactly that.
// AUTOINCREMENT on runs and studies: a deleted run's id (and its run directory name) never returns.
// runs.updated is touched by every change to a run, so a follower can poll one column.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE studies (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  created REAL NOT NULL,
  description TEXT NOT NULL DEFAULT ''
);
CREATE TABLE runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL DEFAULT '',
  parent INTEGER REFERENCES runs(id) ON DELETE SET NULL,
  study INTEGER REFERENCES studies(id) ON DELETE SET NULL,
  status TEXT NOT NULL DEFAULT 'queued',
  created REAL NOT NULL,
  started REAL NOT NULL DEFAULT 0,
  ended REAL NOT NULL DEFAULT 0,
  heartbeat REAL NOT NULL DEFAULT 0,
  updated REAL NOT NULL DEFAULT 0,
  config_json TEXT NOT NULL DEFAULT '{}',
  method TEXT NOT NULL DEFAULT '',
  engine_version TEXT NOT NULL DEFAULT '',
  device TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '',
  host TEXT NOT NULL DEFAULT '',
  pid INTEGER NOT NULL DEFAULT 0,
  run_dir TEXT NOT NULL DEFAULT ''
);
CREATE INDEX runs_status ON runs(status);
CREATE INDEX runs_parent ON runs(parent);
CREATE INDEX runs_study ON runs(study);
CREATE INDEX runs_updated ON runs(updated);

CREATE TABLE metric_names (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE
);
CREATE TABLE metrics (
  run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  metric_id INTEGER NOT NULL REFERENCES metric_names(id),
  step INTEGER NOT NULL,
  value REAL,
  wall REAL NOT NULL,
  PRIMARY KEY (run, metric_id, step)
) WITHOUT ROWID;
CREATE TABLE metrics_latest (
  run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  metric_id INTEGER NOT NULL REFERENCES metric_names(id),
  step INTEGER NOT NULL,
  value REAL,
  wall REAL NOT NULL,
  PRIMARY KEY (run, metric_id)
) WITHOUT ROWID;

CREATE TABLE evals (
  id INTEGER PRIMARY KEY,
  run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  task TEXT NOT NULL,
  mode TEXT NOT NULL,
  x REAL NOT NULL,
  y REAL NOT NULL,
  metric TEXT NOT NULL,
  value REAL,
  step INTEGER NOT NULL DEFAULT 0,
  extra_json TEXT NOT NULL DEFAULT '{}',
  wall REAL NOT NULL,
  UNIQUE (run, task, mode, x, y, metric)
);

CREATE TABLE artifacts (
  id INTEGER PRIMARY KEY,
  run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  step INTEGER NOT NULL,
  dtype TEXT NOT NULL,
  shape TEXT NOT NULL,
  data BLOB,
  wall REAL NOT NULL,
  UNIQUE (run, name, step)
);

CREATE TABLE tags (
  run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  tag TEXT NOT NULL,
  PRIMARY KEY (run, tag)
) WITHOUT ROWID;
CREATE INDEX tags_tag ON tags(tag);

CREATE TABLE notes (
  run INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
  note TEXT NOT NULL,
  updated REAL NOT NULL
);
)sql";

struct Migration {
  int to_version;
  const char* sql;
};

// Append only: a released step is never edited, a schema change is a new step.
constexpr Migration kMigrations[] = {{1, kSchemaV1}};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == RunStore::kSchemaVersion,
              "one migration step per schema version");

void migrate(const std::string& path, SQLite::Database& db, int* version) {
  for (const Migration& m : kMigrations) {
    if (*version >= m.to_version) continue;
    db.exec("BEGIN IMMEDIATE");
    try {
      // Another process may have migrated (or replaced the file) since we looked: look again
      // now that we hold the write lock.
      FileInfo info = inspect(db);
      check_compatible(path, info);
      if (info.user_version < m.to_version) {
        db.exec(m.sql);
        db.exec("PRAGMA application_id = " + std::to_string(RunStore::kApplicationId));
        db.exec("PRAGMA user_version = " + std::to_string(m.to_version));
      }
      db.exec("COMMIT");
      *version = std::max(info.user_version, m.to_version);
    } catch (...) {
      // Nothing of a failed step may stay; the original error is the one worth reporting.
      if (!sqlite3_get_autocommit(db.getHandle()))
        sqlite3_exec(db.getHandle(), "ROLLBACK", 0, 0, 0);
      throw;
    }
  }
}

}  // namespace

FileInfo inspect(SQLite::Database& db) {
  // One statement, so one snapshot: read one value at a time, another process creating the store
  // between two of them made a half-made store look foreign.
  SQLite::Statement q(db,
                      "SELECT (SELECT application_id FROM pragma_application_id), "
                      "(SELECT user_version FROM pragma_user_version), "
                      "(SELECT count(*) FROM sqlite_master)");
  q.executeStep();
  FileInfo info;
  info.application_id = static_cast<int32_t>(q.getColumn(0).getInt());
  info.user_version = q.getColumn(1).getInt();
  info.has_objects = q.getColumn(2).getInt64() > 0;
  return info;
}

void check_compatible(const std::string& path, const FileInfo& info) {
  const bool ours = info.application_id == RunStore::kApplicationId;
  const bool blank = info.application_id == 0 && info.user_version == 0 && !info.has_objects;
  if (!ours && !blank) throw StoreError(path + " is not a CtxLab run store");
  if (info.user_version > RunStore::kSchemaVersion) {
    throw StoreError(path + " has schema version " + std::to_string(info.user_version) +
                     ", newer than this CtxLab (" + std::to_string(RunStore::kSchemaVersion) +
                     "); upgrade CtxLab");
  }
}

void raise_sqlite_error(const std::string& path, const SQLite::Exception& e) {
  switch (e.getErrorCode()) {
    case SQLITE_NOTADB:
      throw StoreError(path + ": not a SQLite database");
    case SQLITE_CORRUPT:
      throw StoreDamagedError(path + " is damaged (" + e.what() +
                              "); nothing more is written to it");
    case SQLITE_FULL:
      throw StoreError(path + ": the disk is full (" + e.what() +
                       "); the last change was not stored");
    case SQLITE_CANTOPEN:
      throw StoreError(path + ": cannot open (" + e.what() + ")");
    case SQLITE_READONLY:
      throw StoreError(path + ": cannot write (" + e.what() + ")");
    default:
      throw StoreError(path + ": " + e.what());
  }
}

namespace {

// A new store: WAL (a setting kept in the file) and the schema, built before anyone can see it.
void build_store(const std::string& path, SQLite::Database& db) {
  db.execAndGet("PRAGMA journal_mode = WAL");
  int version = 0;
  migrate(path, db, &version);
}

}  // namespace

std::unique_ptr<SQLite::Database> open_store(const std::string& path, bool read_only,
                                             int* version) {
  try {
    // What the file is, from its own bytes: SQLite never sees a foreign file (nor a -wal beside
    // it, which it would replay and then write back).
    file::Kind kind = file::examine(path);
    if (kind == file::Kind::Empty)
      throw StoreError(path + " is an empty file, not a CtxLab run store (remove it to start a "
                              "new store there)");
    if (kind == file::Kind::Missing) {
      if (read_only) throw StoreError(path + ": no such run store");
      file::create_whole(path, [&](SQLite::Database& db) { build_store(path, db); });
      // Ours, or another process's that got there first: either way a whole store now.
      if (file::examine(path) != file::Kind::Sqlite)
        throw StoreError(path + ": not a SQLite database (left untouched)");
    }

    // Look at the file through a read-only connection first: it cannot write, and it does not
    // checkpoint on close, so a foreign or newer file stays byte-identical when we refuse it.
    auto probe = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READONLY, kBusyTimeoutMs);
    FileInfo info = inspect(*probe);
    check_compatible(path, info);
    *version = info.user_version;

    if (read_only) {
      if (info.user_version == 0) {
        throw StoreError(path + " is not a CtxLab run store yet (empty); open it once for writing");
      }
      if (info.user_version < RunStore::kSchemaVersion) {
        throw StoreError(path + " has schema version " + std::to_string(info.user_version) +
                         ", older than this CtxLab (" + std::to_string(RunStore::kSchemaVersion) +
                         "); open it once for writing to create or migrate it");
      }
      probe->exec("PRAGMA foreign_keys = ON");
      probe->exec("PRAGMA query_only = ON");
      return probe;
    }
    // Damaged pages: refused before anything is written (a write would spread the damage).
    if (auto problem = file::damage(*probe, file::size_of(path)); !problem.empty())
      throw StoreDamagedError(path + " is damaged (" + problem +
                       "); refused, nothing was written: restore it from a copy, or read what is "
                       "left with `sqlite3 " + path + " .recover`");
    probe.reset();

    auto db = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE, kBusyTimeoutMs);
    check_compatible(path, inspect(*db));  // the file may have changed between the two opens
    // WAL: readers never block the writer nor see half a transaction. NORMAL sync in WAL loses
    // at most the last commits on power loss and never corrupts; a killed process loses nothing.
    db->execAndGet("PRAGMA journal_mode = WAL");
    db->exec("PRAGMA synchronous = NORMAL");
    db->exec("PRAGMA foreign_keys = ON");
    migrate(path, *db, version);
    return db;
  } catch (const SQLite::Exception& e) {
    raise_sqlite_error(path, e);
  }
}

}  // namespace ctx::store::schema
