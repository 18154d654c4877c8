// ctxlab-cli child processes for short queries; see cli_call.h.
#include "widgets/cli_call.h"

#include <QCoreApplication>
#include <QFileInfo>
#include <QPointer>
#include <QProcess>

#include <unistd.h>

namespace ctx::gui {

QString cliPath() {
  const QByteArray env = qgetenv("CTXLAB_CLI");
  if (!env.isEmpty()) return QString::fromLocal8Bit(env);
  const QString beside = QCoreApplication::applicationDirPath() + "/ctxlab-cli";
  if (QFileInfo(beside).isExecutable()) return beside;
  return "ctxlab-cli";
}

CliResult parseCliOutput(int exit_code, bool crashed, const QByteArray& out, const QByteArray& err) {
  CliResult r;
  r.exit_code = crashed ? -1 : exit_code;
  const auto lines = out.trimmed().split('\n');
  if (!lines.isEmpty() && !lines.back().isEmpty()) {
    r.json = nlohmann::json::parse(lines.back().toStdString(), nullptr, false);
    if (r.json.is_discarded()) r.json = nullptr;
  }
  for (const auto& line : err.split('\n')) {
    const auto t = line.trimmed();
    if (t.startsWith("error: ")) r.error = QString::fromUtf8(t.mid(7));
  }
  if (crashed) {
    r.error = "ctxlab-cli crashed" + (r.error.isEmpty() ? QString() : ": " + r.error);
  } else if (exit_code != 0 && r.error.isEmpty()) {
    const auto t = err.trimmed().split('\n');
    r.error = QString("ctxlab-cli exited with status %1%2")
                  .arg(exit_code)
                  .arg(t.isEmpty() || t.back().isEmpty() ? QString() : ": " + QString::fromUtf8(t.back()));
  }
  r.ok = !crashed && exit_code == 0;
  if (r.ok && r.json.is_null()) {
    r.ok = false;
    r.error = "ctxlab-cli printed no JSON result";
  }
  return r;
}

void runCli(QObject* context, const QStringList& args, std::function<void(const CliResult&)> done) {
  // The process is not a child of `context`: destroying a child QProcess kills it and emits
  // `finished` while the owner is half-destroyed. Instead the owner's end silences and kills it.
  auto* p = new QProcess;
  QPointer<QObject> guard(context);
  QObject::connect(context, &QObject::destroyed, p, [p] {
    p->disconnect();
    p->kill();
    p->waitForFinished(1000);
    p->deleteLater();
  });
  QObject::connect(p, &QProcess::finished, p, [p, done, guard](int code, QProcess::ExitStatus st) {
    auto r = parseCliOutput(code, st == QProcess::CrashExit, p->readAllStandardOutput(), p->readAllStandardError());
    p->deleteLater();
    if (guard) done(r);
  });
  QObject::connect(p, &QProcess::errorOccurred, p, [p, done, guard](QProcess::ProcessError e) {
    if (e != QProcess::FailedToStart) return;
    CliResult r;
    r.error = "cannot start " + cliPath() + ": " + p->errorString();
    p->deleteLater();
    if (guard) done(r);
  });
  // These calls fill the window in the background (registry, checks, frequencies); at low priority
  // they never take a core from the GUI thread or from reading the store on a 2-core machine.
  p->setChildProcessModifier([] { [[maybe_unused]] int r = ::nice(5); });
  p->start(cliPath(), QStringList(args) << "--json");
}

CliResult runCliBlocking(const QStringList& args, int timeout_ms) {
  QProcess p;
  p.start(cliPath(), QStringList(args) << "--json");
  if (!p.waitForStarted(10000)) {
    CliResult r;
    r.error = "cannot start " + cliPath() + ": " + p.errorString();
    return r;
  }
  if (!p.waitForFinished(timeout_ms)) {
    p.kill();
    p.waitForFinished();
    CliResult r;
    r.error = "ctxlab-cli took longer than " + QString::number(timeout_ms / 1000) + " s";
    return r;
  }
  return parseCliOutput(p.exitCode(), p.exitStatus() == QProcess::CrashExit, p.readAllStandardOutput(),
                        p.readAllStandardError());
}

}  // namespace ctx::gui
