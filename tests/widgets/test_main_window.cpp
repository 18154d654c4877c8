// The window as a whole: `ctxlab --screenshot` on a fixture store writes a non-blank PNG; a
// foreign file is refused with a message naming it, left untouched, and the window keeps
// working; an empty store offers the quickstart study.
#include <gtest/gtest.h>

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QImage>
#include <QProcess>

#include <filesystem>
#include <fstream>
#include <set>

#include "app/main_window.h"
#include "app/run_browser.h"

using namespace ctx;
using namespace ctx::gui;

namespace {

std::string fresh(const std::string& name) {
  const std::string p = std::string(CTXLAB_TEST_TMP) + "/window_" + name;
  for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(p + s);
  return p;
}

template <class F>
bool wait_for(F pred, int ms = 10000) {
  QElapsedTimer t;
  t.start();
  while (!pred() && t.elapsed() < ms) QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
  return pred();
}

void fill(const std::string& path) {
  store::RunStore db(path);
  for (int r = 0; r < 3; ++r) {
    store::NewRun nr;
    nr.name = "run-" + std::to_string(r);
    nr.method = r ? "rope yarn x4 + contiguous" : "rope + contiguous";
    nr.config_json = R"({"train":{"seq_len":128,"steps":50},"eval":{"lengths":[128,256,512]},"model":{"position":{"type":"rope"}}})";
    nr.status = store::RunStatus::Finished;
    const auto id = db.create_run(nr);
    for (int s = 1; s <= 50; ++s)
      db.log_metrics(id, s, {{"loss", 4.0 / (1 + 0.1 * s) + 0.2 * r}, {"lr", 1e-3}, {"tokens_per_s", 5000.0},
                             {"tokens_seen", 2048.0 * s}});
    for (double L : {128.0, 256.0, 512.0}) {
      store::EvalRecord e;
      e.task = "ppl";
      e.mode = "nonoverlap";
      e.x = L;
      e.metric = "ppl";
      e.value = 3.0 + r + L / 256.0;
      db.record_eval(id, e);
    }
  }
}

}  // namespace

#ifdef CTXLAB_GUI_EXE
TEST(MainWindow, ScreenshotOfAFixtureStoreIsNotBlank) {
  const auto db = fresh("shot.db");
  fill(db);
  const auto png = fresh("shot.png");
  QProcess p;
  auto env = QProcessEnvironment::systemEnvironment();
  env.insert("QT_QPA_PLATFORM", "offscreen");
  p.setProcessEnvironment(env);
  p.start(CTXLAB_GUI_EXE, {"--db", QString::fromStdString(db), "--screenshot", QString::fromStdString(png)});
  ASSERT_TRUE(p.waitForFinished(60000));
  ASSERT_EQ(p.exitCode(), 0) << p.readAllStandardError().toStdString();
  QImage img(QString::fromStdString(png));
  ASSERT_FALSE(img.isNull());
  EXPECT_GE(img.width(), 800);
  // Non-blank: many distinct colours (text, plot lines in the run colours), not one background.
  std::set<QRgb> colours;
  for (int y = 0; y < img.height(); y += 3)
    for (int x = 0; x < img.width(); x += 3) colours.insert(img.pixel(x, y));
  EXPECT_GT(colours.size(), 50u);
  // The first run colour (Tableau blue) appears: a curve was drawn.
  bool blue = false;
  for (QRgb c : colours) blue = blue || (std::abs(qRed(c) - 31) < 12 && std::abs(qGreen(c) - 119) < 12 && std::abs(qBlue(c) - 180) < 12);
  EXPECT_TRUE(blue);
}
#endif

TEST(MainWindow, ForeignFileIsRefusedUntouchedAndTheWindowGoesOn) {
  const auto path = fresh("foreign.db");
  {
    std::ofstream f(path);
    f << "name,loss\nsomething,1.0\n";
  }
  const auto before = std::filesystem::file_size(path);
  MainWindow w(QString::fromStdString(path));
  EXPECT_FALSE(w.storeOpen());
  EXPECT_TRUE(w.bannerText().contains("window_foreign.db")) << w.bannerText().toStdString();
  EXPECT_EQ(std::filesystem::file_size(path), before);
  // Switching to a good store works in the same window.
  const auto good = fresh("good.db");
  fill(good);
  EXPECT_TRUE(w.openStore(QString::fromStdString(good)));
  EXPECT_TRUE(w.bannerText().isEmpty());
  EXPECT_TRUE(wait_for([&] { return w.browser()->visibleRows() == 3; }));
}

TEST(MainWindow, EmptyStoreOffersTheQuickstartStudy) {
  const auto path = fresh("empty.db");
  MainWindow w(QString::fromStdString(path));
  ASSERT_TRUE(wait_for([&] { return !w.bannerText().isEmpty(); }));
  EXPECT_TRUE(w.bannerText().contains("quickstart study"));
}
