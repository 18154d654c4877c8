// Store files: header sniffing with open/fstat/read, creation by link(2) (or renameat2 with
// RENAME_NOREPLACE where links are not supported), quick_check for damage.
#include "store/store_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include "store/run_store.h"

namespace ctx::store::file {
namespace {

namespace fs = std::filesystem;

constexpr char kSqliteHeader[16] = {'S', 'Q', 'L', 'i', 't', 'e', ' ', 'f',
                                    'o', 'r', 'm', 'a', 't', ' ', '3', '\0'};

std::string kind_name(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISCHR(m) || S_ISBLK(m)) return "a device";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

void sync_path(const std::string& path, int flags) {
  Fd f{::open(path.c_str(), flags | O_CLOEXEC)};
  if (f.fd >= 0) ::fsync(f.fd);
}

// Moves `from` to `to` unless `to` exists; false when it does.
bool place(const std::string& from, const std::string& to) {
  if (::link(from.c_str(), to.c_str()) == 0) return true;
  const int err = errno;
  if (err == EEXIST) return false;
  if (err != EPERM && err != EOPNOTSUPP && err != ENOSYS && err != EMLINK)
    throw StoreError(to + ": cannot create the run store (" + std::strerror(err) + ")");
  // Filesystems without hard links: an exclusive rename does the same.
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return true;
  if (errno == EEXIST) return false;
  throw StoreError(to + ": cannot create the run store (" + std::strerror(errno) + ")");
}

}  // namespace

Kind examine(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Kind::Missing;
    throw StoreError(path + ": cannot open (" + std::strerror(errno) + ")");
  }
  if (!S_ISREG(st.st_mode))
    throw StoreError(path + " is " + kind_name(st.st_mode) + ", not a CtxLab run store");
  if (st.st_size == 0) return Kind::Empty;
  // O_NONBLOCK: the file may have been swapped for a FIFO since stat.
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
  if (f.fd < 0) throw StoreError(path + ": cannot open (" + std::strerror(errno) + ")");
  char head[sizeof kSqliteHeader] = {};
  ssize_t got = 0;
  while (got < static_cast<ssize_t>(sizeof head)) {
    const ssize_t n = ::read(f.fd, head + got, sizeof head - static_cast<size_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += n;
  }
  if (got != static_cast<ssize_t>(sizeof head) ||
      std::memcmp(head, kSqliteHeader, sizeof head) != 0)
    throw StoreError(path + ": not a SQLite database (left untouched)");
  return Kind::Sqlite;
}

bool create_whole(const std::string& path, const std::function<void(SQLite::Database&)>& build) {
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::random_device rd;
  const std::string tmp = (dir / ("." + target.filename().string() + ".new-" +
                                  std::to_string(::getpid()) + "-" + std::to_string(rd())))
                              .string();
  struct Cleanup {
    const std::string& tmp;
    ~Cleanup() {
      for (const char* suffix : {"", "-wal", "-shm", "-journal"})
        std::remove((tmp + suffix).c_str());
    }
  } cleanup{tmp};
  {
    SQLite::Database db(tmp, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    build(db);
  }  // the last connection closes: its WAL is checkpointed into the file and removed
  sync_path(tmp, O_RDONLY);
  const bool placed = place(tmp, path);
  if (placed) sync_path(dir.string(), O_RDONLY | O_DIRECTORY);
  return placed;
}

std::string damage(SQLite::Database& db, int64_t file_size) {
  auto first_problem = [&](const std::string& sql) -> std::string {
    SQLite::Statement q(db, sql);
    if (!q.executeStep()) return "";
    const std::string r = q.getColumn(0).getString();
    return r == "ok" ? "" : r;
  };
  if (file_size >= 0 && file_size <= kFullCheckBytes) return first_problem("PRAGMA quick_check(1)");
  for (const char* table :
       {"sqlite_schema", "sqlite_sequence", "runs", "studies", "metric_names", "tags", "notes"}) {
    SQLite::Statement exists(db, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?");
    exists.bind(1, table);
    if (std::string(table) != "sqlite_schema" && !exists.executeStep()) continue;
    if (auto p = first_problem(std::string("PRAGMA quick_check(") + table + ")"); !p.empty())
      return p;
  }
  return "";
}

int64_t size_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : -1;
}

}  // namespace ctx::store::file
