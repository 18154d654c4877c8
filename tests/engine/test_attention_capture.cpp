// Chunked attention capture against the explicit full map: pooled mean/max tiles, distance
// profile, entropy and sink mass equal plain-loop pooling of forward_with_attention's probabilities
// (uneven tiles, chunks that cut tiles, a bias scheme); rows sum to 1; the chunked block forward
// equals the fused one; bad requests are named; the store gets the documented names and shapes.
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <cmath>
#include <filesystem>

#include "eval/attention_capture.h"
#include "model/gpt.h"
#include "scheme_test_util.h"

namespace fs = std::filesystem;
using namespace ctx;

namespace {

// The probabilities [H, T, T] of `layer` through the model's explicit path, layer by layer.
torch::Tensor explicit_map(LanguageModel& m, const torch::Tensor& tokens, int64_t layer) {
  torch::NoGradGuard ng;
  const int64_t T = tokens.size(1);
  auto pos = torch::arange(T, torch::kFloat).unsqueeze(0);
  auto& scheme = m->position_scheme();
  scheme.prepare(pos);
  auto children = m->named_children();
  auto h = scheme.embed(children["tok"]->as<torch::nn::EmbeddingImpl>()->forward(tokens));
  auto* blocks = children["blocks"]->as<torch::nn::ModuleListImpl>();
  for (int64_t l = 0;; ++l) {
    auto* b = (*blocks)[static_cast<size_t>(l)]->as<GptBlockImpl>();
    auto [out, probs] = b->forward_with_attention(h, scheme);
    if (l == layer) return probs[0].to(torch::kDouble);
    h = out;
  }
}

struct Reference {
  torch::Tensor mean, max, distance, entropy, sink;
};

// Plain loops over the full map: the definitions of the store contract, written out.
Reference pool_by_hand(const torch::Tensor& P, int64_t G, int64_t sink_k) {
  const int64_t H = P.size(0), T = P.size(1);
  auto b = tile_bounds(T, G);
  auto e = distance_edges(T);
  const int64_t B = static_cast<int64_t>(e.size()) - 1;
  Reference r{torch::zeros({H, G, G}, torch::kDouble), torch::zeros({H, G, G}, torch::kDouble),
              torch::zeros({H, B}, torch::kDouble), torch::zeros({H, G}, torch::kDouble),
              torch::zeros({H, G}, torch::kDouble)};
  auto p = P.accessor<double, 3>();
  for (int64_t h = 0; h < H; ++h) {
    for (int64_t i = 0; i < G; ++i) {
      for (int64_t j = 0; j < G; ++j) {
        double s = 0, mx = 0;
        for (int64_t q = b[i]; q < b[i + 1]; ++q)
          for (int64_t k = b[j]; k < b[j + 1]; ++k) {
            s += p[h][q][k];
            mx = std::max(mx, p[h][q][k]);
          }
        r.mean[h][i][j] = s / static_cast<double>((b[i + 1] - b[i]) * (b[j + 1] - b[j]));
        r.max[h][i][j] = mx;
      }
      double ent = 0, sink = 0;
      for (int64_t q = b[i]; q < b[i + 1]; ++q)
        for (int64_t k = 0; k < T; ++k) {
          if (p[h][q][k] > 0) ent -= p[h][q][k] * std::log(p[h][q][k]);
          if (k < sink_k) sink += p[h][q][k];
        }
      r.entropy[h][i] = ent / static_cast<double>(b[i + 1] - b[i]);
      r.sink[h][i] = sink / static_cast<double>(b[i + 1] - b[i]);
    }
    for (int64_t q = 0; q < T; ++q)
      for (int64_t k = 0; k <= q; ++k) {
        const double d = static_cast<double>(q - k);
        int64_t bin = 0;
        while (!(d >= e[bin] && d < e[bin + 1])) ++bin;
        r.distance[h][bin] += p[h][q][k] / static_cast<double>(T);
      }
  }
  return r;
}

// Probabilities are compared to 2e-6. Entropies (sums of up to T float products, O(1)) get 1e-5:
// LibTorch 2.x's CPU kernels round differently from 1.13's (2.1e-6 seen there).
void expect_close(const torch::Tensor& got, const torch::Tensor& want, const std::string& what,
                  double tol = 2e-6) {
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  const double err = (got.to(torch::kDouble) - want).abs().max().item<double>();
  EXPECT_LT(err, tol) << what;
}

LanguageModel model_for(const nlohmann::json& position) {
  torch::manual_seed(4);
  auto m = make_language_model(tiny(position), nullptr, 259);
  torch::NoGradGuard ng;
  for (auto& t : m->position_scheme().parameters())
    t.normal_(0, 0.5);  // zero-initialised tables too
  // Sharper attention than the 0.02 init gives, so the maps are not nearly uniform.
  for (auto& p : m->named_parameters())
    if (p.key().find("wqkv") != std::string::npos) p.value().mul_(20);
  return m;
}

}  // namespace

TEST(AttentionCapture, PooledChunksEqualThePoolingOfTheFullMap) {
  for (const nlohmann::json& position : {nlohmann::json("rope"), nlohmann::json("alibi")}) {
    auto m = model_for(position);
    m->eval();
    const int64_t T = 37;
    auto tokens = torch::randint(0, 256, {1, T}, torch::kLong);
    std::vector<data::Token> probe(T);
    for (int64_t i = 0; i < T; ++i)
      probe[static_cast<size_t>(i)] = static_cast<data::Token>(tokens[0][i].item<int64_t>());
    for (int64_t grid : {8, 37, 300}) {
      for (int64_t chunk : {1, 5, 16, 64}) {
        CaptureOptions o;
        o.grid = grid;
        o.chunk = chunk;
        o.sink_k = 3;
        auto cap = capture_attention(m, probe, T, o, torch::kCPU);
        ASSERT_EQ(cap.layers.size(), 2u);
        const int64_t G = std::min(grid, T);
        EXPECT_EQ(cap.grid, G);
        for (int64_t layer : {0, 1}) {
          const auto label = position.dump() + " grid " + std::to_string(grid) + " chunk " +
                             std::to_string(chunk) + " layer " + std::to_string(layer);
          auto P = explicit_map(m, tokens, layer);
          // Every query's probabilities sum to 1 (the reference itself).
          EXPECT_LT((P.sum(-1) - 1).abs().max().item<double>(), 1e-5) << label;
          auto ref = pool_by_hand(P, G, 3);
          const auto& c = cap.layers[static_cast<size_t>(layer)];
          expect_close(c.mean, ref.mean, label + " mean");
          expect_close(c.max, ref.max, label + " max");
          expect_close(c.distance, ref.distance, label + " distance");
          expect_close(c.entropy, ref.entropy, label + " entropy", 1e-5);
          expect_close(c.sink, ref.sink, label + " sink");
          EXPECT_NEAR(c.sink_mass, (P.narrow(2, 0, 3).sum() / (2.0 * T)).item<double>(), 1e-6)
              << label;
          // Rows: the pooled mean times the tile areas gives each query tile its row count; the
          // distance profile sums to 1 per head.
          auto b = tile_bounds(T, G);
          auto w = torch::zeros({G}, torch::kDouble);
          for (int64_t i = 0; i < G; ++i) w[i] = static_cast<double>(b[i + 1] - b[i]);
          auto rows =
              (c.mean.to(torch::kDouble) * w.view({1, 1, -1})).sum(-1);  // [H, G]: = 1 per query
          EXPECT_LT((rows - 1).abs().max().item<double>(), 1e-5) << label;
          EXPECT_LT((c.distance.sum(-1) - 1).abs().max().item<double>(), 1e-5) << label;
        }
      }
    }
  }
}

TEST(AttentionCapture, HeadSubsetAndChunkedForward) {
  auto m = model_for("rope");
  m->eval();
  torch::NoGradGuard ng;
  const int64_t T = 29;
  std::vector<data::Token> probe(T);
  for (int64_t i = 0; i < T; ++i)
    probe[static_cast<size_t>(i)] = static_cast<data::Token>((i * 31) % 256);
  CaptureOptions all, one;
  all.grid = one.grid = 10;
  one.heads = {1};
  one.layers = {1};
  auto a = capture_attention(m, probe, T, all, torch::kCPU);
  auto b = capture_attention(m, probe, T, one, torch::kCPU);
  ASSERT_EQ(b.layers.size(), 1u);
  EXPECT_EQ(b.layers[0].mean.size(0), 1);
  expect_close(b.layers[0].mean, a.layers[1].mean.narrow(0, 1, 1).to(torch::kDouble), "head 1");

  auto x = torch::randn({1, T, 32});
  auto pos = torch::arange(T, torch::kFloat).unsqueeze(0);
  auto* block =
      m->named_children()["blocks"]->as<torch::nn::ModuleListImpl>()->ptr(0)->as<GptBlockImpl>();
  m->position_scheme().prepare(pos);
  auto full = block->forward(x, m->position_scheme());
  for (int64_t chunk : {1, 7, 29, 100})
    EXPECT_LT(
        (block->forward_chunked(x, m->position_scheme(), chunk) - full).abs().max().item<double>(),
        1e-5)
        << chunk;
}

// The capture a CUDA run makes during training (eval.attention_every) pools on the GPU and gives
// the CPU's maps; before the fix its accumulators stayed on the CPU and the first capture of any
// CUDA run failed ("Expected all tensors to be on the same device").
TEST(AttentionCapture, OnTheGpuEqualsTheCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  auto m = model_for("rope");
  const int64_t T = 29;
  std::vector<data::Token> probe(T);
  for (int64_t i = 0; i < T; ++i)
    probe[static_cast<size_t>(i)] = static_cast<data::Token>((i * 17) % 256);
  CaptureOptions o;
  o.grid = 8;
  o.chunk = 5;
  auto cpu = capture_attention(m, probe, T, o, torch::kCPU);
  m->to(torch::kCUDA);
  auto gpu = capture_attention(m, probe, T, o, torch::kCUDA);
  m->to(torch::kCPU);
  ASSERT_EQ(gpu.layers.size(), cpu.layers.size());
  for (size_t l = 0; l < cpu.layers.size(); ++l) {
    EXPECT_TRUE(gpu.layers[l].mean.device().is_cpu());
    EXPECT_LT((gpu.layers[l].mean - cpu.layers[l].mean).abs().max().item<double>(), 1e-4) << l;
    EXPECT_LT((gpu.layers[l].distance - cpu.layers[l].distance).abs().max().item<double>(), 1e-4);
    EXPECT_NEAR(gpu.layers[l].sink_mass, cpu.layers[l].sink_mass, 1e-4);
  }
}

TEST(AttentionCapture, BadRequestsAreNamed) {
  auto m = model_for("learned");  // 64 rows
  auto message = [&](std::vector<int64_t> lengths, int64_t probe, CaptureOptions o) -> std::string {
    try {
      check_capture_request(m, lengths, probe, o, "doc 0");
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  };
  CaptureOptions o;
  EXPECT_EQ(message({32, 64}, 100, o), "");
  EXPECT_NE(message({32, 128}, 200, o).find("length 128"), std::string::npos);
  EXPECT_NE(message({32, 128}, 200, o).find("64"), std::string::npos);
  EXPECT_NE(message({48}, 40, o).find("only 40 tokens"), std::string::npos);
  o.layers = {2};
  EXPECT_NE(message({32}, 100, o).find("layer 2"), std::string::npos);
  o.layers = {};
  o.heads = {0, 5};
  EXPECT_NE(message({32}, 100, o).find("head 5"), std::string::npos);
}

TEST(AttentionCapture, StoresTheDocumentedNamesAndShapes) {
  auto dir = fs::path(CTXLAB_TEST_TMP) / "attention";
  fs::create_directories(dir);
  auto path = (dir / "capture.db").string();
  for (auto s : {"", "-wal", "-shm"}) fs::remove(path + s);
  store::RunStore db(path);
  store::NewRun nr;
  nr.name = "cap";
  nr.config_json = "{}";
  const int64_t run = db.create_run(nr);
  auto m = model_for("rope");
  std::vector<data::Token> probe(100, 'a');
  CaptureOptions o;
  o.grid = 16;
  o.layers = {1};
  auto cap = capture_attention(m, probe, 40, o, torch::kCPU);
  db.transaction([&] { store_capture(db, run, 7, cap, "test probe"); });
  auto mean = db.artifact(run, "attention/40/1/mean");
  ASSERT_TRUE(mean);
  EXPECT_EQ(mean->step, 7);
  EXPECT_EQ(mean->shape, (std::vector<int64_t>{2, 16, 16}));
  EXPECT_EQ(db.artifact(run, "attention/40/1/max")->shape, (std::vector<int64_t>{2, 16, 16}));
  EXPECT_EQ(db.artifact(run, "attention/40/1/distance")->shape,
            (std::vector<int64_t>{2, 7}));  // 0,1,2,4,..,64
  EXPECT_EQ(db.artifact(run, "attention/40/distance_edges")->shape, (std::vector<int64_t>{8}));
  EXPECT_EQ(db.artifact(run, "attention/40/1/entropy")->shape, (std::vector<int64_t>{2, 16}));
  EXPECT_EQ(db.artifact(run, "attention/40/1/sink")->shape, (std::vector<int64_t>{2, 16}));
  auto ev = db.evals(run, "attention");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].mode, "capture");
  EXPECT_EQ(ev[0].x, 40.0);
  EXPECT_EQ(ev[0].y, 1.0);
  EXPECT_EQ(ev[0].metric, "sink_mass");
  auto extra = nlohmann::json::parse(ev[0].extra_json);
  EXPECT_EQ(extra["grid"], 16);
  EXPECT_EQ(extra["heads"], 2);
  EXPECT_EQ(extra["probe"], "test probe");
}
