// RunQueue: detached ctxlab-cli children followed through their output files; see run_queue.h.
#include "app/run_queue.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QProcessEnvironment>

#include <unistd.h>

#include <csignal>
#include <cerrno>

#include "widgets/cli_call.h"

namespace ctx::gui {
namespace {

// A detached child is reparented; where nothing reaps orphans promptly (containers whose pid 1
// is not an init), a dead child lingers as a zombie, which kill(0) still reports as present.
bool alive(qint64 pid) {
  if (pid <= 0 || (::kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM)) return false;
  QFile stat(QString("/proc/%1/stat").arg(pid));
  if (!stat.open(QIODevice::ReadOnly)) return true;
  const QByteArray s = stat.readAll();
  const int close = s.lastIndexOf(')');
  return close < 0 || close + 2 >= s.size() || s[close + 2] != 'Z';
}

// The processes whose parent is `pid` (from /proc: torchrun's ranks).
std::vector<pid_t> children_of(qint64 pid) {
  std::vector<pid_t> out;
  for (const QString& name : QDir("/proc").entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
    bool number = false;
    const qint64 child = name.toLongLong(&number);
    if (!number) continue;
    QFile stat("/proc/" + name + "/stat");
    if (!stat.open(QIODevice::ReadOnly)) continue;
    // "pid (comm) state ppid ...": the command may hold spaces and parentheses, so after the last ')'.
    const QByteArray s = stat.readAll();
    const QList<QByteArray> rest = s.mid(s.lastIndexOf(')') + 1).trimmed().split(' ');
    if (rest.size() > 1 && rest[1].toLongLong() == pid) out.push_back(static_cast<pid_t>(child));
  }
  return out;
}

QString last_error_line(const QString& path) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) return {};
  const auto data = f.readAll();
  QString last;
  for (const auto& line : data.split('\n')) {
    const auto t = line.trimmed();
    if (t.startsWith("error: ")) last = QString::fromUtf8(t.mid(7));
  }
  if (last.isEmpty()) {
    const auto lines = data.trimmed().split('\n');
    if (!lines.isEmpty()) last = QString::fromUtf8(lines.back().trimmed()).left(300);
  }
  return last;
}

}  // namespace

QString stateName(QueueJob::State s) {
  switch (s) {
    case QueueJob::Waiting: return "waiting";
    case QueueJob::Running: return "running";
    case QueueJob::Finished: return "finished";
    case QueueJob::Failed: return "failed";
    case QueueJob::Stopped: return "stopped";
  }
  return {};
}

RunQueue::RunQueue(QString db_path, QObject* parent) : QObject(parent), db_(std::move(db_path)) {
  const QFileInfo info(db_);
  job_dir_ = info.absolutePath() + "/" + info.fileName() + ".runs/queue";
  timer_.setInterval(200);
  connect(&timer_, &QTimer::timeout, this, &RunQueue::tick);
}

RunQueue::~RunQueue() = default;

void RunQueue::setDbPath(const QString& path) {
  for (auto& j : jobs_)
    if (j.state == QueueJob::Waiting) stop(j.id);
  db_ = path;
  const QFileInfo info(db_);
  job_dir_ = info.absolutePath() + "/" + info.fileName() + ".runs/queue";
  emit changed();
}

void RunQueue::setMaxParallel(int n) {
  max_parallel_ = std::max(1, n);
  tick();
}

QueueJob* RunQueue::find(int id) {
  for (auto& j : jobs_)
    if (j.id == id) return &j;
  return nullptr;
}

const QueueJob* RunQueue::job(int id) const {
  for (const auto& j : jobs_)
    if (j.id == id) return &j;
  return nullptr;
}

int RunQueue::addTrain(const nlohmann::json& config, const QString& label, const QString& study, int after,
                       qint64 init_run, int gpus) {
  QDir().mkpath(job_dir_);
  QueueJob j;
  j.id = next_id_++;
  j.label = label;
  j.after = after;
  j.gpus = std::max(1, gpus);
  // The config goes to a file named for this window's process and job, kept for the record.
  const QString path = QString("%1/job-%2-%3-%4.json")
                           .arg(job_dir_)
                           .arg(QDateTime::currentSecsSinceEpoch())
                           .arg(QCoreApplication::applicationPid())
                           .arg(j.id);
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(QByteArray::fromStdString(config.dump(2))) < 0) {
    j.state = QueueJob::Failed;
    j.message = "cannot write the job's config to " + path;
  }
  f.close();
  j.args = QStringList{"train", "--config", path};
  if (!study.isEmpty()) j.args << "--study" << study;
  if (init_run > 0) j.args << "--init-run" << QString::number(init_run);
  if (j.gpus > 1) j.args << "--device" << "cuda";  // each rank takes the GPU of its LOCAL_RANK
  jobs_.push_back(j);
  if (!timer_.isActive()) timer_.start();
  tick();
  emit changed();
  return jobs_.back().id;
}

int RunQueue::addStudy(const nlohmann::json& study, const QString& label, const QString& device) {
  QDir().mkpath(job_dir_);
  const QString path = QString("%1/study-%2-%3-%4.json")
                           .arg(job_dir_)
                           .arg(QDateTime::currentSecsSinceEpoch())
                           .arg(QCoreApplication::applicationPid())
                           .arg(next_id_);
  QFile f(path);
  const bool written = f.open(QIODevice::WriteOnly | QIODevice::Truncate) &&
                       f.write(QByteArray::fromStdString(study.dump(2))) >= 0;
  f.close();
  QStringList args{"study", "run", path};
  if (!device.isEmpty()) args << "--device" << device;
  if (!written) {
    QueueJob j;
    j.id = next_id_++;
    j.label = label;
    j.args = args;
    j.state = QueueJob::Failed;
    j.message = "cannot write the study file to " + path;
    jobs_.push_back(j);
    emit jobEnded(j.id, false, j.message);
    emit changed();
    return j.id;
  }
  return addCli(args, label);
}

int RunQueue::addResume(qint64 run, const QString& label, int gpus) {
  return addCli({"resume", QString::number(run)}, label, gpus);
}

int RunQueue::addCli(const QStringList& args, const QString& label, int gpus) {
  QDir().mkpath(job_dir_);
  QueueJob j;
  j.id = next_id_++;
  j.label = label;
  j.args = args;
  j.gpus = std::max(1, gpus);
  jobs_.push_back(j);
  if (!timer_.isActive()) timer_.start();
  tick();
  emit changed();
  return jobs_.back().id;
}

void RunQueue::start(QueueJob& j) {
  QStringList args = j.args;
  if (j.after) {
    const auto* base = job(j.after);
    if (!base || base->state != QueueJob::Finished || base->run <= 0) {
      j.state = QueueJob::Failed;
      j.message = QString("its base job %1 did not finish").arg(j.after);
      emit jobEnded(j.id, false, j.message);
      return;
    }
    args << "--init-run" << QString::number(base->run);
  }
  args << "--db" << db_ << "--json";
  const QString stem = QString("%1/job-%2-%3-%4").arg(job_dir_).arg(QDateTime::currentSecsSinceEpoch())
                           .arg(QCoreApplication::applicationPid()).arg(j.id);
  j.out_path = stem + ".out";
  j.err_path = stem + ".err";
  const Torchrun torchrun = torchrun_.found() ? torchrun_ : torchrunOnPath(qEnvironmentVariable("PATH"));
  if (j.gpus > 1 && !torchrun.found()) {
    j.state = QueueJob::Failed;
    j.message = QString("cannot run on %1 GPUs: torchrun not found on PATH (nor python3 -m torch.distributed.run)")
                    .arg(j.gpus);
    emit jobEnded(j.id, false, j.message);
    return;
  }
  const LaunchCommand cmd = launchCommand(cliPath(), args, j.gpus, torchrun);
  QProcess p;
  p.setProgram(cmd.program);
  p.setArguments(cmd.args);
  if (!cmd.env.isEmpty()) {
    auto env = QProcessEnvironment::systemEnvironment();
    for (const QString& e : cmd.env) env.insert(e.section('=', 0, 0), e.section('=', 1));
    p.setProcessEnvironment(env);
  }
  p.setStandardOutputFile(j.out_path);
  p.setStandardErrorFile(j.err_path);
  p.setStandardInputFile(QProcess::nullDevice());
  qint64 pid = 0;
  j.command = cmd.text();
  if (!p.startDetached(&pid)) {
    j.state = QueueJob::Failed;
    j.message = "cannot start " + cmd.program + ": " + p.errorString();
    emit jobEnded(j.id, false, j.message);
    return;
  }
  j.pid = pid;
  // A detached child starts a session of its own (Qt calls setsid), so its group is not the
  // window's; checked all the same before anything signals the group.
  const pid_t group = ::getpgid(static_cast<pid_t>(pid));
  j.pgid = group > 0 && group != ::getpgrp() ? group : 0;
  j.state = QueueJob::Running;
  j.message = "starting";
}

void RunQueue::handle_line(QueueJob& j, const QByteArray& line) {
  const auto t = line.trimmed();
  if (t.isEmpty()) return;
  auto ev = nlohmann::json::parse(t.toStdString(), nullptr, false);
  if (!ev.is_object()) return;  // a stray line (library warnings): the store has the truth
  try {
    handle_event(j, ev);
  } catch (const nlohmann::json::exception&) {
    // Fields of an unexpected type (a NaN printed as null, a foreign program): skip the line.
  }
}

void RunQueue::handle_event(QueueJob& j, const nlohmann::json& ev) {
  const std::string kind = ev.value("event", "");
  // A study trains several runs one after the other: its messages say which one.
  const bool study = j.args.value(0) == "study";
  const QString stage = study && !j.stage.isEmpty() ? j.stage + ": " : QString();
  if (kind == "start") {
    j.run = ev.value("run_id", int64_t{0});
    if (study && ev.contains("info") && ev["info"].is_object() && ev["info"].contains("name") &&
        ev["info"]["name"].is_string())
      j.stage = QString::fromStdString(ev["info"]["name"].get<std::string>());
    emit runStarted(j.id, j.run);
  } else if (kind == "step") {
    j.step = ev.value("step", int64_t{0});
    j.total = ev.value("total", int64_t{0});
    const double loss = ev.value("loss", 0.0);
    j.message = stage + QString("step %1/%2, loss %3").arg(j.step).arg(j.total).arg(loss, 0, 'f', 3);
  } else if (kind == "eval") {
    j.message = stage + QString("eval %1 @%2: ppl %3")
                    .arg(QString::fromStdString(ev.value("mode", "")))
                    .arg(ev.value("length", int64_t{0}))
                    .arg(ev.value("ppl", 0.0), 0, 'f', 3);
  } else if (kind == "progress") {
    // A long job's own count (ruler cells, long documents): the bar follows it.
    j.step = ev.value("done", int64_t{0});
    j.total = ev.value("total", int64_t{0});
    const std::string what = ev.value("what", std::string());
    j.message = QString("%1 %2/%3").arg(what.empty() ? QString("progress") : QString::fromStdString(what)).arg(j.step).arg(j.total);
  } else if (kind == "message") {
    j.message = QString::fromStdString(ev.value("text", ""));
  } else if (kind.empty()) {
    j.got_final = true;
    if (study && ev.contains("held") && ev.contains("total")) {
      j.study = ev.value("study_id", int64_t{0});
      j.result = QString("study %1: %2 of %3 checks held")
                     .arg(QString::fromStdString(ev.value("study", std::string())))
                     .arg(ev["held"].get<int64_t>())
                     .arg(ev["total"].get<int64_t>());
    }
    j.run = ev.value("run_id", j.run);
    if (ev.contains("status") && ev["status"].is_string()) j.final_status = QString::fromStdString(ev["status"].get<std::string>());
    if (ev.contains("error") && ev["error"].is_string() && !ev["error"].get<std::string>().empty())
      j.message = QString::fromStdString(ev["error"].get<std::string>());
  }
}

void RunQueue::read_output(QueueJob& j) {
  QFile f(j.out_path);
  if (!f.open(QIODevice::ReadOnly)) return;
  if (f.size() <= j.out_pos) return;
  f.seek(j.out_pos);
  QByteArray data = j.partial + f.readAll();
  j.out_pos = f.pos();
  const int last_nl = data.lastIndexOf('\n');
  j.partial = last_nl < 0 ? data : data.mid(last_nl + 1);
  if (last_nl < 0) return;
  for (const auto& line : data.left(last_nl).split('\n')) handle_line(j, line);
}

void RunQueue::finish(QueueJob& j) {
  read_output(j);
  if (!j.partial.isEmpty()) {
    handle_line(j, j.partial);
    j.partial.clear();
  }
  const QString err = last_error_line(j.err_path);
  bool ok = false;
  if (j.stop_requested) {
    j.state = QueueJob::Stopped;
    j.message = j.run ? QString("stopped; run %1 is interrupted and can be resumed").arg(j.run) : "stopped";
  } else if (j.got_final && (!j.result.isEmpty() || j.final_status == "finished" ||
                             (j.final_status.isEmpty() && err.isEmpty()))) {
    // A study's result line is its success (library warnings on stderr do not make it fail).
    j.state = QueueJob::Finished;
    j.message = !j.result.isEmpty() ? j.result : j.run ? QString("run %1 finished").arg(j.run) : "done";
    ok = true;
  } else {
    j.state = QueueJob::Failed;
    if (!j.final_status.isEmpty()) {
      j.message = QString("run %1 %2").arg(j.run).arg(j.final_status) + (err.isEmpty() ? QString() : ": " + err);
    } else {
      // No final line: the child died (killed, crashed, out of memory) or refused its input.
      j.message = err.isEmpty() ? QString("ctxlab-cli ended without a result (killed or crashed)") : err;
    }
  }
  j.pid = 0;
  emit jobEnded(j.id, ok, j.message);
}

void RunQueue::tick() {
  bool any = false;
  int running = 0;
  bool all_gpus = false;  // a job on several GPUs runs: nothing starts beside it
  for (auto& j : jobs_) {
    if (j.state != QueueJob::Running) continue;
    const QString before = j.message;
    read_output(j);
    if (!alive(j.pid)) {
      finish(j);
      any = true;
      continue;
    }
    any = any || j.message != before;
    ++running;
    all_gpus = all_gpus || j.gpus > 1;
  }
  for (auto& j : jobs_) {
    if (running >= max_parallel_ || all_gpus) break;
    if (j.state != QueueJob::Waiting) continue;
    if (j.after) {
      const auto* base = job(j.after);
      if (base && (base->state == QueueJob::Waiting || base->state == QueueJob::Running)) continue;
    }
    if (j.gpus > 1 && running > 0) break;  // it waits for the GPUs, and the jobs after it wait for it
    start(j);
    any = true;
    if (j.state == QueueJob::Running) {
      ++running;
      all_gpus = j.gpus > 1;
    }
  }
  if (running == 0 && waitingCount() == 0) timer_.stop();
  if (any) emit changed();
}

void RunQueue::stop(int id) {
  auto* j = find(id);
  if (!j) return;
  if (j->state == QueueJob::Waiting) {
    j->state = QueueJob::Stopped;
    j->message = "cancelled before it started";
    emit jobEnded(j->id, false, j->message);
  } else if (j->state == QueueJob::Running && j->pid > 0) {
    j->stop_requested = true;
    j->message = "stopping (writing a checkpoint)";
    terminate(*j);
  }
  emit changed();
}

void RunQueue::terminate(const QueueJob& j) {
  const auto pid = static_cast<pid_t>(j.pid);
  if (j.gpus <= 1 || j.pgid <= 0) {
    ::kill(pid, SIGTERM);
    return;
  }
  // torchrun passes SIGTERM on to its ranks, each of which it starts in a session of its own; they
  // are signalled here as well, so that none runs on when torchrun cannot pass it on. Ranks stop
  // together at their next step (any rank's signal stops them all) and rank 0 saves the checkpoint.
  for (const pid_t child : children_of(j.pid)) {
    const pid_t group = ::getpgid(child);
    ::kill(group == child ? -child : child, SIGTERM);
  }
  ::kill(-static_cast<pid_t>(j.pgid), SIGTERM);
}

void RunQueue::stopAll() {
  for (auto& j : jobs_)
    if (j.state == QueueJob::Waiting || j.state == QueueJob::Running) stop(j.id);
}

void RunQueue::clearEnded() {
  jobs_.erase(std::remove_if(jobs_.begin(), jobs_.end(),
                             [](const QueueJob& j) { return j.state != QueueJob::Waiting && j.state != QueueJob::Running; }),
              jobs_.end());
  emit changed();
}

int RunQueue::runningCount() const {
  return static_cast<int>(std::count_if(jobs_.begin(), jobs_.end(), [](const auto& j) { return j.state == QueueJob::Running; }));
}

int RunQueue::waitingCount() const {
  return static_cast<int>(std::count_if(jobs_.begin(), jobs_.end(), [](const auto& j) { return j.state == QueueJob::Waiting; }));
}

}  // namespace ctx::gui
