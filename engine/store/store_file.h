// The run store as a file on disk, before and around SQLite: recognised from its own first bytes,
// created whole and linked into place, checked for damaged pages before anything is written.
//
// A foreign file (and a stale -wal beside one) is never handed to SQLite, which would replay the
// -wal and write it back; concurrent first users never see half a store.
#pragma once

#include <SQLiteCpp/Database.h>

#include <cstdint>
#include <functional>
#include <string>

namespace ctx::store::file {

enum class Kind {
  Missing,  // nothing there yet
  Empty,    // a 0-byte file: not a store we made (ours are created whole)
  Sqlite,   // starts with the SQLite header
};

// What is at `path`. Throws StoreError naming it for a directory, FIFO, device or socket, an
// unreadable file, or a file that is not a SQLite database (nothing is written or created).
Kind examine(const std::string& path);

// Builds a new store with `build` under a temporary name beside `path` and links it into place.
// Returns false (and removes its own copy) when another process created `path` first.
bool create_whole(const std::string& path, const std::function<void(SQLite::Database&)>& build);

// "" for a sound file; else what SQLite's quick_check found (the first problem). Stores up to
// kFullCheckBytes are checked whole; larger ones table by table for the small tables (runs,
// studies, names, tags, notes, the schema), the large ones being checked page by page as they are
// read (SQLITE_CORRUPT becomes a "damaged" StoreError then).
std::string damage(SQLite::Database& db, int64_t file_size);
constexpr int64_t kFullCheckBytes = int64_t{64} << 20;

int64_t size_of(const std::string& path);  // -1 when unknown

}  // namespace ctx::store::file
