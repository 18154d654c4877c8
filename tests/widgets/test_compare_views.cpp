// The comparison views over a store written through the store API and read by a real follower:
// the Tasks tab (table cells are the stored scores, the effective length is shown, runs share one
// colour scale), the Compare tab's plots (an overlay line per run, differences to a reference as
// computed by hand, bars equal to the results table), the Attention tab's runs side by side (both
// maps at the same layer/head/length, the difference map is A − B of the stored tiles) and the
// Training tab's GPU plot; every new plot exports PNG, SVG and PDF, and each view is saved as a PNG
// under build/test-tmp/compare-shots to be looked at.
#include <gtest/gtest.h>

#include <QApplication>
#include <QDir>
#include <QFileInfo>
#include <QTableWidget>

#include "store_fixtures.h"
#include "widgets/attention_tab.h"
#include "widgets/compare_tab.h"
#include "widgets/tasks_tab.h"
#include "widgets/training_tab.h"

using namespace ctx::gui;
using storefix::kBase;
using storefix::kPi;
using storefix::kYarn;

namespace {

std::string storePath() {
  // Kept after the tests: `ctxlab --db build/test-tmp/widgets_compare.db` shows these views.
  const std::string p = std::string(CTXLAB_TEST_TMP) + "/widgets_compare.db";
  static bool written = false;
  if (!written) {
    storefix::writeCompareStore(p);
    written = true;
  }
  return p;
}

std::vector<std::pair<double, double>> pointsOf(const QCPGraph* g) {
  std::vector<std::pair<double, double>> out;
  for (auto it = g->data()->constBegin(); it != g->data()->constEnd(); ++it) out.emplace_back(it->key, it->value);
  return out;
}

int runIndex(int64_t run) { return run == kYarn ? 0 : run == kPi ? 1 : 2; }

}  // namespace

TEST(TasksTab, TableShowsTheStoredScoresAndTheEffectiveLength) {
  storefix::Live live(storePath());
  ASSERT_TRUE(live.watch({kYarn, kPi, kBase}));
  TasksTab tab(&live.cache);
  tab.resize(1300, 900);
  tab.show();
  tab.setSelection({kYarn, kPi, kBase});
  tab.redrawNow();
  for (int64_t run : {kYarn, kPi}) {
    for (const auto& task : storefix::kTasks)
      for (double L : storefix::kRulerLengths) {
        auto* item = tab.cell(run, QString::fromStdString(task), L);
        ASSERT_NE(item, nullptr) << run << " " << task << " " << L;
        const double want = storefix::taskScore(runIndex(run), task, L);
        EXPECT_NEAR(item->data(Qt::UserRole).toDouble(), want, 1e-12) << run << " " << task << " " << L;
        EXPECT_EQ(item->text(), QString::number(100 * want, 'f', 1) + "%");
      }
    for (double L : storefix::kRulerLengths)
      EXPECT_NEAR(tab.cell(run, "average", L)->data(Qt::UserRole).toDouble(), storefix::averageAt(runIndex(run), L), 1e-12);
  }
  // The effective length heads each run's rows, with the threshold it was judged by.
  const double eff = storefix::effectiveLength(0);
  ASSERT_GT(eff, 0);
  EXPECT_TRUE(tab.runTitle(kYarn).contains(QString("effective length %1").arg(eff))) << tab.runTitle(kYarn).toStdString();
  EXPECT_TRUE(tab.runTitle(kYarn).contains("threshold 85.6%"));
  EXPECT_EQ(storefix::effectiveLength(1), 0);
  EXPECT_TRUE(tab.runTitle(kPi).contains("no effective length")) << tab.runTitle(kPi).toStdString();
  EXPECT_TRUE(tab.runTitle(kBase).isEmpty());  // no RULER results: not in the table
  // CSV: one row per run and task, scores 0..1, the effective length last.
  const QString csv = tab.csv();
  EXPECT_TRUE(csv.startsWith("run,name,task,1024,2048,4096,8192,effective_length\n")) << csv.left(80).toStdString();
  EXPECT_TRUE(csv.contains(QString("1,yarn-x8,niah_single_1,%1,").arg(storefix::taskScore(0, "niah_single_1", 1024), 0, 'g', 6)));
}

TEST(TasksTab, HeatmapsShareOneColourScaleAndMarkTheEffectiveLength) {
  storefix::Live live(storePath());
  ASSERT_TRUE(live.watch({kYarn, kPi}));
  TasksTab tab(&live.cache);
  tab.resize(1300, 900);
  tab.show();
  tab.setSelection({kYarn, kPi});
  tab.redrawNow();
  auto* a = tab.heatMap(kYarn);
  auto* b = tab.heatMap(kPi);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(a->colorScale(), tab.colorScale());
  EXPECT_EQ(b->colorScale(), tab.colorScale());
  EXPECT_EQ(tab.colorScale()->dataRange(), QCPRange(0, 100));
  // Cells: task rows (RULER's order), length columns, in percent.
  for (int run : {0, 1}) {
    auto* map = run == 0 ? a : b;
    ASSERT_EQ(map->data()->keySize(), 4);
    ASSERT_EQ(map->data()->valueSize(), static_cast<int>(storefix::kTasks.size()) + 1);  // + average
    for (size_t t = 0; t < storefix::kTasks.size(); ++t)
      for (size_t l = 0; l < 4; ++l)
        EXPECT_NEAR(map->data()->cell(static_cast<int>(l), static_cast<int>(t)),
                    100 * storefix::taskScore(run, storefix::kTasks[t], storefix::kRulerLengths[l]), 1e-9);
  }
  // The line sits on the right edge of the effective length's column; none without one.
  const double eff = storefix::effectiveLength(0);
  const auto col = std::find(storefix::kRulerLengths.begin(), storefix::kRulerLengths.end(), eff) - storefix::kRulerLengths.begin();
  EXPECT_DOUBLE_EQ(tab.effectiveLineX(kYarn), static_cast<double>(col) + 0.5);
  EXPECT_TRUE(std::isnan(tab.effectiveLineX(kPi)));

  // Depth × length of one needle task: the stored cells, depths in percent.
  tab.setView(TasksTab::View::Depth);
  tab.setDepthTask("niah_single_2");
  tab.redrawNow();
  a = tab.heatMap(kYarn);
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->data()->valueSize(), 5);
  EXPECT_EQ(a->colorScale(), tab.heatMap(kPi)->colorScale());
  for (size_t d = 0; d < storefix::kDepths.size(); ++d)
    for (size_t l = 0; l < 4; ++l)
      EXPECT_NEAR(a->data()->cell(static_cast<int>(l), static_cast<int>(d)),
                  100 * storefix::cellScore(0, "niah_single_2", storefix::kRulerLengths[l], storefix::kDepths[d]), 1e-9);
  EXPECT_TRUE(tab.cellText(kYarn, 0, 2).contains("depth 50%")) << tab.cellText(kYarn, 0, 2).toStdString();
  EXPECT_TRUE(tab.cellText(kYarn, 0, 2).contains("expected “7314”"));
}

TEST(TasksTab, RunsWithoutTaskResultsSayHowToGetThem) {
  storefix::Live live(storePath());
  ASSERT_TRUE(live.watch({kBase}));
  TasksTab tab(&live.cache);
  tab.resize(1000, 700);
  tab.show();
  tab.setSelection({kBase});
  tab.redrawNow();
  EXPECT_EQ(tab.heatMap(kBase), nullptr);
  EXPECT_TRUE(tab.plots()[0]->emptyMessage().contains("ctxlab-cli ruler")) << tab.plots()[0]->emptyMessage().toStdString();
}

TEST(ComparePlots, OverlayDifferenceAndBarsFollowTheStore) {
  storefix::Live live(storePath());
  ASSERT_TRUE(live.watch({kYarn, kPi, kBase}));
  CompareTab tab(&live.cache);
  tab.resize(1400, 950);
  tab.show();
  tab.setSelection({kYarn, kPi, kBase});
  tab.redrawNow();
  auto* plots = tab.comparePlots();
  // One line per run in the chosen mode, longdoc included.
  plots->setMode("longdoc");
  EXPECT_EQ(plots->mode(), "longdoc");
  for (int64_t run : {kYarn, kPi, kBase}) {
    auto* g = plots->pplGraph(run);
    ASSERT_NE(g, nullptr) << run;
    const auto pts = pointsOf(g);
    const size_t n = run == kBase ? 5 : storefix::kPplLengths.size();
    ASSERT_EQ(pts.size(), n) << run;
    for (size_t i = 0; i < n; ++i) {
      EXPECT_EQ(pts[i].first, storefix::kPplLengths[i]);
      EXPECT_NEAR(pts[i].second, storefix::ppl(runIndex(run), "longdoc", storefix::kPplLengths[i]), 1e-9);
    }
  }
  // Differences to a reference: pi-x8 − yarn-x8 and nope-base − yarn-x8 length by length (the
  // base only where it was evaluated); the reference is the flat line at 0.
  plots->setMode("nonoverlap");
  plots->setRelative(RelativeTo::Difference);
  plots->setReference(kYarn);
  EXPECT_EQ(plots->pplGraph(kYarn), nullptr);
  for (int64_t run : {kPi, kBase}) {
    const auto pts = pointsOf(plots->pplGraph(run));
    ASSERT_EQ(pts.size(), run == kBase ? 5u : storefix::kPplLengths.size());
    for (const auto& [L, v] : pts)
      EXPECT_NEAR(v, storefix::ppl(runIndex(run), "nonoverlap", L) - storefix::ppl(0, "nonoverlap", L), 1e-9) << L;
  }
  plots->setRelative(RelativeTo::Ratio);
  plots->setReference(kPi);
  for (const auto& [L, v] : pointsOf(plots->pplGraph(kYarn)))
    EXPECT_NEAR(v, storefix::ppl(0, "nonoverlap", L) / storefix::ppl(1, "nonoverlap", L), 1e-12) << L;
  // Bars: any numeric row of the results table, one bar per run, the table's value.
  const auto* table = tab.resultsTable();
  auto rowOf = [&](const QString& label) {
    for (int r = 0; r < table->rowCount(); ++r)
      if (table->verticalHeaderItem(r)->text() == label) return r;
    return -1;
  };
  for (const QString label : {"ppl @ 1024 (sliding)", "final loss", "effective length (RULER)"}) {
    const int r = rowOf(label);
    ASSERT_GE(r, 0) << label.toStdString();
    plots->setBarRow(label);
    int bars = 0;
    for (int c = 0; c < 3; ++c) {
      const int64_t run = c == 0 ? kYarn : c == 1 ? kPi : kBase;
      const auto* item = table->item(r, c);
      const bool has = item && item->data(Qt::UserRole).isValid();
      auto* bar = plots->bar(run);
      ASSERT_EQ(bar != nullptr, has) << label.toStdString() << " run " << run;
      if (!has) continue;
      ++bars;
      EXPECT_DOUBLE_EQ(bar->data()->at(0)->value, item->data(Qt::UserRole).toDouble());
    }
    EXPECT_GE(bars, 2) << label.toStdString();
  }
  EXPECT_DOUBLE_EQ(plots->bar(kYarn)->data()->at(0)->value, storefix::effectiveLength(0));
  plots->setBarRow("ppl @ 1024 (sliding)");
  EXPECT_NEAR(plots->bar(kPi)->data()->at(0)->value, storefix::ppl(1, "sliding", 1024), 1e-9);  // unrounded, as stored
}

TEST(AttentionTab, RunsSideBySideAndTheirDifference) {
  storefix::Live live(storePath());
  ASSERT_TRUE(live.watch({kYarn, kPi}));
  AttentionTab tab(&live.cache);
  tab.resize(1400, 900);
  tab.show();
  tab.setSelection({kYarn, kPi});
  tab.setCompareRuns(true);
  tab.setLayer(1);
  tab.setHead(1);
  tab.redrawNow();
  ASSERT_TRUE(storefix::waitFor([&] {
    tab.redrawNow();
    return !tab.waitingForData();
  }));
  auto* cmp = tab.compare();
  EXPECT_EQ(cmp->length(), storefix::kAttentionLength);
  auto* a = cmp->colorMap(kYarn);
  auto* b = cmp->colorMap(kPi);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(a->colorScale(), b->colorScale());  // one colour scale
  const int G = 16;
  const auto va = headSlice(storefix::storedMap(kYarn, 1, "mean"), 1);
  const auto vb = headSlice(storefix::storedMap(kPi, 1, "mean"), 1);
  EXPECT_EQ(cmp->values(kYarn), va);
  EXPECT_EQ(cmp->values(kPi), vb);
  ASSERT_EQ(a->data()->keySize(), G);
  EXPECT_DOUBLE_EQ(a->data()->cell(2, 9), va[9 * G + 2]);  // key tile 2, query tile 9
  EXPECT_DOUBLE_EQ(b->data()->cell(2, 9), vb[9 * G + 2]);
  // The shared range covers both runs' visible (causal) tiles.
  double hi = 0;
  for (int i = 0; i < G; ++i)
    for (int j = 0; j <= i; ++j) hi = std::max({hi, static_cast<double>(va[i * G + j]), static_cast<double>(vb[i * G + j])});
  EXPECT_DOUBLE_EQ(cmp->colorRange().upper, hi);
  // The difference: A − B of the stored tiles, on a range symmetric about zero.
  EXPECT_EQ(cmp->pairA(), kYarn);
  EXPECT_EQ(cmp->pairB(), kPi);
  auto* d = cmp->differenceColorMap();
  ASSERT_NE(d, nullptr);
  ASSERT_EQ(cmp->differenceValues().size(), va.size());
  double extent = 0;
  for (int i = 0; i < G; ++i)
    for (int j = 0; j < G; ++j) {
      const float want = va[i * G + j] - vb[i * G + j];
      EXPECT_EQ(cmp->differenceValues()[static_cast<size_t>(i * G + j)], want);
      EXPECT_FLOAT_EQ(static_cast<float>(d->data()->cell(j, i)), want);
      if (j <= i) extent = std::max(extent, std::abs(static_cast<double>(want)));
    }
  EXPECT_GT(extent, 0);
  EXPECT_DOUBLE_EQ(d->colorScale()->dataRange().upper, extent);
  EXPECT_DOUBLE_EQ(d->colorScale()->dataRange().lower, -extent);
  EXPECT_NE(d->colorScale(), a->colorScale());
  // Swapping the pair negates it.
  cmp->setPair(kPi, kYarn);
  tab.redrawNow();
  EXPECT_EQ(cmp->differenceValues()[static_cast<size_t>(9 * G + 2)], vb[9 * G + 2] - va[9 * G + 2]);
}

TEST(TrainingTab, GpuPlotShowsTheLoggedMemoryAndUtilisation) {
  storefix::Live live(storePath());
  ASSERT_TRUE(live.watch({kYarn, kPi}));
  TrainingTab tab(&live.cache);
  tab.resize(1000, 900);
  tab.show();
  tab.setSelection({kYarn, kPi});
  tab.redrawNow();
  auto* gpu = tab.gpuPlot();
  ASSERT_EQ(gpu->graphCount(), 2);  // the CUDA run's memory and utilisation; the CPU run has none
  const auto mem = pointsOf(gpu->graph(0));
  const auto util = pointsOf(gpu->graph(1));
  EXPECT_TRUE(gpu->graph(0)->name().endsWith("· memory"));
  EXPECT_EQ(gpu->graph(1)->valueAxis(), gpu->yAxis2);
  ASSERT_EQ(mem.size(), 60u);
  ASSERT_EQ(util.size(), 60u);
  for (int s = 1; s <= 60; ++s) {
    EXPECT_DOUBLE_EQ(mem[static_cast<size_t>(s - 1)].second, storefix::gpuMemory(s));
    EXPECT_DOUBLE_EQ(util[static_cast<size_t>(s - 1)].second, storefix::gpuUtil(s));
  }
  EXPECT_TRUE(gpu->emptyMessage().isEmpty());
  // Utilisation on its own axis: the memory axis fits the memory.
  EXPECT_LT(gpu->yAxis->range().upper, 10);
  EXPECT_FALSE(gpu->isHidden());
  // A CPU run alone: no GPU panel taking room from the others.
  tab.setSelection({kPi});
  tab.redrawNow();
  EXPECT_EQ(gpu->graphCount(), 0);
  EXPECT_TRUE(gpu->isHidden());
  EXPECT_TRUE(gpu->emptyMessage().contains("ran on the CPU")) << gpu->emptyMessage().toStdString();
}

// ---------------------------------------------------------------- exports and screenshots

namespace {

// Saves what the tab shows (build/test-tmp/compare-shots/NAME.png) and exports each of its plots
// that has something drawn in the three formats.
void shootAndExport(PlotTab& tab, const QString& name) {
  const QString dir = QString(CTXLAB_TEST_TMP) + "/compare-shots";
  QDir().mkpath(dir);
  tab.redrawNow();
  for (int i = 0; i < 3; ++i) QApplication::processEvents();
  for (auto* p : tab.plots()) p->replot(QCustomPlot::rpImmediateRefresh);
  EXPECT_TRUE(tab.grab().save(dir + "/" + name + ".png"));
  int k = 0;
  for (auto* p : tab.plots()) {
    if (p->isHidden() || (p->graphCount() == 0 && p->plottableCount() == 0)) continue;
    for (const char* ext : {"png", "svg", "pdf"}) {
      const QString file = QString("%1/%2-plot%3.%4").arg(dir, name).arg(k).arg(ext);
      QFile::remove(file);
      EXPECT_EQ(p->exportTo(file, 800, 500), QString()) << file.toStdString();
      EXPECT_GT(QFileInfo(file).size(), 1000) << file.toStdString();
    }
    ++k;
  }
  EXPECT_GT(k, 0) << name.toStdString() << ": nothing drawn to export";
}

}  // namespace

TEST(CompareScreens, NewViewsExportAndAreSavedToBeLookedAt) {
  storefix::Live live(storePath());
  ASSERT_TRUE(live.watch({kYarn, kPi, kBase}));
  const QVector<qint64> both{kYarn, kPi};
  auto settle = [](PlotTab& tab) {
    tab.resize(1200, 800);
    tab.show();
    ASSERT_TRUE(storefix::waitFor([&] {
      tab.redrawNow();
      return !tab.waitingForData();
    }));
  };
  TasksTab tasks(&live.cache);
  tasks.setSelection(both);
  settle(tasks);
  shootAndExport(tasks, "tasks");
  tasks.setView(TasksTab::View::Depth);
  tasks.setDepthTask("niah_single_2");
  settle(tasks);
  shootAndExport(tasks, "tasks-depth");

  CompareTab compare(&live.cache);
  compare.setSelection(both);
  settle(compare);
  compare.comparePlots()->setMode("longdoc");
  compare.comparePlots()->setReference(kPi);
  compare.comparePlots()->setRelative(RelativeTo::Ratio);
  settle(compare);
  shootAndExport(compare, "compare-ratio");

  AttentionTab attention(&live.cache);
  attention.setSelection(both);
  attention.setCompareRuns(true);
  settle(attention);
  shootAndExport(attention, "attention-runs");

  TrainingTab training(&live.cache);
  training.setSelection(both);
  settle(training);
  shootAndExport(training, "training-gpu");
}
