// The plot tabs (training, perplexity, per-position loss, positions) given caches with known
// data: the graphs hold the values worked out by hand, marks sit at the configured lengths,
// bursts of updates redraw once, and every tab renders and exports.
#include <gtest/gtest.h>

#include <QDir>
#include <QFile>
#include <QImage>
#include <QMouseEvent>
#include <QWheelEvent>

#include <cstdio>
#include <numeric>

#include "plot_fixture.h"
#include "store/run_store.h"
#include "widgets/perplexity_tab.h"
#include "widgets/position_loss_tab.h"
#include "widgets/positions_tab.h"
#include "widgets/store_follower.h"
#include "widgets/training_tab.h"

namespace ctx::gui {
namespace {

using namespace testing;
using Points = std::vector<std::pair<double, double>>;

QString tmp_dir() {
  QDir().mkpath(CTXLAB_TEST_TMP);
  return CTXLAB_TEST_TMP;
}

// One run (#1 "a", trained at `seq_len`) in the cache, watched, with `d` as its detail.
void one_run(DataCache& cache, DetailDelta d, const nlohmann::json& config = run_config(256)) {
  add_runs(cache, {run_summary(1, "a", config)});
  cache.setWatched({1});
  d.run = 1;
  d.reset = true;
  send(cache, {d});
}

// --- training

TEST(TrainingTab, LossAndLearningRateAreTheLoggedPoints) {
  DataCache cache;
  DetailDelta d;
  d.appended["loss"] = series({1, 2, 3}, {5.0, 4.0, 3.5});
  d.appended["lr"] = series({1, 2, 3}, {1e-4, 2e-4, 3e-4});
  one_run(cache, d);
  TrainingTab tab(&cache);
  tab.setSelection({1});
  tab.redrawNow();
  auto* loss = graph_named(tab.lossPlot(), "#1 a");
  ASSERT_TRUE(loss);
  EXPECT_EQ(points(loss), (Points{{1, 5.0}, {2, 4.0}, {3, 3.5}}));
  auto* lr = graph_named(tab.lrPlot(), "#1 a");
  ASSERT_TRUE(lr);
  EXPECT_EQ(points(lr), (Points{{1, 1e-4}, {2, 2e-4}, {3, 3e-4}}));
  EXPECT_EQ(loss->pen().color(), runColor(0));
  EXPECT_EQ(tab.lossPlot()->xAxis->label(), "step");
  // No tokens_per_s logged: that panel says so rather than showing an empty frame.
  EXPECT_TRUE(visible_texts(tab.speedPlot()).join("|").contains("No throughput logged yet"));
  EXPECT_TRUE(visible_texts(tab.lossPlot()).isEmpty());
}

TEST(TrainingTab, TokensToggleMapsStepsToTokensSeen) {
  DataCache cache;
  DetailDelta d;
  d.appended["loss"] = series({10, 20, 30}, {3.0, 2.5, 2.0});
  d.appended["tokens_seen"] = series({10, 20, 30}, {40960, 81920, 122880});
  one_run(cache, d);
  TrainingTab tab(&cache);
  tab.setSelection({1});
  tab.setXKind(TrainingTab::XKind::Tokens);
  tab.redrawNow();
  auto* loss = graph_named(tab.lossPlot(), "#1 a");
  ASSERT_TRUE(loss);
  EXPECT_EQ(points(loss), (Points{{40960, 3.0}, {81920, 2.5}, {122880, 2.0}}));
  EXPECT_EQ(tab.lossPlot()->xAxis->label(), "tokens seen");
  // Between logged steps the count is linear; outside what was logged it is unknown.
  const auto t = steps_to_tokens(series({10, 20}, {100, 300}), {10, 15, 20, 25, 5});
  EXPECT_EQ(t[0], 100);
  EXPECT_EQ(t[1], 200);
  EXPECT_EQ(t[2], 300);
  EXPECT_TRUE(std::isnan(t[3]));
  EXPECT_TRUE(std::isnan(t[4]));
}

TEST(TrainingTab, EmaOfAConstantIsThatConstantAndRawStaysBehind) {
  const auto c = ema_smooth(std::vector<double>(200, 3.25), 0.9);
  for (double v : c) EXPECT_DOUBLE_EQ(v, 3.25);
  // Debiased: [0, 1] with weight 0.5 gives 0, then (0.5 * 1) / (1 - 0.25) = 2/3.
  const auto e = ema_smooth({0.0, 1.0}, 0.5);
  EXPECT_DOUBLE_EQ(e[0], 0.0);
  EXPECT_DOUBLE_EQ(e[1], 2.0 / 3.0);
  const auto n = ema_smooth({2.0, std::nan(""), 2.0}, 0.7);  // NaN passes through, state untouched
  EXPECT_DOUBLE_EQ(n[0], 2.0);
  EXPECT_TRUE(std::isnan(n[1]));
  EXPECT_DOUBLE_EQ(n[2], 2.0);

  DataCache cache;
  DetailDelta d;
  std::vector<double> st, v(50, 2.75);
  for (int i = 1; i <= 50; ++i) st.push_back(i);
  v[10] = 8.0;  // one spike: raw keeps it, smoothed spreads it
  d.appended["loss"] = series(st, v);
  one_run(cache, d);
  TrainingTab tab(&cache);
  tab.setSelection({1});
  tab.setSmoothing(0.6);
  tab.redrawNow();
  auto* raw = graph_named(tab.lossPlot(), "#1 a (raw)");
  auto* smooth = graph_named(tab.lossPlot(), "#1 a");
  ASSERT_TRUE(raw && smooth);
  EXPECT_EQ(points(raw)[10].second, 8.0);
  EXPECT_DOUBLE_EQ(points(smooth)[5].second, 2.75);
  EXPECT_LT(points(smooth)[10].second, 8.0);
  EXPECT_GT(points(smooth)[10].second, 2.75);
  EXPECT_LT(raw->pen().color().alpha(), 100);
  EXPECT_FALSE(tab.lossPlot()->legend->hasItemWithPlottable(raw));
}

TEST(TrainingTab, RunsWithoutPointsSaySo) {
  DataCache cache;
  one_run(cache, DetailDelta{});
  TrainingTab tab(&cache);
  tab.redrawNow();
  EXPECT_TRUE(visible_texts(tab.lossPlot()).join("|").contains("Select runs"));
  tab.setSelection({1});
  tab.redrawNow();
  EXPECT_TRUE(visible_texts(tab.lossPlot()).join("|").contains("No training steps logged yet"));
  EXPECT_TRUE(graph_named(tab.lossPlot(), "#1 a  (no steps yet)"));
}

TEST(TrainingTab, PanelsShareTheXAxisAndLogLossUsesReadableTicks) {
  DataCache cache;
  QVector<qint64> ids;
  realistic_fixture(cache, ids);
  TrainingTab tab(&cache);
  tab.resize(900, 700);
  tab.setSelection(ids);
  tab.setLogLoss(true);
  tab.redrawNow();
  EXPECT_EQ(tab.lossPlot()->yAxis->scaleType(), QCPAxis::stLogarithmic);
  EXPECT_EQ(tab.lossPlot()->xAxis->range(), tab.lrPlot()->xAxis->range());
  EXPECT_EQ(tab.lossPlot()->xAxis->range(), tab.speedPlot()->xAxis->range());
  tab.lrPlot()->xAxis->setRange(50, 100);  // zooming one panel zooms all
  EXPECT_EQ(tab.lossPlot()->xAxis->range(), QCPRange(50, 100));
  EXPECT_EQ(tab.speedPlot()->xAxis->range(), QCPRange(50, 100));
  // The axes line up: every panel got the widest left margin.
  EXPECT_EQ(tab.lossPlot()->axisRect()->minimumMargins().left(), tab.lrPlot()->axisRect()->minimumMargins().left());

  LogTicker125 ticker;
  QVector<double> ticks;
  ticker.generate(QCPRange(3, 8), QLocale::c(), 'g', 6, ticks, nullptr, nullptr);
  EXPECT_EQ(ticks, (QVector<double>{3, 4, 5, 6, 7, 8}));
  ticker.generate(QCPRange(1, 100), QLocale::c(), 'g', 6, ticks, nullptr, nullptr);
  EXPECT_EQ(ticks, (QVector<double>{1, 2, 5, 10, 20, 50, 100}));
  SiTicker si;
  QVector<QString> labels;
  si.generate(QCPRange(0, 1.3e6), QLocale::c(), 'g', 6, ticks, nullptr, &labels);
  EXPECT_EQ(labels, (QVector<QString>{"0", "250k", "500k", "750k", "1M", "1.25M"}));
}

TEST(TrainingTab, AUserZoomHoldsUntilADoubleClick) {
  DataCache cache;
  DetailDelta d;
  d.appended["loss"] = series({1, 2, 3, 4}, {4, 3, 2, 1});
  one_run(cache, d);
  TrainingTab tab(&cache);
  tab.resize(700, 500);
  tab.setSelection({1});
  tab.redrawNow();
  QWheelEvent wheel(QPointF(100, 100), QPointF(100, 100), QPoint(), QPoint(0, 120), Qt::NoButton, Qt::NoModifier,
                    Qt::NoScrollPhase, false);
  emit tab.lossPlot()->mouseWheel(&wheel);
  tab.lossPlot()->xAxis->setRange(2, 3);
  DetailDelta more;
  more.run = 1;
  more.appended["loss"] = series({5, 6}, {0.5, 0.25});
  send(cache, {more});
  tab.redrawNow();
  EXPECT_EQ(tab.lossPlot()->xAxis->range(), QCPRange(2, 3));  // live data does not undo the zoom
  EXPECT_EQ(tab.speedPlot()->xAxis->range(), QCPRange(2, 3));
  QMouseEvent click(QEvent::MouseButtonDblClick, QPointF(100, 100), QPointF(100, 100), Qt::LeftButton, Qt::LeftButton,
                    Qt::NoModifier);
  emit tab.lossPlot()->mouseDoubleClick(&click);
  tab.redrawNow();
  EXPECT_LT(tab.lossPlot()->xAxis->range().lower, 1);
  EXPECT_GT(tab.lossPlot()->xAxis->range().upper, 6);
  EXPECT_EQ(points(graph_named(tab.lossPlot(), "#1 a")).back(), (std::pair<double, double>{6, 0.25}));
}

// Counts redraws, as the coalescing timer calls them.
class CountingTrainingTab : public TrainingTab {
 public:
  using TrainingTab::TrainingTab;
  int redraws = 0;

 protected:
  void redraw() override {
    ++redraws;
    TrainingTab::redraw();
  }
};

TEST(TrainingTab, ABurstOfUpdatesRedrawsOnce) {
  DataCache cache;
  one_run(cache, DetailDelta{});
  CountingTrainingTab tab(&cache);
  tab.setSelection({1});
  tab.resize(600, 500);
  tab.show();
  process_events_for(3 * PlotTab::kCoalesceMs);
  const int before = tab.redraws;
  for (int i = 1; i <= 20; ++i) {
    DetailDelta d;
    d.run = 1;
    d.appended["loss"] = series({static_cast<double>(i)}, {1.0 / i});
    send(cache, {d});
  }
  process_events_for(4 * PlotTab::kCoalesceMs);
  EXPECT_EQ(tab.redraws, before + 1);
  ASSERT_TRUE(graph_named(tab.lossPlot(), "#1 a"));
  EXPECT_EQ(graph_named(tab.lossPlot(), "#1 a")->dataCount(), 20);
  // Updates for a run not selected do not redraw.
  add_runs(cache, {run_summary(1, "a", run_config(256)), run_summary(2, "b", run_config(256))});
  process_events_for(4 * PlotTab::kCoalesceMs);
  const int after = tab.redraws;
  cache.setWatched({1, 2});
  DetailDelta other;
  other.run = 2;
  other.appended["loss"] = series({1}, {2.0});
  send(cache, {other});
  process_events_for(4 * PlotTab::kCoalesceMs);
  EXPECT_EQ(tab.redraws, after);
}

TEST(TrainingTab, FollowsARunWhileItWrites) {
  const std::string path = tmp_dir().toStdString() + "/plot_tabs_live.db";
  std::remove(path.c_str());
  store::RunStore db(path);
  store::NewRun nr;
  nr.name = "live";
  nr.config_json = run_config(128).dump();
  const int64_t run = db.create_run(nr);
  db.log_metrics(run, 1, {{"loss", 5.0}, {"tokens_seen", 2048}});
  DataCache cache;
  QObject owner;  // declared last: the follower thread stops before the cache and store go
  StoreFollower* f = startFollower(QString::fromStdString(path), &owner, 30);
  QObject::connect(f, &StoreFollower::summariesReady, &cache, &DataCache::applySummaries);
  QObject::connect(f, &StoreFollower::detailsReady, &cache, &DataCache::applyDetails);
  QObject::connect(&cache, &DataCache::watchedChanged, f, &StoreFollower::setWatched);
  auto wait_for = [](auto pred) {
    QElapsedTimer t;
    t.start();
    while (!pred() && t.elapsed() < 5000) QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
    return pred();
  };
  ASSERT_TRUE(wait_for([&] { return cache.summary(run) != nullptr; }));
  cache.setWatched({run});
  TrainingTab tab(&cache);
  tab.resize(700, 500);
  tab.setSelection({run});
  tab.show();
  auto loss_points = [&] {
    auto* g = graph_named(tab.lossPlot(), "#" + QString::number(run) + " live");
    return g ? points(g) : Points{};
  };
  ASSERT_TRUE(wait_for([&] { return loss_points().size() == 1; }));
  db.log_metrics(run, 2, {{"loss", 4.0}, {"tokens_seen", 4096}});
  db.log_metrics(run, 3, {{"loss", 3.0}, {"tokens_seen", 6144}});
  ASSERT_TRUE(wait_for([&] { return loss_points().size() == 3; }));
  EXPECT_EQ(loss_points(), (Points{{1, 5.0}, {2, 4.0}, {3, 3.0}}));
  EXPECT_GE(tab.lossPlot()->xAxis->range().upper, 3);  // still following: the new steps are in view
}

// --- perplexity

DetailDelta ppl_detail() {
  DetailDelta d;
  d.evals = std::vector<store::EvalRecord>{ppl_record("nonoverlap", 512, 9.0), ppl_record("nonoverlap", 128, 4.0),
                                           ppl_record("nonoverlap", 128, std::log(4.0), "loss"),
                                           ppl_record("sliding", 128, 3.5), ppl_record("sliding", 512, 7.0)};
  return d;
}

TEST(PerplexityTab, PointsModesAndTrainingLength) {
  DataCache cache;
  one_run(cache, ppl_detail(), run_config(256, {128, 512}));
  PerplexityTab tab(&cache);
  tab.setSelection({1});
  tab.redrawNow();
  EXPECT_EQ(tab.modes(), (QStringList{"nonoverlap", "sliding"}));
  EXPECT_EQ(tab.mode(), "nonoverlap");  // the config's eval.mode
  auto* g = graph_named(tab.plot(), "#1 a");
  ASSERT_TRUE(g);
  EXPECT_EQ(points(g), (Points{{128, 4.0}, {512, 9.0}}));
  EXPECT_EQ(vertical_lines(tab.plot()), (std::vector<double>{256}));
  EXPECT_TRUE(visible_texts(tab.plot()).contains("trained at 256"));
  EXPECT_EQ(tab.plot()->xAxis->scaleType(), QCPAxis::stLogarithmic);
  EXPECT_EQ(tab.plot()->yAxis->scaleType(), QCPAxis::stLogarithmic);
  QVector<double> ticks;
  tab.plot()->xAxis->ticker()->generate(QCPRange(100, 1200), QLocale::c(), 'f', 0, ticks, nullptr, nullptr);
  EXPECT_EQ(ticks, (QVector<double>{128, 256, 512, 1024}));

  tab.setMode("sliding");
  tab.redrawNow();
  EXPECT_EQ(points(graph_named(tab.plot(), "#1 a")), (Points{{128, 3.5}, {512, 7.0}}));
}

TEST(PerplexityTab, OneLinePerRunAndSharedTrainingLengthsMerge) {
  DataCache cache;
  add_runs(cache, {run_summary(1, "a", run_config(128)), run_summary(2, "b", run_config(128)),
                   run_summary(3, "c", run_config(512))});
  cache.setWatched({1, 2, 3});
  std::vector<DetailDelta> ds;
  for (int r = 1; r <= 3; ++r) {
    DetailDelta d = ppl_detail();
    d.run = r;
    d.reset = true;
    ds.push_back(d);
  }
  send(cache, ds);
  PerplexityTab tab(&cache);
  tab.setSelection({1, 2, 3});
  tab.redrawNow();
  for (const char* name : {"#1 a", "#2 b", "#3 c"}) EXPECT_TRUE(graph_named(tab.plot(), name)) << name;
  EXPECT_EQ(graph_named(tab.plot(), "#2 b")->pen().color(), runColor(1));
  EXPECT_EQ(vertical_lines(tab.plot()), (std::vector<double>{128, 512}));
  // x reaches the 128 line although it sits on the shortest length, and the 512 one.
  EXPECT_LT(tab.plot()->xAxis->range().lower, 128);
  EXPECT_GT(tab.plot()->xAxis->range().upper, 512);
}

TEST(PerplexityTab, TableAndCsvHoldTheNumbers) {
  DataCache cache;
  add_runs(cache, {run_summary(1, "a", run_config(256)), run_summary(2, "b, with comma", run_config(128))});
  cache.setWatched({1, 2});
  DetailDelta d1 = ppl_detail();
  d1.run = 1;
  DetailDelta d2;
  d2.run = 2;
  d2.evals = std::vector<store::EvalRecord>{ppl_record("nonoverlap", 128, 5.126)};
  send(cache, {d1, d2});
  PerplexityTab tab(&cache);
  tab.setSelection({1, 2});
  tab.redrawNow();
  EXPECT_EQ(tab.csv(),
            "run,name,mode,train_len,128,512\n"
            "1,a,nonoverlap,256,4,9\n"
            "2,\"b, with comma\",nonoverlap,128,5.126,\n");
  ASSERT_EQ(tab.table()->rowCount(), 2);
  ASSERT_EQ(tab.table()->columnCount(), 4);
  EXPECT_EQ(tab.table()->horizontalHeaderItem(3)->text(), "512");
  EXPECT_EQ(tab.table()->item(0, 3)->text(), "9.00");
  EXPECT_EQ(tab.table()->item(1, 2)->text(), "5.13");
  EXPECT_EQ(tab.table()->item(1, 3)->text(), "—");
  EXPECT_TRUE(tab.table()->item(0, 2)->toolTip().contains("loss 1.386"));
  const QString path = tmp_dir() + "/plot_tabs_ppl.csv";
  EXPECT_EQ(tab.exportCsv(path), "");
  QFile f(path);
  ASSERT_TRUE(f.open(QIODevice::ReadOnly));
  EXPECT_EQ(QString::fromUtf8(f.readAll()), tab.csv());
}

// --- per-position loss

TEST(PositionLossTab, PicksAmongWhatIsPresentAndDrawsTheArtifact) {
  DataCache cache;
  DetailDelta d;
  std::vector<float> v8 = {5, 4, 3, 3, 2, 2, 2, 6};
  with_artifacts(d, {f32_artifact("position_loss/nonoverlap/8", v8), f32_artifact("position_loss/nonoverlap/4", {1, 1, 1, 1}),
                     f32_artifact("position_loss/sliding/8", {9, 9, 9, 9, 9, 9, 9, 9}),
                     i64_artifact("positions/ids", {1, 2})});
  one_run(cache, d, run_config(4, {4, 8}));
  PositionLossTab tab(&cache);
  tab.setSelection({1});
  tab.redrawNow();
  EXPECT_EQ(tab.modes(), (QStringList{"nonoverlap", "sliding"}));
  EXPECT_EQ(tab.lengths("nonoverlap"), (QList<qint64>{4, 8}));
  EXPECT_EQ(tab.length(), 8);  // the longest by default
  auto* g = graph_named(tab.plot(), "#1 a");
  ASSERT_TRUE(g);
  EXPECT_EQ(points(g), (Points{{0, 5}, {1, 4}, {2, 3}, {3, 3}, {4, 2}, {5, 2}, {6, 2}, {7, 6}}));
  EXPECT_EQ(vertical_lines(tab.plot()), (std::vector<double>{4}));

  tab.setWindow(3);  // centred average, shrinking at the ends
  tab.redrawNow();
  const Points s = points(graph_named(tab.plot(), "#1 a"));
  ASSERT_EQ(s.size(), 8u);
  EXPECT_DOUBLE_EQ(s[0].second, 4.5);
  EXPECT_DOUBLE_EQ(s[1].second, 4.0);
  EXPECT_DOUBLE_EQ(s[4].second, 7.0 / 3.0);
  EXPECT_DOUBLE_EQ(s[7].second, 4.0);
  EXPECT_TRUE(graph_named(tab.plot(), "#1 a (raw)"));

  tab.setWindow(1);
  tab.setLogX(true);  // position 0 has no place on a log axis
  tab.redrawNow();
  EXPECT_EQ(tab.plot()->xAxis->scaleType(), QCPAxis::stLogarithmic);
  EXPECT_EQ(points(graph_named(tab.plot(), "#1 a")).front(), (std::pair<double, double>{1, 4}));

  tab.setMode("sliding");
  tab.redrawNow();
  EXPECT_EQ(tab.lengths("sliding"), (QList<qint64>{8}));
  EXPECT_EQ(points(graph_named(tab.plot(), "#1 a")).back(), (std::pair<double, double>{7, 9}));
}

TEST(PositionLossTab, WindowAverageByHand) {
  EXPECT_EQ(window_average({1, 2, 3, 4, 5}, 1), (std::vector<double>{1, 2, 3, 4, 5}));
  EXPECT_EQ(window_average({1, 2, 3, 4, 5}, 3), (std::vector<double>{1.5, 2, 3, 4, 4.5}));
  EXPECT_EQ(window_average({1, 2, 3, 4, 5}, 5), (std::vector<double>{2, 2.5, 3, 3.5, 4}));
  const auto n = window_average({1, std::nan(""), 3}, 3);
  EXPECT_EQ(n, (std::vector<double>{1, 2, 3}));
}

TEST(PositionLossTab, NoArtifactSaysSo) {
  DataCache cache;
  one_run(cache, DetailDelta{});
  PositionLossTab tab(&cache);
  tab.setSelection({1});
  tab.redrawNow();
  EXPECT_TRUE(visible_texts(tab.plot()).join("|").contains("No per-position loss yet"));
}

// --- positions

TEST(PositionsTab, RebinningIsExact) {
  std::vector<int64_t> c(1000);
  std::iota(c.begin(), c.end(), 0);
  const Rebinned r = rebin_counts(c, 4);
  ASSERT_EQ(r.counts.size(), 250u);
  for (size_t k = 0; k < r.counts.size(); ++k) EXPECT_EQ(r.counts[k], static_cast<int64_t>(16 * k + 6));
  EXPECT_EQ(r.total, 999 * 1000 / 2);
  const Rebinned p = rebin_counts({1, 2, 3, 4, 5}, 2);  // a partial last bin
  EXPECT_EQ(p.counts, (std::vector<int64_t>{3, 7, 5}));
  EXPECT_EQ(display_bin_width(256), 1);
  EXPECT_EQ(display_bin_width(257), 2);
  EXPECT_EQ(display_bin_width(1000), 4);
  EXPECT_EQ(display_bin_width(65536), 256);
}

TEST(PositionsTab, BarsSumToTheTotalAndDensityIntegratesToOne) {
  DataCache cache;
  std::vector<int64_t> ids(1000);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int64_t>(i % 7 + 1);
  const int64_t total = std::accumulate(ids.begin(), ids.end(), int64_t{0});
  DetailDelta d;
  with_artifacts(d, {i64_artifact("positions/ids", ids), i64_artifact("positions/distances", {5, 4, 3})});
  const nlohmann::json yarn = {{"rope_type", "yarn"}, {"factor", 8}, {"original_max_position_embeddings", 128}};
  one_run(cache, d, run_config(256, {128, 1024, 512}, yarn));
  PositionsTab tab(&cache);
  tab.setSelection({1});
  tab.setDensity(false);
  tab.redrawNow();
  ASSERT_EQ(tab.idsPlot()->plottableCount(), 1);
  auto* bars = qobject_cast<QCPBars*>(tab.idsPlot()->plottable(0));
  ASSERT_TRUE(bars);
  EXPECT_EQ(bars->width(), 4);
  EXPECT_EQ(bars->data()->size(), 250);
  double sum = 0;
  for (auto it = bars->data()->constBegin(); it != bars->data()->constEnd(); ++it) sum += it->value;
  EXPECT_EQ(sum, static_cast<double>(total));
  EXPECT_EQ(bars->data()->constBegin()->key, 2.0);  // centred on its bin [0, 4)
  EXPECT_EQ(tab.shown(tab.idsPlot()).front().bins.total, total);
  // The original window (from rope_scaling, not train.seq_len) and the longest eval length.
  EXPECT_EQ(vertical_lines(tab.idsPlot()), (std::vector<double>{128, 1024}));
  EXPECT_EQ(vertical_lines(tab.distancesPlot()), (std::vector<double>{128, 1024}));
  EXPECT_EQ(tab.idsPlot()->yAxis->range().lower, 0);

  tab.setDensity(true);
  tab.redrawNow();
  bars = qobject_cast<QCPBars*>(tab.idsPlot()->plottable(0));
  ASSERT_TRUE(bars);
  double integral = 0;
  for (auto it = bars->data()->constBegin(); it != bars->data()->constEnd(); ++it) integral += it->value * bars->width();
  EXPECT_NEAR(integral, 1.0, 1e-12);
}

TEST(PositionsTab, SeveralRunsAreStepLinesOnCommonBins) {
  DataCache cache;
  add_runs(cache, {run_summary(1, "a", run_config(128)), run_summary(2, "b", run_config(512))});
  cache.setWatched({1, 2});
  DetailDelta a, b;
  a.run = 1;
  b.run = 2;
  with_artifacts(a, {i64_artifact("positions/ids", std::vector<int64_t>(128, 10))});
  with_artifacts(b, {i64_artifact("positions/ids", std::vector<int64_t>(600, 3))});
  send(cache, {a, b});
  PositionsTab tab(&cache);
  tab.setSelection({1, 2});
  tab.setDensity(false);
  tab.redrawNow();
  auto* ga = graph_named(tab.idsPlot(), "#1 a");
  auto* gb = graph_named(tab.idsPlot(), "#2 b");
  ASSERT_TRUE(ga && gb);
  EXPECT_EQ(ga->lineStyle(), QCPGraph::lsStepLeft);
  // 600 unit bins -> width 4 for both runs; a: 32 bins of 40, closed by a point at x = 128.
  const Points pa = points(ga);
  ASSERT_EQ(pa.size(), 33u);
  EXPECT_EQ(pa[1], (std::pair<double, double>{4, 40}));
  EXPECT_EQ(pa.back(), (std::pair<double, double>{128, 40}));
  const Points pb = points(gb);
  ASSERT_EQ(pb.size(), 151u);
  double sum = 0;
  for (size_t k = 0; k + 1 < pb.size(); ++k) sum += pb[k].second;
  EXPECT_EQ(sum, 1800);
  EXPECT_TRUE(visible_texts(tab.distancesPlot()).join("|").contains("No distances histogram yet"));
}

TEST(PositionsTab, CountsSurviveTheRealStore) {
  const std::string path = tmp_dir().toStdString() + "/plot_tabs_positions.db";
  std::remove(path.c_str());
  store::RunStore db(path);
  store::NewRun nr;
  nr.name = "x";
  nr.config_json = "{}";
  const int64_t run = db.create_run(nr);
  const std::vector<int64_t> counts = {0, 7, 1LL << 40, 3};
  db.put_artifact(run, *i64_artifact("positions/ids", counts, 5));
  auto a = db.artifact(run, "positions/ids");
  ASSERT_TRUE(a);
  EXPECT_EQ(artifact_counts(*a), counts);
}

// --- every tab, rendered with realistic data and exported

TEST(PlotTabsRender, EachTabRendersAndExports) {
  DataCache cache;
  QVector<qint64> ids;
  realistic_fixture(cache, ids);
  const QString dir = qEnvironmentVariableIsEmpty("CTXLAB_SHOTS") ? tmp_dir() + "/plot_tabs"
                                                                   : qEnvironmentVariable("CTXLAB_SHOTS");
  QDir().mkpath(dir);
  TrainingTab training(&cache);
  training.setSmoothing(0.6);
  PerplexityTab ppl(&cache);
  PositionLossTab ploss(&cache);
  ploss.setWindow(9);
  PositionsTab positions(&cache);
  PositionsTab one(&cache);
  const std::vector<std::pair<PlotTab*, QString>> tabs = {
      {&training, "training"}, {&ppl, "perplexity"}, {&ploss, "position_loss"}, {&positions, "positions"}, {&one, "positions_one"}};
  for (auto [tab, name] : tabs) {
    tab->setSelection(tab == &one ? QVector<qint64>{3} : ids);
    tab->resize(1200, 750);
    tab->show();
    tab->redrawNow();
    process_events_for(50);
    const QImage shot = tab->grab().toImage();
    ASSERT_TRUE(shot.save(dir + "/" + name + ".png")) << name.toStdString();
    for (PlotView* p : tab->plots()) {
      if (p->isHidden()) continue;  // the GPU panel of CPU runs
      EXPECT_TRUE(visible_texts(p).filter("Select runs").isEmpty()) << name.toStdString();
      EXPECT_GT(p->plottableCount(), 0) << name.toStdString();
      const QString base = dir + "/" + name + "_" + QString::number(tab->plots().indexOf(p));
      for (const char* ext : {".png", ".svg", ".pdf"}) EXPECT_EQ(p->exportTo(base + ext, 800, 500), "") << ext;
      EXPECT_EQ(QImage(base + ".png").size(), QSize(1600, 1000));  // 2x for print
      QFile svg(base + ".svg"), pdf(base + ".pdf");
      ASSERT_TRUE(svg.open(QIODevice::ReadOnly) && pdf.open(QIODevice::ReadOnly));
      EXPECT_TRUE(svg.readAll().contains("<svg"));
      EXPECT_TRUE(pdf.read(5) == "%PDF-");
    }
    tab->hide();
  }
  // The other views a researcher switches to: tokens on x with log loss, log positions, counts.
  auto shoot = [&](PlotTab* tab, const QString& name) {
    tab->show();
    tab->redrawNow();
    process_events_for(50);
    EXPECT_TRUE(tab->grab().toImage().save(dir + "/" + name + ".png"));
    tab->hide();
  };
  training.setXKind(TrainingTab::XKind::Tokens);
  training.setLogLoss(true);
  shoot(&training, "training_tokens_log");
  // Run 3 trains at 256 with 16 rows, so step 300 is 1,228,800 tokens.
  EXPECT_EQ(points(graph_named(training.lossPlot(), "#3 pose-yarn-x8")).back().first, 300.0 * 16 * 256);
  ploss.setLogX(true);
  shoot(&ploss, "position_loss_logx");
  positions.setDensity(false);
  shoot(&positions, "positions_counts");
  DataCache bare;
  add_runs(bare, {run_summary(7, "queued-run", run_config(128))});
  bare.setWatched({7});
  DetailDelta nothing;
  nothing.run = 7;
  nothing.reset = true;
  send(bare, {nothing});
  PerplexityTab empty_ppl(&bare);
  empty_ppl.resize(1200, 750);
  empty_ppl.setSelection({7});
  shoot(&empty_ppl, "perplexity_empty");
  EXPECT_TRUE(visible_texts(empty_ppl.plot()).join("|").contains("No perplexity evaluation yet"));
}

}  // namespace
}  // namespace ctx::gui
