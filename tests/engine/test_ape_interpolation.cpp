// Learned absolute table interpolation (METHODS.md §1): original rows land on multiples of k,
// neighbours are linear in between, and a run initialised from a shorter table gets it stretched.
#include <gtest/gtest.h>

#include <filesystem>

#include "model/absolute_positions.h"
#include "model/language_model.h"
#include "train/checkpoint.h"
#include "config/run_config.h"

TEST(ApeInterpolation, StretchPutsOriginalRowsOnMultiplesOfK) {
  auto E = torch::tensor({0.f, 10.f, 20.f, 40.f}).unsqueeze(1);  // 4 rows, 1 dim
  auto S = ctx::interpolate_table(E, 8, "stretch", "repeat").squeeze(1);
  const float expected[] = {0, 5, 10, 15, 20, 30, 40, 40};  // k = 2; E[4] := E[3]
  for (int p = 0; p < 8; ++p) EXPECT_FLOAT_EQ(S[p].item<float>(), expected[p]) << p;
  auto X = ctx::interpolate_table(E, 8, "stretch", "extrapolate").squeeze(1);
  EXPECT_FLOAT_EQ(X[7].item<float>(), 50.f);  // E[4] := 2E[3] - E[2] = 60, halfway from 40
  auto K4 = ctx::interpolate_table(E, 16, "stretch", "repeat").squeeze(1);
  EXPECT_FLOAT_EQ(K4[4].item<float>(), 10.f);
  EXPECT_FLOAT_EQ(K4[5].item<float>(), 12.5f);
  EXPECT_THROW(ctx::interpolate_table(E, 10, "stretch", "repeat"), ctx::PositionRangeError);
}

TEST(ApeInterpolation, EndpointKeepsFirstAndLastRows) {
  auto E = torch::tensor({0.f, 10.f, 20.f, 40.f}).unsqueeze(1);
  auto S = ctx::interpolate_table(E, 7, "endpoint", "repeat").squeeze(1);  // u = p * 3/6
  const float expected[] = {0, 5, 10, 15, 20, 30, 40};
  for (int p = 0; p < 7; ++p) EXPECT_NEAR(S[p].item<float>(), expected[p], 1e-5) << p;
}

TEST(ApeInterpolation, CheckpointOfAShorterTableIsStretchedOnLoad) {
  auto small = ctx::parse_run_config({{"model", {{"layers", 1}, {"d_model", 16}, {"heads", 2}, {"max_positions", 32},
                                                 {"position", "learned"}}}});
  auto big = small;
  big.model.max_positions = 128;
  auto a = ctx::make_language_model(small.model, nullptr, 259);
  auto b = ctx::make_language_model(big.model, nullptr, 259);
  auto dir = std::filesystem::path(CTXLAB_TEST_TMP) / "ape";
  std::filesystem::create_directories(dir);
  auto path = (dir / "short.pt").string();
  ctx::save_checkpoint(path, a, nullptr, 1, "{}");
  ctx::load_checkpoint(path, b);
  auto ta = dynamic_cast<ctx::LearnedPositions&>(a->position_scheme()).table();
  auto tb = dynamic_cast<ctx::LearnedPositions&>(b->position_scheme()).table();
  for (int q = 0; q < 32; ++q) EXPECT_TRUE(torch::equal(tb[4 * q], ta[q])) << q;
  EXPECT_TRUE(torch::allclose(tb[6], (ta[1] + ta[2]) / 2));
  // With interpolation off, the shorter table is refused with its shapes named.
  big.model.position_params["init_interpolation"] = "none";
  auto c = ctx::make_language_model(big.model, nullptr, 259);
  try {
    ctx::load_checkpoint(path, c);
    FAIL();
  } catch (const ctx::CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("pos.table"), std::string::npos) << e.what();
  }
}
