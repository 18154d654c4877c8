// RunStore's connection internals, shared by the files that implement it: the cached statements,
// transaction nesting, and SQLite failures turned into StoreError naming the file.
#pragma once

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/VariadicBind.h>
#include <sqlite3.h>

#include <limits>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>

#include "store/run_store.h"
#include "store/store_schema.h"

namespace ctx::store {
namespace detail {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// SQLite stores a bound NaN as NULL; give it back as NaN rather than as a plausible 0.
inline double real_or_nan(const SQLite::Column& c) {
  return c.isNull() ? kNaN : c.getDouble();
}

inline std::string checked_json(const std::string& text, const std::string& what) {
  if (text.empty()) return "{}";
  if (!nlohmann::json::accept(text)) throw StoreError(what + " is not valid JSON");
  return text;
}

// The runs columns every reader selects, and the row they give.
inline const std::string kRunCols =
    "id, name, parent, study, status, created, started, ended, heartbeat, config_json, method, "
    "engine_version, device, error, host, pid, run_dir";

// A run folder as stored (relative to the store's folder, so a store moved with its folders keeps
// finding them) from what callers give (absolute), and back.
std::string stored_run_dir(const std::string& dir, const std::string& store_dir);
std::string resolved_run_dir(const std::string& stored, const std::string& store_dir,
                             const std::string& store_stem);

inline RunRecord read_run(SQLite::Statement& s, const std::string& store_dir,
                          const std::string& store_stem) {
  RunRecord r;
  r.id = s.getColumn(0).getInt64();
  r.name = s.getColumn(1).getString();
  if (!s.getColumn(2).isNull()) r.parent = s.getColumn(2).getInt64();
  if (!s.getColumn(3).isNull()) r.study = s.getColumn(3).getInt64();
  r.status = status_from_string(s.getColumn(4).getString());
  r.created = s.getColumn(5).getDouble();
  r.started = s.getColumn(6).getDouble();
  r.ended = s.getColumn(7).getDouble();
  r.heartbeat = s.getColumn(8).getDouble();
  r.config_json = s.getColumn(9).getString();
  r.method = s.getColumn(10).getString();
  r.engine_version = s.getColumn(11).getString();
  r.device = s.getColumn(12).getString();
  r.error = s.getColumn(13).getString();
  r.host = s.getColumn(14).getString();
  r.pid = s.getColumn(15).getInt64();
  r.run_dir = resolved_run_dir(s.getColumn(16).getString(), store_dir, store_stem);
  return r;
}

}  // namespace detail

struct RunStore::Impl {
  std::string path;
  std::string dir, stem;  // the store's folder (absolute) and file name without extension
  bool read_only = false;
  // Set by the first SQLITE_CORRUPT: a damaged store takes no more writes from this process.
  mutable bool damaged = false;
  int version = 0;
  std::unique_ptr<SQLite::Database> db;  // declared before stmts: statements die first
  std::unordered_map<std::string, std::unique_ptr<SQLite::Statement>> stmts;
  std::unordered_map<std::string, int64_t> metric_ids;
  // Guards the connection, the statement cache and `depth`; held from begin() to commit() so a
  // transaction on one thread is not interleaved with calls from another.
  std::recursive_mutex mu;
  int depth = 0;  // open transaction levels: 0 none, 1 BEGIN IMMEDIATE, >1 savepoints

  // A cached statement, reset when it goes out of scope so no read snapshot outlives its use
  // (a held snapshot would hide new rows from a follower and block WAL checkpoints).
  class Query {
   public:
    explicit Query(SQLite::Statement& s) : s_(s) {}
    ~Query() { s_.tryReset(); }
    Query(const Query&) = delete;
    Query& operator=(const Query&) = delete;
    SQLite::Statement* operator->() { return &s_; }
    SQLite::Statement& operator*() { return s_; }

   private:
    SQLite::Statement& s_;
  };

  Query query(const std::string& sql) {
    auto& slot = stmts[sql];
    if (!slot) slot = std::make_unique<SQLite::Statement>(*db, sql);
    return Query(*slot);
  }

  [[noreturn]] void fail(const SQLite::Exception& e) const {
    if (e.getErrorCode() == SQLITE_CORRUPT || e.getErrorCode() == SQLITE_NOTADB) damaged = true;
    schema::raise_sqlite_error(path, e);
  }
  RunRecord read_run(SQLite::Statement& s) const { return detail::read_run(s, dir, stem); }
  StoreError no_run(int64_t id) const {
    return StoreError("no run " + std::to_string(id) + " in " + path);
  }

  void begin() {
    mu.lock();
    try {
      if (read_only) throw StoreError(path + " is open read-only");
      if (damaged) throw StoreError(path + " is damaged; nothing more is written to it");
      // IMMEDIATE takes the write lock up front, waiting under busy_timeout; a deferred
      // transaction that upgrades later fails at once with "database is locked".
      if (depth == 0) {
        db->exec("BEGIN IMMEDIATE");
      } else {
        db->exec("SAVEPOINT ctxlab_" + std::to_string(depth));
      }
      ++depth;
    } catch (const SQLite::Exception& e) {
      mu.unlock();
      fail(e);
    } catch (...) {
      mu.unlock();
      throw;
    }
  }

  void commit() {
    const int level = depth - 1;
    try {
      if (level == 0) {
        db->exec("COMMIT");
      } else {
        db->exec("RELEASE ctxlab_" + std::to_string(level));
      }
    } catch (const SQLite::Exception& e) {
      rollback();
      fail(e);
    }
    depth = level;
    mu.unlock();
  }

  // Never throws: it runs while another exception is in flight, and that one is what matters.
  void rollback() noexcept {
    const int level = depth - 1;
    sqlite3* h = db->getHandle();
    if (level == 0) {
      if (!sqlite3_get_autocommit(h)) sqlite3_exec(h, "ROLLBACK", nullptr, nullptr, nullptr);
    } else {
      const std::string sp = "ctxlab_" + std::to_string(level);
      sqlite3_exec(h, ("ROLLBACK TO " + sp + "; RELEASE " + sp).c_str(), nullptr, nullptr, nullptr);
    }
    depth = level;
    metric_ids.clear();  // ids created by the undone part no longer exist
    mu.unlock();
  }

  void require_run(int64_t id) {
    auto q = query("SELECT 1 FROM runs WHERE id = ?");
    q->bind(1, id);
    if (!q->executeStep()) throw no_run(id);
  }

  // Runs an UPDATE on one run whose last parameter is the run id; a missing run is an error.
  void exec_on_run(Query& q, int64_t id) {
    if (q->exec() == 0) throw no_run(id);
  }

  void touch(int64_t run, double now) {
    auto q = query("UPDATE runs SET updated = ? WHERE id = ?");
    SQLite::bind(*q, now, run);
    q->exec();
  }

  // Inside a write transaction: the id of `name`, creating it on first use.
  int64_t metric_id(const std::string& name) {
    auto it = metric_ids.find(name);
    if (it != metric_ids.end()) return it->second;
    int64_t id = 0;
    bool found = false;
    {
      auto q = query("SELECT id FROM metric_names WHERE name = ?");
      q->bind(1, name);
      if (q->executeStep()) {
        id = q->getColumn(0).getInt64();
        found = true;
      }
    }
    if (!found) {
      auto q = query("INSERT INTO metric_names(name) VALUES (?)");
      q->bind(1, name);
      q->exec();
      id = db->getLastInsertRowid();
    }
    metric_ids.emplace(name, id);
    return id;
  }

  // A write transaction (or a savepoint inside the caller's transaction) for one store call;
  // rolls back unless committed.
  class WriteTx {
   public:
    explicit WriteTx(Impl& s) : s_(s) { s_.begin(); }
    ~WriteTx() {
      if (!done_) s_.rollback();
    }
    WriteTx(const WriteTx&) = delete;
    WriteTx& operator=(const WriteTx&) = delete;
    void commit() {
      done_ = true;  // Impl::commit() cleans up after itself when it fails
      s_.commit();
    }

   private:
    Impl& s_;
    bool done_ = false;
  };
};

namespace detail {
using Lock = std::lock_guard<std::recursive_mutex>;
}  // namespace detail
}  // namespace ctx::store
