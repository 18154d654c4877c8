// The window's Evaluate dialog: which modes it offers for the selected runs (randpos only when
// every one trained at randomized ids) and the ctxlab-cli arguments it queues.
#include <gtest/gtest.h>
#include <unistd.h>

#include <QCheckBox>
#include <QLineEdit>
#include <filesystem>

#include "app/evaluate_dialog.h"
#include "store/run_store.h"
#include "store_fixtures.h"

using namespace ctx::gui;
using nlohmann::json;

namespace {

int64_t add_run(ctx::store::RunStore& db, const std::string& name, const json& positions) {
  ctx::store::NewRun r;
  r.name = name;
  r.config_json =
      json{{"name", name}, {"train", {{"seq_len", 128}, {"positions", positions}}}}.dump();
  r.status = ctx::store::RunStatus::Finished;
  return db.create_run(r);
}

}  // namespace

TEST(EvaluateDialog, OffersRandposOnlyForRunsTrainedAtRandomizedIds) {
  const std::string path =
      std::string(CTXLAB_TEST_TMP) + "/evaluate-dialog-" + std::to_string(getpid()) + ".db";
  for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path + s);
  int64_t randomized = 0, contiguous = 0;
  {
    ctx::store::RunStore db(path);
    randomized = add_run(db, "randpos", {{"type", "randpos"}, {"factor", 4}, {"max_len", 0}});
    contiguous = add_run(db, "yarn", "contiguous");
  }
  storefix::Live live(path);
  ASSERT_TRUE(storefix::waitFor([&] { return live.cache.runIds().size() == 2; }));

  const auto one = evaluateTargets(live.cache, {randomized});
  ASSERT_EQ(one.size(), 1u);
  EXPECT_TRUE(one[0].randomized_ids);
  EvaluateDialog alone(one);
  ASSERT_NE(alone.modeBox("randpos"), nullptr);
  EXPECT_TRUE(alone.modeBox("randpos")->isEnabled());
  alone.modeBox("randpos")->setChecked(true);
  alone.modeBox("nonoverlap")->setChecked(true);
  alone.lengthsEdit()->setText(" 128, 256 ,512 ");
  EXPECT_EQ(alone.lengths(), "128,256,512");
  EXPECT_EQ(alone.modes(), (QStringList{"nonoverlap", "randpos"}));  // in the order shown
  EXPECT_EQ(evaluateArgs(randomized, alone.lengths(), alone.modes()),
            (QStringList{"eval", "--run", QString::number(randomized), "--lengths", "128,256,512",
                         "--mode", "nonoverlap,randpos"}));

  // With a run at contiguous ids among the selection, randpos is not offered (nor passed on).
  const auto both = evaluateTargets(live.cache, {randomized, contiguous});
  ASSERT_EQ(both.size(), 2u);
  EXPECT_FALSE(both[1].randomized_ids);
  EvaluateDialog mixed(both);
  EXPECT_FALSE(mixed.modeBox("randpos")->isEnabled());
  EXPECT_NE(mixed.modeBox("randpos")->toolTip().indexOf("train.positions randpos"), -1);
  mixed.modeBox("randpos")->setChecked(true);
  mixed.modeBox("sliding")->setChecked(true);
  EXPECT_EQ(mixed.modes(), QStringList{"sliding"});

  // Nothing ticked: no --mode, so each run's configured modes apply.
  EvaluateDialog plain(both);
  EXPECT_TRUE(plain.modes().isEmpty());
  EXPECT_EQ(evaluateArgs(contiguous, plain.lengths(), plain.modes()),
            (QStringList{"eval", "--run", QString::number(contiguous), "--lengths",
                         "128,256,512,1024,2048"}));
}
