// The run queue: launches `ctxlab-cli train/resume/eval/study run` as detached child processes (one at a
// time by default), follows their JSON event lines through log files, and starts the next job
// when one ends. Children write stdout/stderr to files beside the store, so a run survives the
// window closing, and a crash of the child never reaches the window. A job on several GPUs is a
// torchrun child (multi_gpu.h) whose rank 0 prints the events; it runs alone, and stopping it
// signals torchrun and every rank.
#pragma once

#include <QObject>
#include <QString>
#include <QStringList>
#include <QTimer>

#include <nlohmann/json.hpp>
#include <vector>

#include "widgets/multi_gpu.h"

namespace ctx::gui {

struct QueueJob {
  enum State { Waiting, Running, Finished, Failed, Stopped };
  int id = 0;
  QString label;
  QStringList args;     // ctxlab-cli arguments, without --db and --json
  int gpus = 1;         // > 1: launched through torchrun, one rank per GPU
  QString command;      // the command line it was started with
  int after = 0;        // a job whose run is this job's base (--init-run), 0 = none
  State state = Waiting;
  qint64 pid = 0;
  qint64 pgid = 0;      // its process group (torchrun's, for a job on several GPUs)
  qint64 run = 0;       // the store's run id, once the child announced it
  int64_t step = 0, total = 0;
  QString message;      // latest progress text, or why it failed
  QString out_path, err_path;
  qint64 out_pos = 0;
  QByteArray partial;   // an unfinished stdout line
  QString final_status; // from the child's last JSON line
  bool got_final = false;  // the child printed its result line (it did not die half-way)
  bool stop_requested = false;
  QString stage;        // a study job: the name of the run it is training now
  QString result;       // a study job: "3 of 4 checks held", from its result line
  qint64 study = 0;     // a study job: the store study its result line named
  double progress() const { return total > 0 ? static_cast<double>(step) / static_cast<double>(total) : -1; }
};

QString stateName(QueueJob::State s);

class RunQueue : public QObject {
  Q_OBJECT
 public:
  explicit RunQueue(QString db_path, QObject* parent = nullptr);
  ~RunQueue() override;

  // Jobs started from now on write to this store (waiting jobs of the old one are cancelled).
  void setDbPath(const QString& path);
  void setMaxParallel(int n);
  int maxParallel() const { return max_parallel_; }

  // Queues a training run of `config`; `study` groups it; `after` makes it wait for that job and
  // start from its run (--init-run); `init_run` starts it from a stored run. `gpus` > 1 trains on
  // that many GPUs (train.device cuda) through torchrun.
  int addTrain(const nlohmann::json& config, const QString& label, const QString& study = {}, int after = 0,
               qint64 init_run = 0, int gpus = 1);
  int addResume(qint64 run, const QString& label, int gpus = 1);  // gpus: the world it trained on
  int addCli(const QStringList& args, const QString& label, int gpus = 1);  // eval, passkey, attention, ...
  // Queues `study run FILE [--device D]` on `study` (a study file's JSON), written beside the
  // store like a train job's config. Progress follows the run it trains now; the job ends with
  // how many checks held. `device` "" keeps each run's own.
  int addStudy(const nlohmann::json& study, const QString& label, const QString& device);

  // How jobs on several GPUs start torchrun (the window's probe); unset, `torchrun` on PATH.
  void setTorchrun(const Torchrun& t) { torchrun_ = t; }
  const Torchrun& torchrun() const { return torchrun_; }

  // Running: SIGTERM (checkpoint, then interrupted), to torchrun and each rank of a job on
  // several GPUs; waiting: cancelled.
  void stop(int job);
  void stopAll();
  void clearEnded();
  int runningCount() const;
  int waitingCount() const;
  const std::vector<QueueJob>& jobs() const { return jobs_; }
  const QueueJob* job(int id) const;
  QString jobDir() const { return job_dir_; }

  // Polls children now (tests and benchmarks; normally a 200 ms timer does it).
  void tick();

 signals:
  void changed();
  void runStarted(int job, qint64 run);
  void jobEnded(int job, bool ok, const QString& message);

 private:
  QueueJob* find(int id);
  void start(QueueJob& j);
  void read_output(QueueJob& j);
  void handle_line(QueueJob& j, const QByteArray& line);
  void handle_event(QueueJob& j, const nlohmann::json& ev);
  void finish(QueueJob& j);
  void terminate(const QueueJob& j);

  QString db_;
  QString job_dir_;
  int max_parallel_ = 1;
  int next_id_ = 1;
  std::vector<QueueJob> jobs_;
  Torchrun torchrun_;
  QTimer timer_;
};

}  // namespace ctx::gui
