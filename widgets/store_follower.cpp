// The store follower's polling loop; see store_follower.h.
#include "widgets/store_follower.h"

#include <QThread>

#include <unordered_map>

namespace ctx::gui {
namespace {

// Other processes stamp rows with their own clock before they commit; reading a little behind
// the last poll catches a row committed just after it. Re-delivered summaries are harmless.
constexpr double kOverlapS = 2.0;
constexpr double kReconcileEveryS = 15.0;

bool fetched_eagerly(const std::string& name) {
  // Attention maps are many and large: fetched when a tab asks. The rest are small curves.
  return name.rfind("attention/", 0) != 0;
}

}  // namespace

StoreFollower::StoreFollower(QString path, int interval_ms, QObject* parent)
    : QObject(parent), path_(std::move(path)), interval_ms_(interval_ms) {
  static const bool registered = [] {
    qRegisterMetaType<SummaryBatchPtr>();
    qRegisterMetaType<DetailBatchPtr>();
    qRegisterMetaType<ArtifactPtr>();
    return true;
  }();
  (void)registered;
}

StoreFollower::~StoreFollower() = default;

void StoreFollower::start() {
  try {
    db_ = std::make_unique<store::RunStore>(path_.toStdString());
  } catch (const std::exception& e) {
    emit failed(QString::fromStdString(e.what()));
    return;
  }
  timer_ = new QTimer(this);
  timer_->setInterval(interval_ms_);
  connect(timer_, &QTimer::timeout, this, &StoreFollower::poll);
  poll();
  timer_->start();
}

void StoreFollower::stop() {
  if (timer_) timer_->stop();
  db_.reset();
}

void StoreFollower::pollNow() {
  if (db_) poll();
}

void StoreFollower::setWatched(const QVector<qint64>& runs) {
  std::map<int64_t, Watch> next;
  for (qint64 r : runs) {
    auto it = watched_.find(r);
    next[r] = it != watched_.end() ? std::move(it->second) : Watch{};
  }
  watched_ = std::move(next);
  if (db_) poll();  // newly watched runs arrive now, not one interval later
}

void StoreFollower::requestArtifact(qint64 run, const QString& name, qint64 step) {
  if (!db_) return;
  try {
    auto a = db_->artifact(run, name.toStdString(), step);
    if (a) emit artifactReady(run, std::make_shared<const store::Artifact>(std::move(*a)));
  } catch (const std::exception& e) {
    emit failed(QString::fromStdString(e.what()));
  }
}

DetailDelta StoreFollower::read_detail(int64_t run, Watch& w, bool full) {
  DetailDelta d;
  d.run = run;
  d.reset = full;
  if (full) {
    w.last_step.clear();
    w.artifacts.clear();
  }
  for (const auto& name : db_->metric_names(run)) {
    auto it = w.last_step.find(name);
    const int64_t after = it == w.last_step.end() ? -1 : it->second;
    auto pts = db_->metric_series(run, name, after);
    if (pts.empty()) continue;
    Series s;
    for (const auto& p : pts) {
      s.step.push_back(static_cast<double>(p.step));
      s.value.push_back(p.value);
      s.wall.push_back(p.wall);
    }
    w.last_step[name] = pts.back().step;
    d.appended.emplace(name, std::move(s));
  }
  d.evals = db_->evals(run);
  std::map<std::string, std::vector<int64_t>> index;
  for (const auto& [name, step] : db_->list_artifacts(run)) index[name].push_back(step);
  for (auto& [name, steps] : index) {
    std::sort(steps.begin(), steps.end());
    if (!fetched_eagerly(name)) continue;
    auto old = w.artifacts.find(name);
    if (old != w.artifacts.end() && !old->second.empty() && old->second.back() == steps.back()) continue;
    if (auto a = db_->artifact(run, name, steps.back()))
      d.blobs.push_back(std::make_shared<const store::Artifact>(std::move(*a)));
  }
  if (full || index != w.artifacts) d.artifact_steps = index;
  w.artifacts = std::move(index);
  return d;
}

void StoreFollower::poll() {
  if (!db_) return;
  try {
    const double now = store::now_seconds();
    if (now - last_reconcile_ > kReconcileEveryS) {
      // A run whose process died without a word shows as interrupted, never stuck at running.
      last_reconcile_ = now;
      try {
        db_->reconcile_interrupted();
      } catch (const store::StoreError&) {
        // Busy or read-only file: the next round tries again; following goes on.
      }
    }
    const int64_t count = db_->run_count();
    // A run deleted by another process only shows as a smaller count: read everything again.
    const bool full = first_ || count < known_count_;
    auto rows = db_->run_summaries(full ? 0 : last_poll_ - kOverlapS);
    known_count_ = count;
    last_poll_ = now;
    std::unordered_map<int64_t, const store::RunSummary*> changed;
    for (const auto& r : rows) changed[r.run.id] = &r;
    if (full || !rows.empty()) {
      auto batch = std::make_shared<SummaryBatch>();
      batch->full = full;
      batch->studies = db_->list_studies();
      batch->runs = rows;
      first_ = false;
      emit summariesReady(batch);
    }
    auto details = std::make_shared<std::vector<DetailDelta>>();
    for (auto& [run, w] : watched_) {
      auto it = changed.find(run);
      if (w.loaded && it == changed.end()) continue;
      int64_t pid = w.pid;
      if (it != changed.end()) {
        pid = it->second->run.pid;
      } else if (auto rec = db_->find_run(run)) {
        pid = rec->pid;
      } else {
        continue;  // deleted
      }
      // A resume (a new owning process) rewrites the points after its checkpoint: read it whole.
      const bool whole = !w.loaded || pid != w.pid;
      details->push_back(read_detail(run, w, whole));
      w.loaded = true;
      w.pid = pid;
    }
    if (!details->empty()) emit detailsReady(details);
  } catch (const std::exception& e) {
    // A transient failure (locked, busy) is retried at the next tick; say it once.
    emit failed(QString::fromStdString(e.what()));
  }
}

StoreFollower* startFollower(const QString& path, QObject* owner, int interval_ms) {
  auto* thread = new QThread(owner);
  auto* f = new StoreFollower(path, interval_ms);
  f->moveToThread(thread);
  QObject::connect(thread, &QThread::started, f, &StoreFollower::start);
  QObject::connect(thread, &QThread::finished, f, &QObject::deleteLater);
  QObject::connect(owner, &QObject::destroyed, thread, [thread] {
    thread->quit();
    thread->wait();
  });
  thread->start();
  return f;
}

}  // namespace ctx::gui
