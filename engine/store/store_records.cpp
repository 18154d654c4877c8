// RunStore's attachments: binary artifacts with shape and dtype, tags, notes and studies, and the
// helpers that turn float vectors into artifacts and back.

#include <cstring>

#include "store/store_impl.h"

namespace ctx::store {
namespace {

size_t dtype_size(const std::string& dtype) {
  static const std::unordered_map<std::string, size_t> sizes = {
      {"f32", 4}, {"f64", 8}, {"f16", 2}, {"bf16", 2}, {"i64", 8},
      {"i32", 4}, {"i16", 2}, {"i8", 1},  {"u8", 1},   {"bool", 1}};
  auto it = sizes.find(dtype);
  return it == sizes.end() ? 0 : it->second;
}
}  // namespace

using detail::Lock;

// --- artifacts

void RunStore::put_artifact(int64_t run, const Artifact& a) try {
  Lock lk(impl_->mu);
  const std::string what = "artifact '" + a.name + "' of run " + std::to_string(run);
  const size_t item = dtype_size(a.dtype);
  if (item == 0) throw StoreError(what + ": unknown dtype '" + a.dtype + "'");
  if (a.step < 0) throw StoreError(what + ": step must be >= 0");
  size_t count = 1;
  for (int64_t d : a.shape) {
    if (d < 0) throw StoreError(what + ": negative dimension in shape");
    count *= static_cast<size_t>(d);
  }
  const std::string shape = nlohmann::json(a.shape).dump();
  if (count * item != a.data.size()) {
    throw StoreError(what + ": " + std::to_string(a.data.size()) + " bytes do not match shape " +
                     shape + " of " + a.dtype);
  }
  if (a.data.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    throw StoreError(what + ": larger than 2 GiB");
  }
  Impl::WriteTx tx(*impl_);
  impl_->require_run(run);
  {
    auto q = impl_->query(
        "INSERT INTO artifacts(run, name, step, dtype, shape, data, wall) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(run, name, step) DO UPDATE SET "
        "dtype = excluded.dtype, shape = excluded.shape, data = excluded.data, wall = "
        "excluded.wall");
    SQLite::bind(*q, run, a.name, a.step, a.dtype, shape);
    q->bind(6, a.data.data(), static_cast<int>(a.data.size()));
    q->bind(7, now_seconds());
    q->exec();
  }
  impl_->touch(run, now_seconds());  // a follower polls runs.updated to learn of new artifacts
  tx.commit();
} catch (const SQLite::Exception& e) {
  impl_->fail(e);
}

std::optional<Artifact> RunStore::artifact(int64_t run, const std::string& name, int64_t step) const
    try {
  Lock lk(impl_->mu);
  auto q = step < 0 ? impl_->query(
                          "SELECT name, step, dtype, shape, data FROM artifacts "
                          "WHERE run = ? AND name = ? ORDER BY step DESC LIMIT 1")
                    : impl_->query(
                          "SELECT name, step, dtype, shape, data FROM artifacts "
                          "WHERE run = ? AND name = ? AND step = ?");
  SQLite::bind(*q, run, name);
  if (step >= 0) q->bind(3, step);
  if (!q->executeStep()) return std::nullopt;
  Artifact a;
  a.name = q->getColumn(0).getString();
  a.step = q->getColumn(1).getInt64();
  a.dtype = q->getColumn(2).getString();
  const std::string shape = q->getColumn(3).getString();
  try {
    a.shape = nlohmann::json::parse(shape).get<std::vector<int64_t>>();
  } catch (const nlohmann::json::exception&) {
    throw StoreError("artifact '" + name + "' of run " + std::to_string(run) + " in " +
                     impl_->path + " has a damaged shape: " + shape);
  }
  const SQLite::Column data = q->getColumn(4);
  const auto* bytes = static_cast<const uint8_t*>(data.getBlob());
  if (bytes) a.data.assign(bytes, bytes + data.getBytes());
  return a;
} catch (const SQLite::Exception& e) {
  impl_->fail(e);
}

std::vector<std::pair<std::string, int64_t>> RunStore::list_artifacts(int64_t run) const try {
  Lock lk(impl_->mu);
  std::vector<std::pair<std::string, int64_t>> out;
  auto q = impl_->query("SELECT name, step FROM artifacts WHERE run = ? ORDER BY name, step");
  q->bind(1, run);
  while (q->executeStep())
    out.emplace_back(q->getColumn(0).getString(), q->getColumn(1).getInt64());
  return out;
} catch (const SQLite::Exception& e) {
  impl_->fail(e);
}

// --- tags, notes, studies

void RunStore::add_tag(int64_t run, const std::string& tag) try {
  Lock lk(impl_->mu);
  if (tag.empty()) throw StoreError("a tag must not be empty");
  Impl::WriteTx tx(*impl_);
  impl_->require_run(run);
  {
    auto q = impl_->query("INSERT OR IGNORE INTO tags(run, tag) VALUES (?, ?)");
    SQLite::bind(*q, run, tag);
    q->exec();
  }
  impl_->touch(run, now_seconds());
  tx.commit();
} catch (const SQLite::Exception& e) {
  impl_->fail(e);
}

void RunStore::remove_tag(int64_t run, const std::string& tag) try {
  Lock lk(impl_->mu);
  Impl::WriteTx tx(*impl_);
  impl_->require_run(run);
  {
    auto q = impl_->query("DELETE FROM tags WHERE run = ? AND tag = ?");
    SQLite::bind(*q, run, tag);
    q->exec();
  }
  impl_->touch(run, now_seconds());
  tx.commit();
} catch (const SQLite::Exception& e) {
  impl_->fail(e);
}

std::vector<std::string> RunStore::tags(int64_t run) const try {
  Lock lk(impl_->mu);
  std::vector<std::string> out;
  auto q = impl_->query("SELECT tag FROM tags WHERE run = ? ORDER BY tag");
  q->bind(1, run);
  while (q->executeStep()) out.push_back(q->getColumn(0).getString());
  return out;
} catch (const SQLite::Exception& e) {
  impl_->fail(e);
}

void RunStore::set_note(int64_t run, const std::string& note) try {
  Lock lk(impl_->mu);
  Impl::WriteTx tx(*impl_);
  impl_->require_run(run);
  const double now = now_seconds();
  {
    auto q = note.empty() ? impl_->query("DELETE FROM notes WHERE run = ?1")
                          : impl_->query(
                                "INSERT INTO notes(run, note, updated) VALUES (?1, ?2, ?3) "
                                "ON CONFLICT(run) DO UPDATE SET note = excluded.note, "
                                "updated = excluded.updated");
    q->bind(1, run);
    if (!note.empty()) SQLite::bind(*q, run, note, now);
    q->exec();
  }
  impl_->touch(run, now);
  tx.commit();
} catch (const SQLite::Exception& e) {
  impl_->fail(e);
}

std::string RunStore::note(int64_t run) const try {
  Lock lk(impl_->mu);
  auto q = impl_->query("SELECT note FROM notes WHERE run = ?");
  q->bind(1, run);
  return q->executeStep() ? q->getColumn(0).getString() : std::string();
} catch (const SQLite::Exception& e) {
  impl_->fail(e);
}

int64_t RunStore::create_study(const std::string& name, const std::string& description) try {
  Lock lk(impl_->mu);
  Impl::WriteTx tx(*impl_);
  int64_t id = 0;
  {
    auto q = impl_->query("INSERT INTO studies(name, created, description) VALUES (?, ?, ?)");
    SQLite::bind(*q, name, now_seconds(), description);
    q->exec();
    id = impl_->db->getLastInsertRowid();
  }
  tx.commit();
  return id;
} catch (const SQLite::Exception& e) {
  impl_->fail(e);
}

std::vector<Study> RunStore::list_studies() const try {
  Lock lk(impl_->mu);
  std::vector<Study> out;
  auto q = impl_->query("SELECT id, name, created, description FROM studies ORDER BY id");
  while (q->executeStep()) {
    out.push_back({q->getColumn(0).getInt64(), q->getColumn(1).getString(),
                   q->getColumn(2).getDouble(), q->getColumn(3).getString()});
  }
  return out;
} catch (const SQLite::Exception& e) {
  impl_->fail(e);
}

std::vector<int64_t> RunStore::study_runs(int64_t study) const try {
  Lock lk(impl_->mu);
  std::vector<int64_t> out;
  auto q = impl_->query("SELECT id FROM runs WHERE study = ? ORDER BY id");
  q->bind(1, study);
  while (q->executeStep()) out.push_back(q->getColumn(0).getInt64());
  return out;
} catch (const SQLite::Exception& e) {
  impl_->fail(e);
}

// Blobs hold the host's byte order; every machine CtxLab targets (x86-64, aarch64) is
// little-endian.
Artifact make_f32_artifact(const std::string& name, int64_t step, const std::vector<float>& v,
                           std::vector<int64_t> shape) {
  Artifact a;
  a.name = name;
  a.step = step;
  a.dtype = "f32";
  a.shape = shape.empty() ? std::vector<int64_t>{static_cast<int64_t>(v.size())} : std::move(shape);
  a.data.resize(v.size() * sizeof(float));
  if (!v.empty()) std::memcpy(a.data.data(), v.data(), a.data.size());
  return a;
}

std::vector<float> artifact_as_f32(const Artifact& a) {
  if (a.dtype != "f32") {
    throw StoreError("artifact '" + a.name + "' holds " + a.dtype + ", not f32");
  }
  if (a.data.size() % sizeof(float) != 0) {
    throw StoreError("artifact '" + a.name + "' has " + std::to_string(a.data.size()) +
                     " bytes, not a whole number of f32");
  }
  std::vector<float> v(a.data.size() / sizeof(float));
  if (!v.empty()) std::memcpy(v.data(), a.data.data(), a.data.size());
  return v;
}

}  // namespace ctx::store
