// Runs a short ctxlab-cli query (methods, check, rope, positions) as a child process without
// blocking the GUI thread, and hands back its final JSON line or its one-line error.
#pragma once

#include <QObject>
#include <QString>
#include <QStringList>

#include <functional>
#include <nlohmann/json.hpp>

namespace ctx::gui {

struct CliResult {
  bool ok = false;
  int exit_code = -1;
  nlohmann::json json;  // the last stdout line, parsed (null when absent or not JSON)
  QString error;        // stderr's last "error: ..." line without the prefix, or why it failed
};

// ctxlab-cli's path: $CTXLAB_CLI, else beside this executable, else the name alone (PATH).
QString cliPath();

// Starts `ctxlab-cli <args> --json`; `done` runs on `context`'s thread when it ends, unless
// `context` is gone by then. The process is killed if `context` is destroyed first.
void runCli(QObject* context, const QStringList& args, std::function<void(const CliResult&)> done);

// The same, waiting (for tools and tests, never the GUI thread).
CliResult runCliBlocking(const QStringList& args, int timeout_ms = 60000);

// Parses a finished child's output into a CliResult (shared by both, and by the run queue).
CliResult parseCliOutput(int exit_code, bool crashed, const QByteArray& out, const QByteArray& err);

}  // namespace ctx::gui
