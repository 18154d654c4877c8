// ctxlab: the workbench window.
// `ctxlab [--db PATH] [--config FILE] [--select IDS] [--screenshot FILE [--tab NAME] [--every-tab]]`.
#include <QApplication>
#include <QCommandLineParser>

#include <cstdio>

#include "app/main_window.h"
#include "widgets/configurator.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName("CtxLab");
  QApplication::setApplicationVersion("0.1.0");
  QCommandLineParser cli;
  cli.setApplicationDescription("CtxLab workbench: configure, watch and compare context-window extension runs");
  cli.addHelpOption();
  cli.addVersionOption();
  QCommandLineOption db({"d", "db"}, "run store (SQLite file; created when missing)", "PATH", "experiments.db");
  QCommandLineOption shot("screenshot", "open, load, render, save a PNG of the window, exit", "FILE");
  QCommandLineOption tab("tab", "the tab shown in the screenshot (default: Training)", "NAME", "Training");
  QCommandLineOption every("every-tab", "with --screenshot: also save FILE-<tab>.png for every tab");
  QCommandLineOption wait("wait-ms", "with --screenshot: the longest wait for data", "MS", "20000");
  QCommandLineOption select("select", "runs to select, comma-separated ids (default: the newest)", "IDS");
  QCommandLineOption config("config", "open this run config (JSON) in the New run form", "FILE");
  cli.addOptions({db, shot, tab, every, wait, select, config});
  cli.process(app);

  ctx::gui::MainWindow w(cli.value(db));
  if (cli.isSet(select)) {
    QVector<qint64> ids;
    for (const auto& s : cli.value(select).split(',', Qt::SkipEmptyParts)) ids << s.trimmed().toLongLong();
    w.selectWhenLoaded(ids);
  }
  if (cli.isSet(config)) {
    QString err;
    if (!w.configurator()->loadFrom(cli.value(config), &err)) std::fprintf(stderr, "error: %s\n", qPrintable(err));
  }
  if (cli.isSet(shot)) {
    w.setAttribute(Qt::WA_DontShowOnScreen, qEnvironmentVariable("QT_QPA_PLATFORM") == "offscreen");
    w.show();
    int rc = 0;
    w.screenshotWhenReady(cli.value(shot), cli.value(tab), cli.isSet(every), cli.value(wait).toInt(),
                          [&](const QString& err) {
                            if (!err.isEmpty()) {
                              std::fprintf(stderr, "error: %s\n", qPrintable(err));
                              rc = 1;
                            }
                            QApplication::exit(rc);
                          });
    return app.exec();
  }
  w.show();
  return app.exec();
}
