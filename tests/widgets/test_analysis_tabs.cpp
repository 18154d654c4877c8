// The analysis tabs on fixture caches: frequencies (canned and real rope answers, YaRN ramp,
// wavelengths, CLEX scales), compare (diff-only table, best-of-row), attention (cells per head,
// mean over heads, shared colour range, hover ranges, on-demand blobs, playback frames) and
// retrieval (grid cells, passkey aggregation, key-value curves), plus offscreen screenshots.
#include <gtest/gtest.h>

#include <QApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QMouseEvent>
#include <QTimer>

#include "analysis_fixtures.h"
#include "store/run_store.h"
#include "widgets/attention_tab.h"
#include "widgets/compare_tab.h"
#include "widgets/frequencies_tab.h"
#include "widgets/retrieval_tab.h"

using namespace ctx::gui;
using nlohmann::json;

namespace {

QString shotDir() {
  const QString d = QString(CTXLAB_TEST_TMP) + "/analysis-shots";
  QDir().mkpath(d);
  return d;
}

void shoot(QWidget& w, const QString& name) {
  w.resize(1200, 750);
  w.show();
  QApplication::processEvents();
  if (auto* tab = qobject_cast<PlotTab*>(&w)) tab->redrawNow();
  for (int i = 0; i < 3; ++i) QApplication::processEvents();
  if (auto* tab = qobject_cast<PlotTab*>(&w))
    for (auto* p : tab->plots()) p->replot(QCustomPlot::rpImmediateRefresh);
  EXPECT_TRUE(w.grab().save(shotDir() + "/" + name + ".png"));
}

bool waitFor(const std::function<bool()>& done, int ms = 30000) {
  QElapsedTimer t;
  t.start();
  while (!done() && t.elapsed() < ms) QApplication::processEvents(QEventLoop::AllEvents, 50);
  return done();
}

QString visibleMessages(QCustomPlot* p) {
  QString all;
  for (int i = 0; i < p->itemCount(); ++i)
    if (auto* t = qobject_cast<QCPItemText*>(p->item(i)); t && t->visible()) all += t->text() + "\n";
  return all;
}

std::vector<double> graphValues(QCPGraph* g) {
  std::vector<double> v;
  for (auto it = g->data()->constBegin(); it != g->data()->constEnd(); ++it) v.push_back(it->value);
  return v;
}

QCPGraph* graphNamed(QCustomPlot* p, const QString& part) {
  for (int i = 0; i < p->graphCount(); ++i)
    if (p->graph(i)->name().contains(part)) return p->graph(i);
  return nullptr;
}

// θ = 1, 0.1, 0.01, 0.001 and YaRN at s = 4 with the ramp γ = 1, 0.5, 0.25, 0 worked by hand:
// r = (1 − γ)/s + γ = 1, 0.625, 0.4375, 0.25.
json cannedYarn(int64_t L) {
  return {{"length", L}, {"attention_factor", 1.1386},
          {"base_inv_freq", {1.0, 0.1, 0.01, 0.001}},
          {"inv_freq", {1.0, 0.0625, 0.004375, 0.00025}},
          {"resolved", {{"rope_type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 128}}}};
}

}  // namespace

// ---------------------------------------------------------------- frequencies

TEST(FrequenciesTab, CurvesFromCannedRopeJson) {
  const auto c = ropeCurves(cannedYarn(1024));
  ASSERT_EQ(c.ramp.size(), 4u);
  const double gamma[] = {1, 0.5, 0.25, 0}, ratio[] = {1, 0.625, 0.4375, 0.25};
  const double wave[] = {6.283185307179586, 100.53096491487338, 1436.1566416410484, 25132.741228718345};
  for (int j = 0; j < 4; ++j) {
    EXPECT_NEAR(c.ramp[j], gamma[j], 1e-12) << j;
    EXPECT_NEAR(c.ratio[j], ratio[j], 1e-12) << j;
    EXPECT_NEAR(c.wavelength[j], wave[j], 1e-9 * wave[j]) << j;
  }
  EXPECT_NEAR(c.base_wavelength[3], 6283.185307179586, 1e-9);
  EXPECT_EQ(c.rope_type, "yarn");
  EXPECT_DOUBLE_EQ(c.factor, 4);
  // No ramp for a scaling that is not YaRN, nor for s = 1.
  auto pi = cannedYarn(512);
  pi["resolved"]["rope_type"] = "linear";
  EXPECT_TRUE(ropeCurves(pi).ramp.empty());
  EXPECT_TRUE(yarnRamp({1, 0.5}, 1.0).empty());
  EXPECT_THROW(ropeCurves(json{{"inv_freq", {1.0}}}), std::runtime_error);
}

TEST(FrequenciesTab, ConfigLengths) {
  auto yarn = fixture::ropeConfig("y", {{"rope_type", "yarn"}, {"factor", 4}, {"original_max_position_embeddings", 128}});
  EXPECT_EQ(originalLength(yarn), 128);
  yarn["rope_scaling"].erase("original_max_position_embeddings");
  EXPECT_EQ(originalLength(yarn), 128);  // not given: train.seq_len
  EXPECT_EQ(originalLength(fixture::ropeConfig("b", nullptr)), 128);  // no scaling: train.seq_len
  EXPECT_EQ(evalLengths(yarn, {2048, 128}), (std::vector<int64_t>{128, 256, 512, 1024, 2048}));
  const auto clex = fixture::ropeConfig("c", {{"rope_type", "clex"}, {"max_factor", 3}, {"original_max_position_embeddings", 100}});
  EXPECT_EQ(clexLengths(clex), (std::vector<std::pair<int, int64_t>>{{1, 100}, {2, 200}, {3, 300}}));
  auto clex0 = clex;
  clex0["rope_scaling"]["original_max_position_embeddings"] = 0;  // the engine's "model.max_positions"
  EXPECT_EQ(clexLengths(clex0).back(), (std::pair<int, int64_t>{3, 3072}));
}

TEST(FrequenciesTab, ClexHintStaysInsideItsPlot) {
  // A user's report: "No CLEX run selected: …" ran past the plot's left edge. The message wraps
  // to the width of the axis rect.
  DataCache cache;
  fixture::load(cache, {fixture::run(1, "yarn-x4", fixture::ropeConfig("yarn-x4", {{"rope_type", "yarn"}, {"factor", 4},
                                                                                   {"original_max_position_embeddings", 128}}))});
  FrequenciesTab tab(&cache);
  tab.setCliRunner([](QObject*, const QStringList&, std::function<void(const CliResult&)>) {});
  tab.setSelection({1});
  tab.resize(900, 600);  // each of the four plots about 440 px wide
  tab.show();
  tab.redrawNow();
  PlotView* clex = tab.plots()[3];
  clex->replot(QCustomPlot::rpImmediateRefresh);
  ASSERT_TRUE(clex->emptyMessage().contains("No CLEX run selected"));
  const QRect rect = clex->axisRect()->rect();
  int lines = 0;
  for (int i = 0; i < clex->itemCount(); ++i) {
    auto* t = qobject_cast<QCPItemText*>(clex->item(i));
    if (!t || !t->visible() || t->text().isEmpty()) continue;
    const QFontMetrics fm(t->font());
    for (const QString& line : t->text().split('\n')) {
      EXPECT_LE(fm.horizontalAdvance(line), rect.width()) << line.toStdString();
      ++lines;
    }
  }
  EXPECT_GE(lines, 2);  // wrapped
}

TEST(FrequenciesTab, AsksTheCliAsynchronouslyAndDrawsItsAnswer) {
  DataCache cache;
  fixture::load(cache, {fixture::run(1, "yarn-x4", fixture::ropeConfig("yarn-x4", {{"rope_type", "yarn"}, {"factor", 4},
                                                                                   {"original_max_position_embeddings", 128}}),
                                     {{"nonoverlap", 2048, 9.5}}),
                        fixture::run(2, "alibi", {{"model", {{"position", {{"type", "alibi"}}}}}, {"eval", {{"lengths", {512}}}}})});
  FrequenciesTab tab(&cache);
  tab.setStorePath("/data/x.db");
  std::vector<QStringList> asked;
  tab.setCliRunner([&](QObject* ctx, const QStringList& args, std::function<void(const CliResult&)> done) {
    asked.push_back(args);
    QTimer::singleShot(20, ctx, [args, done] {
      CliResult r;
      if (args.at(2) == "1") {
        r.ok = true;
        r.json = cannedYarn(args.at(4).toLongLong());
      } else {
        r.error = "model.position is 'alibi': only rope models have RoPE frequencies";
      }
      done(r);
    });
  });
  tab.setSelection({1, 2});
  tab.resize(1000, 700);
  tab.show();
  tab.redrawNow();
  // The default length is the longest evaluated (2048 from the ppl results beats eval.lengths).
  EXPECT_EQ(tab.length(), 2048);
  ASSERT_EQ(asked.size(), 2u);  // both in flight at once (kMaxInFlight = 2), nothing answered yet
  EXPECT_EQ(asked[0], (QStringList{"rope", "--run", "1", "--length", "2048", "--db", "/data/x.db"}));
  EXPECT_TRUE(tab.statusText().contains("computing"));
  ASSERT_TRUE(waitFor([&] { return tab.curves(1, 2048) != nullptr && tab.statusText().contains("alibi"); }));
  tab.redrawNow();
  EXPECT_TRUE(tab.statusText().contains("only rope models have RoPE frequencies")) << tab.statusText().toStdString();
  EXPECT_FALSE(tab.statusText().contains("computing"));

  auto plots = tab.plots();
  auto* wave = graphNamed(plots[1], "#1 yarn-x4");
  ASSERT_NE(wave, nullptr);
  const auto w = graphValues(wave);
  ASSERT_EQ(w.size(), 4u);
  EXPECT_NEAR(w[2], 2 * M_PI / 0.004375, 1e-9);
  auto* ramp = graphNamed(plots[2], "ramp");
  ASSERT_NE(ramp, nullptr);
  EXPECT_EQ(ramp->valueAxis(), plots[2]->yAxis2);
  const auto g = graphValues(ramp);
  ASSERT_EQ(g.size(), 4u);
  for (int j = 0; j < 4; ++j) EXPECT_NEAR(g[j], (std::vector<double>{1, 0.5, 0.25, 0})[j], 1e-12);
  // The wavelength plot marks the training length (128) and the target (2048).
  EXPECT_TRUE(visibleMessages(plots[1]).contains("training length 128"));
  EXPECT_TRUE(visibleMessages(plots[1]).contains("target length 2048"));
  // A second redraw asks nothing again: answers are cached per (run, length).
  tab.redrawNow();
  EXPECT_EQ(asked.size(), 2u);
  tab.setLength(512);
  tab.redrawNow();
  EXPECT_EQ(asked.size(), 4u);
  EXPECT_TRUE(tab.csv().startsWith("run,name,rope_type,length,pair,theta,theta_scaled,ratio,wavelength,yarn_ramp\n"));
}

TEST(FrequenciesTab, ClexAsksOneLengthPerScale) {
  DataCache cache;
  fixture::load(cache, {fixture::run(3, "clex", fixture::ropeConfig("clex", {{"rope_type", "clex"}, {"max_factor", 4},
                                                                              {"original_max_position_embeddings", 128}}))});
  FrequenciesTab tab(&cache);
  std::set<QString> lengths;
  tab.setCliRunner([&](QObject*, const QStringList& args, std::function<void(const CliResult&)> done) {
    lengths.insert(args.at(4));
    CliResult r;
    r.ok = true;
    const double t = args.at(4).toDouble() / 128;
    r.json = {{"length", args.at(4).toLongLong()}, {"base_inv_freq", {1.0, 0.01}}, {"inv_freq", {1.0, 0.01 / t}},
              {"resolved", {{"rope_type", "clex"}}}};
    done(r);  // answering at once is allowed too
  });
  tab.setSelection({3});
  tab.redrawNow();
  tab.redrawNow();
  EXPECT_EQ(lengths, (std::set<QString>{"128", "256", "384", "512", "1024"}));  // L0·t, and the eval length
  auto* clex = tab.plots()[3];
  ASSERT_EQ(clex->graphCount(), 4);
  EXPECT_EQ(clex->graph(3)->name(), "t=4 (L=512)");
  EXPECT_NEAR(graphValues(clex->graph(3))[1], 0.0025, 1e-15);
}

TEST(FrequenciesTab, RealCliErrorShowsInThePlot) {
  if (!QFileInfo(cliPath()).isExecutable()) GTEST_SKIP() << "no ctxlab-cli at " << cliPath().toStdString();
  const std::string db = std::string(CTXLAB_TEST_TMP) + "/frequencies-real.db";
  std::remove(db.c_str());
  int64_t id = 0;
  json cfg;
  {
    ctx::store::RunStore store(db);
    cfg = fixture::ropeConfig("alibi", nullptr);
    cfg["model"]["position"] = {{"type", "alibi"}};
    ctx::store::NewRun r;
    r.name = "alibi";
    r.config_json = cfg.dump();
    id = store.create_run(r);
  }
  DataCache cache;
  auto s = fixture::run(id, "alibi", cfg);
  fixture::load(cache, {s});
  FrequenciesTab tab(&cache);
  tab.setStorePath(QString::fromStdString(db));
  tab.setSelection({id});
  tab.show();  // hidden tabs leave redraws for later
  tab.redrawNow();
  ASSERT_TRUE(waitFor([&] { return !tab.statusText().contains("computing"); })) << tab.statusText().toStdString();
  tab.redrawNow();
  EXPECT_TRUE(tab.statusText().contains("alibi")) << tab.statusText().toStdString();
  EXPECT_TRUE(visibleMessages(tab.plots()[0]).contains("alibi")) << visibleMessages(tab.plots()[0]).toStdString();
}

// ---------------------------------------------------------------- compare

TEST(CompareTab, DiffOnlyTableAndBestOfRow) {
  DataCache cache;
  const auto pi = fixture::ropeConfig("pi", {{"rope_type", "linear"}, {"factor", 4}});
  auto yarn = fixture::ropeConfig("yarn", {{"rope_type", "yarn"}, {"factor", 4.0}, {"beta_fast", 32}});
  yarn["train"]["positions"] = {{"type", "pose"}};
  fixture::load(cache, {fixture::run(1, "pi", pi, {{"nonoverlap", 128, 20.5}, {"nonoverlap", 1024, 31.0}}, 2.9, 120),
                        fixture::run(2, "yarn", yarn, {{"nonoverlap", 128, 21.0}, {"nonoverlap", 1024, 25.25}}, 2.7, 120)});
  CompareTab tab(&cache);
  tab.setSelection({1, 2});
  tab.redrawNow();
  const auto* d = tab.diffTable();
  std::map<QString, QStringList> rows;
  for (int r = 0; r < d->rowCount(); ++r) rows[d->verticalHeaderItem(r)->text()] = {d->item(r, 0)->text(), d->item(r, 1)->text()};
  const std::map<QString, QStringList> want{{"name", {"pi", "yarn"}},
                                            {"rope_scaling.beta_fast", {"—", "32"}},
                                            {"rope_scaling.rope_type", {"linear", "yarn"}},
                                            {"train.positions.type", {"contiguous", "pose"}}};
  EXPECT_EQ(rows, want);  // factor 4 vs 4.0 is equal, so absent; so is every shared key
  const auto* res = tab.resultsTable();
  auto row_of = [&](const QString& label) {
    for (int r = 0; r < res->rowCount(); ++r)
      if (res->verticalHeaderItem(r)->text() == label) return r;
    return -1;
  };
  const int p128 = row_of("ppl @ 128"), p1024 = row_of("ppl @ 1024"), loss = row_of("final loss");
  ASSERT_GE(p128, 0);
  ASSERT_GE(p1024, 0);
  ASSERT_GE(loss, 0);
  EXPECT_TRUE(res->item(p128, 0)->font().bold());
  EXPECT_FALSE(res->item(p128, 1)->font().bold());
  EXPECT_TRUE(res->item(p1024, 1)->font().bold());
  EXPECT_EQ(res->item(p1024, 1)->text(), "25.25");
  EXPECT_TRUE(res->item(loss, 1)->font().bold());
  EXPECT_EQ(res->item(row_of("steps"), 0)->text(), "120");
  EXPECT_EQ(res->item(row_of("status"), 1)->text(), "finished");
  EXPECT_TRUE(tab.diffCsv().startsWith("key,#1 pi,#2 yarn\n"));
  EXPECT_TRUE(tab.diffCsv().contains("rope_scaling.beta_fast,—,32\n"));
  EXPECT_TRUE(tab.resultsCsv().contains("ppl @ 1024,31.00,25.25\n"));
  shoot(tab, "compare");
}

// ---------------------------------------------------------------- attention


TEST(AttentionTab, CellsHoldTheChosenHeadsValues) {
  DataCache cache;
  fixture::load(cache, {fixture::run(7, "yarn-capture", json::object())});
  const auto all = fixture::attentionFixture();
  fixture::details(cache, 7, fixture::attentionEvals(), all);
  AttentionTab tab(&cache);
  tab.setSelection({7});
  tab.setLayer(1);
  tab.setHead(1);
  tab.redrawNow();
  EXPECT_EQ(tab.frames(), (std::vector<int64_t>{50, 100}));
  const int G = 8;
  for (int64_t L : {128, 300}) {
    const auto v = fixture::stored(all, attentionName(L, 1, "mean"), 100);  // the latest step is shown first
    auto* map = tab.colorMap(L);
    ASSERT_NE(map, nullptr) << L;
    ASSERT_EQ(map->data()->keySize(), G);
    for (int i = 0; i < G; ++i)
      for (int j = 0; j < G; ++j) EXPECT_EQ(map->data()->cell(j, i), static_cast<double>(v[static_cast<size_t>((G + i) * G + j)])) << L << " " << i << " " << j;
    // Future tiles are drawn transparent, the causal ones opaque.
    EXPECT_EQ(map->data()->alpha(5, 2), 0);
    EXPECT_EQ(map->data()->alpha(2, 5), 255);
  }
  // The max map, and an earlier frame of the playback.
  tab.setKind("max");
  tab.setFrame(0);
  tab.redrawNow();
  const auto mx = fixture::stored(all, attentionName(300, 1, "max"), 50);
  EXPECT_EQ(tab.colorMap(300)->data()->cell(1, 6), static_cast<double>(mx[static_cast<size_t>((G + 6) * G + 1)]));
}

TEST(AttentionTab, MeanOverHeadsAndSharedColourRange) {
  DataCache cache;
  fixture::load(cache, {fixture::run(7, "yarn-capture", json::object())});
  const auto all = fixture::attentionFixture();
  fixture::details(cache, 7, fixture::attentionEvals(), all);
  AttentionTab tab(&cache);
  tab.setSelection({7});
  tab.setLayer(0);
  tab.setHead(-1);
  tab.redrawNow();
  const int G = 8;
  double lo = 1e9, hi = -1e9, lo_pos = 1e9;
  for (int64_t L : {128, 300}) {
    const auto v = fixture::stored(all, attentionName(L, 0, "mean"), 100);
    for (int i = 0; i < G; ++i)
      for (int j = 0; j < G; ++j) {
        const double m = (static_cast<double>(v[static_cast<size_t>(i * G + j)]) + v[static_cast<size_t>((G + i) * G + j)]) / 2;
        EXPECT_NEAR(tab.colorMap(L)->data()->cell(j, i), m, 1e-7 * std::max(1.0, m)) << L << " " << i << " " << j;
        if (j <= i) {
          lo = std::min(lo, m);
          hi = std::max(hi, m);
          if (m > 0) lo_pos = std::min(lo_pos, m);
        }
      }
  }
  EXPECT_NEAR(tab.colorRange().lower, lo, 1e-7);
  EXPECT_NEAR(tab.colorRange().upper, hi, 1e-7);
  // Both maps use the one colour scale, so they share its range.
  EXPECT_EQ(tab.colorMap(128)->colorScale(), tab.colorMap(300)->colorScale());
  EXPECT_EQ(tab.colorMap(128)->dataRange(), tab.colorMap(300)->dataRange());
  tab.setLogColor(true);
  tab.redrawNow();
  EXPECT_NEAR(tab.colorRange().lower, lo_pos, 1e-7);
  EXPECT_EQ(tab.colorMap(300)->dataScaleType(), QCPAxis::stLogarithmic);
}

TEST(AttentionTab, HoverGivesTokenRangesOfTheTile) {
  DataCache cache;
  fixture::load(cache, {fixture::run(7, "yarn-capture", json::object())});
  const auto all = fixture::attentionFixture();
  fixture::details(cache, 7, fixture::attentionEvals(), all);
  AttentionTab tab(&cache);
  tab.setSelection({7});
  tab.setHead(0);
  tab.resize(1200, 750);
  tab.show();
  QApplication::processEvents();
  tab.redrawNow();
  // 300 tokens in 8 tiles: tile i covers [floor(300 i/8), floor(300 (i+1)/8)).
  const QString t = tab.tileText(300, 5, 2);
  EXPECT_TRUE(t.contains("query tokens [187, 225)")) << t.toStdString();
  EXPECT_TRUE(t.contains("key tokens [75, 112)")) << t.toStdString();
  const auto v = fixture::stored(all, attentionName(300, 0, "mean"), 100);
  EXPECT_TRUE(t.contains(QString("p = %1").arg(static_cast<double>(v[5 * 8 + 2]), 0, 'g', 4))) << t.toStdString();
  EXPECT_TRUE(tab.tileText(300, 2, 5).contains("masked"));
  // The same through the mouse: the centre of that tile in the L=300 panel.
  auto* heat = tab.plots()[0];
  heat->replot(QCustomPlot::rpImmediateRefresh);
  auto* map = tab.colorMap(300);
  double kx = 0, qy = 0;
  map->data()->cellToCoord(2, 5, &kx, &qy);
  const QPointF pos(map->keyAxis()->coordToPixel(kx), map->valueAxis()->coordToPixel(qy));
  QMouseEvent move(QEvent::MouseMove, pos, heat->mapToGlobal(pos), Qt::NoButton, Qt::NoButton, Qt::NoModifier);
  QApplication::sendEvent(heat, &move);
  EXPECT_EQ(tab.hoverText(), t);
}

TEST(AttentionTab, AsksForBlobsAndRedrawsWhenTheyArrive) {
  DataCache cache;
  fixture::load(cache, {fixture::run(7, "yarn-capture", json::object())});
  const auto all = fixture::attentionFixture();
  fixture::details(cache, 7, fixture::attentionEvals(), all, /*with_blobs=*/false);
  std::vector<std::pair<QString, qint64>> asked;
  QObject::connect(&cache, &DataCache::artifactWanted, [&](qint64 run, const QString& name, qint64 step) {
    EXPECT_EQ(run, 7);
    asked.emplace_back(name, step);
    for (const auto& a : all)
      if (a.name == name.toStdString() && a.step == step)
        QTimer::singleShot(5, &cache, [&cache, a] { cache.applyArtifact(7, std::make_shared<ctx::store::Artifact>(a)); });
  });
  AttentionTab tab(&cache);
  tab.setSelection({7});
  tab.show();
  tab.redrawNow();
  EXPECT_EQ(tab.colorMap(128), nullptr);  // nothing fetched yet
  const std::pair<QString, qint64> want{"attention/128/0/mean", 100};
  EXPECT_NE(std::find(asked.begin(), asked.end(), want), asked.end());
  // Only the frame on screen is asked for, not every capture.
  for (const auto& [name, step] : asked) EXPECT_EQ(step, 100) << name.toStdString();
  ASSERT_TRUE(waitFor([&] { return tab.colorMap(128) && tab.colorMap(300); }, 5000));
  EXPECT_EQ(tab.colorMap(128)->data()->cell(0, 3), static_cast<double>(fixture::stored(all, "attention/128/0/mean", 100)[(8 + 3) * 8] + fixture::stored(all, "attention/128/0/mean", 100)[3 * 8]) / 2);
}

TEST(AttentionTab, PlaybackStepsThroughTheCapturedSteps) {
  DataCache cache;
  fixture::load(cache, {fixture::run(7, "yarn-capture", json::object())});
  const auto all = fixture::attentionFixture();
  fixture::details(cache, 7, fixture::attentionEvals(), all);
  AttentionTab tab(&cache);
  tab.setSelection({7});
  tab.setHead(0);
  tab.show();
  tab.redrawNow();
  EXPECT_EQ(tab.frame(), 1);  // opens on the latest capture
  tab.setFrame(0);
  tab.redrawNow();
  EXPECT_EQ(tab.colorMap(128)->data()->cell(0, 4), static_cast<double>(fixture::stored(all, "attention/128/0/mean", 50)[4 * 8]));
  tab.setPlaying(true);
  EXPECT_TRUE(tab.playing());
  ASSERT_TRUE(waitFor([&] { return !tab.playing(); }, 5 * AttentionTab::kPlayMs));  // stops at the last frame
  EXPECT_EQ(tab.frame(), 1);
  EXPECT_EQ(tab.colorMap(128)->data()->cell(0, 4), static_cast<double>(fixture::stored(all, "attention/128/0/mean", 100)[4 * 8]));
  // Playing again from the end starts over.
  tab.setPlaying(true);
  EXPECT_EQ(tab.frame(), 0);
  tab.setPlaying(false);
}

TEST(AttentionTab, EmptyStateExplainsHowToCapture) {
  DataCache cache;
  fixture::load(cache, {fixture::run(9, "plain", json::object())});
  fixture::details(cache, 9, {}, {});
  AttentionTab tab(&cache);
  tab.setSelection({9});
  tab.redrawNow();
  EXPECT_TRUE(visibleMessages(tab.plots()[0]).contains("ctxlab-cli attention --run 9"));
  EXPECT_EQ(tab.colorMap(128), nullptr);
  shoot(tab, "attention-empty");
}

TEST(AttentionTab, ShowsTheFirstSelectedRunWithCapturesUntilOneIsPicked) {
  DataCache cache;
  fixture::load(cache, {fixture::run(9, "plain", json::object()), fixture::run(7, "yarn-capture", json::object())});
  fixture::details(cache, 9, {}, {});
  fixture::details(cache, 7, fixture::attentionEvals(), fixture::attentionFixture());
  AttentionTab tab(&cache);
  tab.setSelection({9, 7});
  tab.redrawNow();
  EXPECT_EQ(tab.run(), 7);
  tab.setRun(9);  // the user's pick is kept
  tab.setSelection({9, 7});
  tab.redrawNow();
  EXPECT_EQ(tab.run(), 9);
}

// ---------------------------------------------------------------- retrieval


TEST(RetrievalTab, GridCellsAreTheStoredAccuracies) {
  DataCache cache;
  fixture::load(cache, {fixture::run(4, "yarn-x8", json::object()), fixture::run(5, "pi-x8", json::object())});
  const auto a = fixture::retrievalFixture(0.9, false), b = fixture::retrievalFixture(0.6, true);
  fixture::details(cache, 4, a, {});
  fixture::details(cache, 5, b, {});
  RetrievalTab tab(&cache);
  tab.setSelection({4, 5});
  tab.redrawNow();
  for (const auto& [run, evals] : {std::make_pair(qint64(4), a), std::make_pair(qint64(5), b)}) {
    const DepthGrid* g = tab.grid(run);
    auto* map = tab.gridMap(run);
    ASSERT_TRUE(g && map) << run;
    ASSERT_EQ(g->lengths, (std::vector<double>{128, 256, 512, 1024, 2048}));
    ASSERT_EQ(g->depths, (std::vector<double>{0, 25, 50, 75, 100}));
    int seen = 0;
    for (const auto& e : evals) {
      if (e.task != "needle") continue;
      const int l = static_cast<int>(std::find(g->lengths.begin(), g->lengths.end(), e.x) - g->lengths.begin());
      const int d = static_cast<int>(std::find(g->depths.begin(), g->depths.end(), e.y) - g->depths.begin());
      EXPECT_EQ(map->data()->cell(l, d), e.value) << run << " L=" << e.x << " depth=" << e.y;
      EXPECT_EQ(map->data()->alpha(l, d), 255);
      ++seen;
    }
    EXPECT_EQ(seen, run == 4 ? 25 : 24);
  }
  // The cell never evaluated is transparent, and says so when hovered.
  EXPECT_EQ(tab.gridMap(5)->data()->alpha(4, 2), 0);
  EXPECT_TRUE(tab.cellText(5, 4, 2).contains("not evaluated"));
  EXPECT_TRUE(tab.cellText(4, 1, 3).contains("length 256 · depth 75%"));
  EXPECT_EQ(tab.gridMap(4)->colorScale(), tab.gridMap(5)->colorScale());
  EXPECT_EQ(tab.gridMap(4)->dataRange(), QCPRange(0, 1));
  shoot(tab, "retrieval");
}

TEST(RetrievalTab, PasskeyAndKeyValueCurves) {
  // Passkey: the y = -1 aggregate wins; without one, depths are averaged weighted by trials.
  std::vector<ctx::store::EvalRecord> ev{fixture::acc("passkey", 256, -1, 0.7), fixture::acc("passkey", 256, 0.5, 0.1),
                                         fixture::acc("passkey", 512, 0.0, 1.0, 30), fixture::acc("passkey", 512, 1.0, 0.2, 10)};
  const Curve c = passkeyByLength(ev);
  EXPECT_EQ(c.x, (std::vector<double>{256, 512}));
  EXPECT_DOUBLE_EQ(c.y[0], 0.7);
  EXPECT_DOUBLE_EQ(c.y[1], (30 * 1.0 + 10 * 0.2) / 40);
  // Passkey at fixed depths makes a grid too, its fractions shown as percent.
  const auto g = depthGrid(ev, "passkey");
  EXPECT_EQ(g.depths, (std::vector<double>{0, 50, 100}));
  EXPECT_DOUBLE_EQ(g.accuracy[2][1], 0.2);

  DataCache cache;
  fixture::load(cache, {fixture::run(4, "yarn-x8", json::object())});
  const auto evals = fixture::retrievalFixture(0.9, false);
  fixture::details(cache, 4, evals, {});
  RetrievalTab tab(&cache);
  tab.setSelection({4});
  tab.redrawNow();
  auto plots = tab.plots();
  ASSERT_EQ(plots[0]->graphCount(), 1);
  EXPECT_EQ(graphValues(plots[0]->graph(0)), passkeyByLength(evals).y);
  ASSERT_EQ(plots[2]->graphCount(), 2);  // one curve per length
  EXPECT_EQ(plots[2]->graph(1)->name(), "#4 yarn-x8 · L=1024");
  std::vector<double> want;
  for (const auto& e : evals)
    if (e.task == "kvretrieval" && e.x == 1024) want.push_back(e.value);
  EXPECT_EQ(graphValues(plots[2]->graph(1)), want);
  EXPECT_TRUE(tab.csv().startsWith("run,name,task,mode,length,y,accuracy,trials,correct,step\n"));
  EXPECT_EQ(tab.csv().count('\n'), 1 + static_cast<int>(evals.size()));
}

TEST(RetrievalTab, EmptyStateNamesTheVerb) {
  DataCache cache;
  fixture::load(cache, {fixture::run(4, "plain", json::object())});
  fixture::details(cache, 4, {}, {});
  RetrievalTab tab(&cache);
  tab.setSelection({4});
  tab.redrawNow();
  EXPECT_TRUE(visibleMessages(tab.plots()[0]).contains("ctxlab-cli passkey --run N"));
  EXPECT_TRUE(visibleMessages(tab.plots()[1]).contains("ctxlab-cli needle --run N"));
  EXPECT_TRUE(visibleMessages(tab.plots()[2]).contains("ctxlab-cli kvretrieval --run N"));
}

// ---------------------------------------------------------------- screenshots

TEST(AnalysisScreens, RenderWithRealisticFixtures) {
  DataCache cache;
  fixture::load(cache, {fixture::run(7, "yarn-capture", json::object()), fixture::run(4, "yarn-x8", json::object()),
                        fixture::run(5, "pi-x8", json::object())});
  fixture::details(cache, 7, fixture::attentionEvals(), fixture::attentionFixture());
  fixture::details(cache, 4, fixture::retrievalFixture(0.9, false), {});
  fixture::details(cache, 5, fixture::retrievalFixture(0.6, true), {});
  AttentionTab att(&cache);
  att.setSelection({7});
  att.setLayer(1);
  shoot(att, "attention");
  att.setLogColor(true);
  att.setHead(1);
  shoot(att, "attention-log-head1");
  RetrievalTab ret(&cache);
  ret.setSelection({4, 5});
  shoot(ret, "retrieval-two");
}

TEST(AnalysisScreens, FrequenciesFromTheRealRopeVerb) {
  if (!QFileInfo(cliPath()).isExecutable()) GTEST_SKIP() << "no ctxlab-cli at " << cliPath().toStdString();
  // Stored runs need checkpoints for `rope --run`; the presets' configs give the same curves
  // (CLEX untrained), so the runner answers `--run N` with `--config PRESET`.
  const std::map<QString, QString> preset{{"1", "pi"}, {"2", "ntk"}, {"3", "yarn"}, {"4", "clex"}};
  DataCache cache;
  std::vector<ctx::store::RunSummary> runs;
  for (const auto& [id, name] : preset) {
    QFile f(QString(CTXLAB_PRESETS) + "/" + name + ".json");
    ASSERT_TRUE(f.open(QIODevice::ReadOnly));
    const auto cfg = json::parse(f.readAll().toStdString());
    runs.push_back(fixture::run(id.toLongLong(), cfg.value("name", name.toStdString()), cfg));
  }
  fixture::load(cache, runs);
  FrequenciesTab tab(&cache);
  tab.setCliRunner([&](QObject* ctx, const QStringList& args, std::function<void(const CliResult&)> done) {
    runCli(ctx, {"rope", "--config", QString(CTXLAB_PRESETS) + "/" + preset.at(args.at(2)) + ".json", "--length", args.at(4)}, done);
  });
  tab.setSelection({1, 2, 3, 4});
  tab.resize(1200, 750);
  tab.show();
  tab.redrawNow();
  ASSERT_TRUE(waitFor([&] {
    tab.redrawNow();
    return !tab.statusText().contains("computing") && tab.plots()[3]->graphCount() == 8;
  }, 60000)) << tab.statusText().toStdString();
  // The real YaRN x4 at 1024: its ramp runs from 1 (high frequencies kept) to 0 (divided by 4).
  const RopeCurves* y = tab.curves(3, 1024);
  ASSERT_NE(y, nullptr);
  EXPECT_NEAR(y->ramp.front(), 1.0, 1e-9);
  EXPECT_NEAR(y->ramp.back(), 0.0, 1e-9);
  EXPECT_NEAR(tab.curves(1, 1024)->ratio[5], 0.25, 1e-12);  // PI: 1/s everywhere
  shoot(tab, "frequencies");
}
