// RunStore's runs: opening, creating, status changes, heartbeats, interrupted detection. Metrics
// and evals: store_metrics.cpp; artifacts, tags, notes, studies: store_records.cpp.

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <filesystem>

#include "store/store_impl.h"

namespace ctx::store {
namespace {

bool is_terminal(RunStatus s) {
  return s == RunStatus::Finished || s == RunStatus::Failed || s == RunStatus::Interrupted ||
         s == RunStatus::Diverged;
}

constexpr const char* kStaleError = "no heartbeat for ";
// SQL condition on a row: interrupted only for want of a heartbeat. SET expressions all read the
// row as it was before the UPDATE, so the order of the assignments does not matter.
constexpr const char* kRevivable = "(status = 'interrupted' AND error LIKE 'no heartbeat for %')";

}  // namespace

using detail::Lock;
using detail::kRunCols;

// Every public member catches SQLite::Exception in a function-try-block and rethrows it as a
// StoreError naming the file, so callers only ever see one exception type.

RunStore::RunStore(const std::string& path, bool read_only) : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  const auto abs = std::filesystem::absolute(path).lexically_normal();
  impl_->dir = abs.parent_path().string();
  impl_->stem = abs.stem().string();
  impl_->read_only = read_only;
  impl_->db = schema::open_store(path, read_only, &impl_->version);
}

RunStore::~RunStore() = default;

const std::string& RunStore::path() const {
  return impl_->path;
}
int RunStore::schema_version() const {
  return impl_->version;
}

void RunStore::begin() {
  impl_->begin();
}
void RunStore::commit() {
  impl_->commit();
}
void RunStore::rollback() {
  impl_->rollback();
}

// --- runs

int64_t RunStore::create_run(const NewRun& run) try {
  Lock lk(impl_->mu);
  const std::string config =
      detail::checked_json(run.config_json, "config of run '" + run.name + "'");
  Impl::WriteTx tx(*impl_);
  if (run.parent) impl_->require_run(*run.parent);
  if (run.study) {
    auto q = impl_->query("SELECT 1 FROM studies WHERE id = ?");
    q->bind(1, *run.study);
    if (!q->executeStep()) {
      throw StoreError("no study " + std::to_string(*run.study) + " in " + impl_->path);
    }
  }
  const double now = now_seconds();
  const double running_since = run.status == RunStatus::Running ? now : 0.0;
  int64_t id = 0;
  {
    auto q = impl_->query(
        "INSERT INTO runs(name, parent, study, status, created, started, ended, heartbeat, "
        "updated, config_json, method, engine_version, device) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    SQLite::bind(*q, run.name, int64_t{0}, int64_t{0}, to_string(run.status), now, running_since,
                 is_terminal(run.status) ? now : 0.0, running_since, now, config, run.method,
                 run.engine_version, run.device);
    run.parent ? q->bind(2, *run.parent) : q->bind(2);  // NULL when absent
    run.study ? q->bind(3, *run.study) : q->bind(3);
    q->exec();
    id = impl_->db->getLastInsertRowid();
  }
  tx.commit();
  return id;
} catch (const SQLite::Exception& e) {
  impl_->fail(e);
}

std::optional<RunRecord> RunStore::find_run(int64_t id) const try {
  Lock lk(impl_->mu);
  auto q = impl_->query("SELECT " + kRunCols + " FROM runs WHERE id = ?");
  q->bind(1, id);
  if (!q->executeStep()) return std::nullopt;
  return impl_->read_run(*q);
} catch (const SQLite::Exception& e) {
  impl_->fail(e);
}

RunRecord RunStore::get_run(int64_t id) const {
  auto r = find_run(id);
  if (!r) throw impl_->no_run(id);
  return *r;
}

std::vector<RunRecord> RunStore::list_runs() const try {
  Lock lk(impl_->mu);
  std::vector<RunRecord> out;
  auto q = impl_->query("SELECT " + kRunCols + " FROM runs ORDER BY id DESC");
  while (q->executeStep()) out.push_back(impl_->read_run(*q));
  return out;
} catch (const SQLite::Exception& e) {
  impl_->fail(e);
}

std::vector<RunRecord> RunStore::runs_changed_since(double wall) const try {
  Lock lk(impl_->mu);
  std::vector<RunRecord> out;
  // `updated` moves with every change; the other columns are named for runs written by hand.
  auto q = impl_->query("SELECT " + kRunCols +
                        " FROM runs WHERE updated >= ?1 OR created >= ?1 OR started >= ?1 "
                        "OR ended >= ?1 OR heartbeat >= ?1 ORDER BY id");
  q->bind(1, wall);
  while (q->executeStep()) out.push_back(impl_->read_run(*q));
  return out;
} catch (const SQLite::Exception& e) {
  impl_->fail(e);
}

void RunStore::mark_running(int64_t id, int64_t pid, const std::string& host,
                            const std::string& device) try {
  Lock lk(impl_->mu);
  Impl::WriteTx tx(*impl_);
  {
    // A resumed run keeps its first start time; an empty device keeps the recorded one.
    auto q = impl_->query(
        "UPDATE runs SET status = 'running', pid = ?1, host = ?2, "
        "device = CASE WHEN ?3 = '' THEN device ELSE ?3 END, "
        "started = CASE WHEN started = 0 THEN ?4 ELSE started END, "
        "heartbeat = ?4, updated = ?4, ended = 0, error = '' WHERE id = ?5");
    SQLite::bind(*q, pid, host, device, now_seconds(), id);
    impl_->exec_on_run(q, id);
  }
  tx.commit();
} catch (const SQLite::Exception& e) {
  impl_->fail(e);
}

void RunStore::set_status(int64_t id, RunStatus s, const std::string& error) try {
  Lock lk(impl_->mu);
  Impl::WriteTx tx(*impl_);
  {
    auto q = impl_->query(
        "UPDATE runs SET status = ?1, error = ?2, updated = ?3, ended = ?4, "
        "started = CASE WHEN ?1 = 'running' AND started = 0 THEN ?3 ELSE started END, "
        "heartbeat = CASE WHEN ?1 = 'running' THEN ?3 ELSE heartbeat END WHERE id = ?5");
    const double now = now_seconds();
    SQLite::bind(*q, to_string(s), error, now, is_terminal(s) ? now : 0.0, id);
    impl_->exec_on_run(q, id);
  }
  tx.commit();
} catch (const SQLite::Exception& e) {
  impl_->fail(e);
}

void RunStore::heartbeat(int64_t id) try {
  Lock lk(impl_->mu);
  Impl::WriteTx tx(*impl_);
  {
    // A heartbeat disproves a "no heartbeat" verdict: a run reconciled as interrupted while its
    // process was only slow (a long checkpoint save) goes back to running. Other interruptions
    // (a dead process, an explicit set_status) stand.
    static const std::string sql = std::string("UPDATE runs SET heartbeat = ?1, updated = ?1, ") +
                                   "ended = CASE WHEN " + kRevivable + " THEN 0 ELSE ended END, " +
                                   "status = CASE WHEN " + kRevivable +
                                   " THEN 'running' ELSE status END, " + "error = CASE WHEN " +
                                   kRevivable + " THEN '' ELSE error END WHERE id = ?2";
    auto q = impl_->query(sql);
    SQLite::bind(*q, now_seconds(), id);
    impl_->exec_on_run(q, id);
  }
  tx.commit();
} catch (const SQLite::Exception& e) {
  impl_->fail(e);
}

void RunStore::set_run_dir(int64_t id, const std::string& dir) try {
  Lock lk(impl_->mu);
  Impl::WriteTx tx(*impl_);
  {
    auto q = impl_->query("UPDATE runs SET run_dir = ?, updated = ? WHERE id = ?");
    SQLite::bind(*q, detail::stored_run_dir(dir, impl_->dir), now_seconds(), id);
    impl_->exec_on_run(q, id);
  }
  tx.commit();
} catch (const SQLite::Exception& e) {
  impl_->fail(e);
}

void RunStore::set_config(int64_t id, const std::string& config_json) try {
  Lock lk(impl_->mu);
  const std::string config =
      detail::checked_json(config_json, "config of run " + std::to_string(id));
  Impl::WriteTx tx(*impl_);
  {
    auto q = impl_->query("UPDATE runs SET config_json = ?, updated = ? WHERE id = ?");
    SQLite::bind(*q, config, now_seconds(), id);
    impl_->exec_on_run(q, id);
  }
  tx.commit();
} catch (const SQLite::Exception& e) {
  impl_->fail(e);
}

void RunStore::rename_run(int64_t id, const std::string& name) try {
  Lock lk(impl_->mu);
  Impl::WriteTx tx(*impl_);
  {
    auto q = impl_->query("UPDATE runs SET name = ?, updated = ? WHERE id = ?");
    SQLite::bind(*q, name, now_seconds(), id);
    impl_->exec_on_run(q, id);
  }
  tx.commit();
} catch (const SQLite::Exception& e) {
  impl_->fail(e);
}

void RunStore::delete_run(int64_t id) try {
  Lock lk(impl_->mu);
  Impl::WriteTx tx(*impl_);
  {
    // Metrics, latest values, evals, artifacts, tags and notes go by ON DELETE CASCADE; child
    // runs stay and lose their parent (ON DELETE SET NULL).
    auto q = impl_->query("DELETE FROM runs WHERE id = ?");
    q->bind(1, id);
    impl_->exec_on_run(q, id);
  }
  tx.commit();
} catch (const SQLite::Exception& e) {
  impl_->fail(e);
}

std::vector<int64_t> RunStore::reconcile_interrupted(double stale_after_s) try {
  Lock lk(impl_->mu);
  struct Verdict {
    int64_t id, pid;
    double heartbeat, last_alive;
    std::string error;
  };
  std::vector<Verdict> stopped;
  const std::string here = host_name();
  const double now = now_seconds();
  {
    auto q = impl_->query(
        "SELECT id, host, pid, heartbeat, started, created FROM runs WHERE status = 'running'");
    while (q->executeStep()) {
      Verdict v;
      v.id = q->getColumn(0).getInt64();
      const std::string host = q->getColumn(1).getString();
      v.pid = q->getColumn(2).getInt64();
      v.heartbeat = q->getColumn(3).getDouble();
      const double started = q->getColumn(4).getDouble();
      v.last_alive = v.heartbeat > 0 ? v.heartbeat
                     : started > 0   ? started
                                     : q->getColumn(5).getDouble();
      // kill(pid, 0) only answers for this host; EPERM means alive under another user.
      const bool gone = host == here && v.pid > 0 && v.pid <= std::numeric_limits<pid_t>::max() &&
                        kill(static_cast<pid_t>(v.pid), 0) != 0 && errno == ESRCH;
      if (gone) {
        v.error = "process " + std::to_string(v.pid) + " on " + host + " stopped without finishing";
      } else if (now - v.last_alive > stale_after_s) {
        v.error = kStaleError + std::to_string(std::llround(now - v.last_alive)) + " s";
      } else {
        continue;
      }
      stopped.push_back(std::move(v));
    }
  }
  // Nothing to change: no write, so read-only followers may call this freely.
  if (stopped.empty()) return {};
  std::vector<int64_t> changed;
  Impl::WriteTx tx(*impl_);
  for (const Verdict& v : stopped) {
    // Guarded on what we saw: a heartbeat or a finish that landed since then wins.
    auto q = impl_->query(
        "UPDATE runs SET status = 'interrupted', error = ?, ended = ?, updated = ? "
        "WHERE id = ? AND status = 'running' AND heartbeat = ? AND pid = ?");
    SQLite::bind(*q, v.error, v.last_alive, now, v.id, v.heartbeat, v.pid);
    if (q->exec() > 0) changed.push_back(v.id);
  }
  tx.commit();
  return changed;
} catch (const SQLite::Exception& e) {
  impl_->fail(e);
}

// --- run folders: stored relative to the store's folder

namespace detail {

std::string stored_run_dir(const std::string& dir, const std::string& store_dir) {
  if (dir.empty()) return dir;
  namespace fs = std::filesystem;
  // A relative folder is taken as relative to the store's folder, as it is kept.
  const fs::path given(dir);
  const fs::path abs =
      (given.is_absolute() ? given : fs::path(store_dir) / given).lexically_normal();
  const fs::path rel = abs.lexically_relative(store_dir);
  // Inside the store's folder: relative. Elsewhere (a folder the caller chose): as given.
  if (rel.empty() || *rel.begin() == "..") return abs.string();
  return rel.string();
}

std::string resolved_run_dir(const std::string& stored, const std::string& store_dir,
                             const std::string& store_stem) {
  namespace fs = std::filesystem;
  if (stored.empty()) return stored;
  fs::path p(stored);
  if (p.is_absolute()) {
    // Stores written before run folders were relative hold absolute paths. One in the usual place
    // ("<store>.runs/run-N" beside the store) is read as relative, so a copied store uses its own
    // copy of the folders, not the original's.
    const fs::path parent = p.parent_path();
    if (parent.filename() != store_stem + ".runs" || p.filename().string().rfind("run-", 0) != 0)
      return stored;
    p = parent.filename() / p.filename();
  }
  return (fs::path(store_dir) / p).lexically_normal().string();
}

}  // namespace detail

// --- free helpers

std::string to_string(RunStatus s) {
  switch (s) {
    case RunStatus::Queued:
      return "queued";
    case RunStatus::Running:
      return "running";
    case RunStatus::Finished:
      return "finished";
    case RunStatus::Failed:
      return "failed";
    case RunStatus::Interrupted:
      return "interrupted";
    case RunStatus::Diverged:
      return "diverged";
  }
  return "queued";
}

RunStatus status_from_string(const std::string& s) {
  for (RunStatus v : {RunStatus::Queued, RunStatus::Running, RunStatus::Finished, RunStatus::Failed,
                      RunStatus::Interrupted, RunStatus::Diverged}) {
    if (to_string(v) == s) return v;
  }
  throw StoreError("unknown run status '" + s +
                   "' (queued, running, finished, failed, interrupted, diverged)");
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "localhost";
  return buf;
}

}  // namespace ctx::store
