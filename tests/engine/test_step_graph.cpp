// train.cuda_graph (train/step_graph.h, train/graphed_passes.h). On the CPU: the key parses, the
// combinations a graph cannot hold are refused by name, and the CPU itself is refused. On CUDA
// (skipped elsewhere): replayed passes over inputs refilled in place equal eager passes over the
// same inputs (loss and every gradient, nothing accumulated across replays, fp32 and bf16-weights),
// a new shape is captured again, and a run trained with the graph logs the losses of the same run
// trained without it.
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <map>
#include <vector>

#include "model/language_model.h"
#include "run_test_util.h"
#include "train/bf16_weights.h"
#include "train/graphed_passes.h"
#include "train/precision.h"
#include "train/step_graph.h"
#include "train/trainer.h"

using namespace ctx;

namespace {

// The shared small llama at d 64, trained through a graph for 8 steps of 4 x 48 tokens.
nlohmann::json config_json(const nlohmann::json& extra = nlohmann::json::object()) {
  auto j = small_llama_config(
      {{"model", {{"d_model", 64}, {"ffn_hidden", 96}}},
       {"data", {{"builtin_docs", 8}, {"builtin_doc_tokens", 600}}},
       {"train",
        {{"seq_len", 48}, {"batch_size", 4}, {"steps", 8}, {"lr", 3e-3}, {"cuda_graph", true}}}});
  j.merge_patch(extra);
  return j;
}

std::string error_of(const nlohmann::json& j) {
  return config_error(j);
}

std::string tmp_store(const std::string& name) {
  return scratch_store("step-graph", name);
}

class Messages : public EventSink {
 public:
  void on_message(const std::string& level, const std::string& text) override {
    lines.push_back(level + ": " + text);
  }
  std::vector<std::string> lines;
};

data::Batch random_batch(int64_t rows, int64_t seq, uint64_t seed) {
  torch::manual_seed(seed);
  data::Batch b;
  b.batch = rows;
  b.seq = seq;
  auto tok = torch::randint(0, 97, {rows * seq}, torch::kLong).contiguous();
  auto tg = torch::randint(0, 97, {rows * seq}, torch::kLong).contiguous();
  auto mask = (torch::rand({rows * seq}) > 0.2).to(torch::kFloat).contiguous();
  b.tokens.assign(tok.data_ptr<int64_t>(), tok.data_ptr<int64_t>() + tok.numel());
  b.targets.assign(tg.data_ptr<int64_t>(), tg.data_ptr<int64_t>() + tg.numel());
  b.loss_mask.assign(mask.data_ptr<float>(), mask.data_ptr<float>() + mask.numel());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t t = 0; t < seq; ++t)
      b.positions.push_back(static_cast<float>(t) * 0.75f + r);  // fractional ids
  return b;
}

struct Pass {
  double loss = 0;
  std::map<std::string, torch::Tensor> grads;
};

Pass read_pass(LanguageModel& m, const torch::Tensor& loss) {
  Pass out;
  out.loss = loss.item<double>();
  for (const auto& kv : m->named_parameters())
    if (kv.value().grad().defined())
      out.grads[kv.key()] = kv.value().grad().to(torch::kFloat).clone();
  return out;
}

Pass eager(LanguageModel& m, Bf16Weights* bw, const std::string& precision, const data::Batch& b) {
  const std::vector<int64_t> shape = {b.batch, b.seq};
  auto dev = torch::Device(torch::kCUDA);
  auto host = [&](const auto& v, torch::ScalarType t) {
    return torch::from_blob(const_cast<void*>(static_cast<const void*>(v.data())), shape, t)
        .to(dev);
  };
  m->zero_grad();
  torch::Tensor loss;
  {
    Bf16Weights::Scope passes(bw);
    {
      PrecisionScope scope(precision, dev);
      loss = m->loss(host(b.tokens, torch::kLong), host(b.positions, torch::kFloat),
                     host(b.targets, torch::kLong), host(b.loss_mask, torch::kFloat));
    }
    loss.backward();
  }
  return read_pass(m, loss);
}

void expect_same(const Pass& graphed, const Pass& plain, double tol, const std::string& what) {
  EXPECT_NEAR(graphed.loss, plain.loss, tol * std::abs(plain.loss)) << what;
  ASSERT_EQ(graphed.grads.size(), plain.grads.size()) << what;
  for (const auto& [name, g] : plain.grads) {
    ASSERT_TRUE(graphed.grads.count(name)) << what << " " << name;
    const double rel = ((graphed.grads.at(name) - g).norm() / (g.norm() + 1e-12)).item<double>();
    EXPECT_LT(rel, tol) << what << " " << name;
  }
}

}  // namespace

TEST(CudaGraph, KeyParsesAndWhatAGraphCannotHoldIsRefused) {
  auto c = parse_run_config(config_json());
  EXPECT_TRUE(c.train.cuda_graph);
  EXPECT_FALSE(
      parse_run_config(config_json({{"train", {{"cuda_graph", false}}}})).train.cuda_graph);
  EXPECT_NE(error_of(config_json({{"train", {{"cuda_graph", "yes"}}}})).find("train.cuda_graph"),
            std::string::npos);
  EXPECT_NE(
      error_of(config_json({{"train", {{"grad_accum", 2}}}}))
          .find(
              "train.cuda_graph: the graph holds one micro-batch's passes (train.grad_accum is 2"),
      std::string::npos);
  EXPECT_NE(error_of(config_json({{"train", {{"context_parallel", 2}}}}))
                .find("train.cuda_graph: one process only (train.context_parallel is 2)"),
            std::string::npos);
  auto pia = config_json();
  pia["model"]["position"] = {{"type", "pia"}, {"cache", true}};
  EXPECT_NE(error_of(pia).find("train.cuda_graph: model.position pia with its cache"),
            std::string::npos);
  // Schemes that read the ids back on the host at every pass; length-dependent RoPE scalings.
  for (const char* scheme : {"learned", "relative", "irpe"}) {
    auto j = config_json();
    j["model"]["position"] = {{"type", scheme}};
    EXPECT_NE(error_of(j).find(std::string("train.cuda_graph: model.position ") + scheme +
                               " reads the ids back"),
              std::string::npos)
        << scheme;
  }
  const std::vector<nlohmann::json> length_dependent = {
      {{"rope_type", "dynamic"}, {"factor", 4}},
      {{"rope_type", "dynamic_yarn"}, {"factor", 4}},
      {{"rope_type", "e2llm"}},
      {{"rope_type", "clex"}}};
  for (const auto& scaling : length_dependent) {
    const auto name = scaling["rope_type"].get<std::string>();
    const auto err = error_of(config_json({{"rope_scaling", scaling}}));
    EXPECT_NE(err.find("train.cuda_graph: rope_scaling '" + name + "' depends on the length"),
              std::string::npos)
        << name << ": " << err;
  }
  for (const char* scaling : {"linear", "yarn", "ntk"})  // length-free: accepted
    EXPECT_EQ(error_of(config_json({{"rope_scaling", {{"rope_type", scaling}, {"factor", 4}}}})),
              "")
        << scaling;
  for (const char* scheme : {"alibi", "sinusoidal", "nope"}) {
    auto j = config_json();
    j["model"]["position"] = {{"type", scheme}};
    EXPECT_EQ(error_of(j), "") << scheme;
  }
  // The CPU: refused before anything is stored.
  store::RunStore db(tmp_store("cpu"));
  try {
    preflight(db, c);
    FAIL() << "train.cuda_graph on the CPU was not refused";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("train.cuda_graph: CUDA graphs need a CUDA device"),
              std::string::npos)
        << e.what();
  }
  if (!StepGraph::supported()) {
    StepGraph g;
    EXPECT_THROW(g.capture([] {}, {}), std::runtime_error);
    EXPECT_FALSE(g.captured());
  }
}

TEST(CudaGraph, ReplayedPassesEqualEagerPassesOnRefilledInputs) {
  if (!torch::cuda::is_available() || !StepGraph::supported())
    GTEST_SKIP() << "no CUDA device or no CUDA graphs";
  for (const std::string precision : {"fp32", "bf16-weights"}) {
    auto cfg = parse_run_config(config_json());
    torch::manual_seed(3);
    auto m = make_language_model(cfg.model, nullptr, 97);
    m->to(torch::kCUDA);
    m->train();
    std::unique_ptr<Bf16Weights> bw;
    if (precision == "bf16-weights") bw = std::make_unique<Bf16Weights>(*m);
    GraphedPasses graphed(m, bw.get(), precision, torch::kCUDA);
    // fp32: the same kernels, only atomics may reorder sums; bf16 copies: the same, in bf16.
    const double tol = precision == "fp32" ? 1e-5 : 2e-2;
    int64_t seed = 11;
    for (const int64_t seq : {48, 48, 48, 32}) {  // the last one: a new shape, captured again
      const auto b = random_batch(4, seq, static_cast<uint64_t>(seed++));
      auto loss = graphed.run(b);
      ASSERT_TRUE(loss.has_value()) << precision << ": " << graphed.failure();
      const auto g = read_pass(m, *loss);
      const auto again = read_pass(m, *graphed.run(b));  // a second replay: nothing accumulates
      const auto plain = eager(m, bw.get(), precision, b);
      const std::string what =
          precision + " seq " + std::to_string(seq) + " seed " + std::to_string(seed);
      expect_same(g, plain, tol, what);
      expect_same(again, g, 1e-3, what + " (replayed twice)");  // accumulated would be 2x
    }
    graphed.release();
    for (const auto& p : m->parameters()) EXPECT_FALSE(p.grad().defined());
  }
}

TEST(CudaGraph, ARunTrainedThroughTheGraphLogsTheLossesOfOneTrainedWithout) {
  if (!torch::cuda::is_available() || !StepGraph::supported())
    GTEST_SKIP() << "no CUDA device or no CUDA graphs";
  for (const std::string precision : {"fp32", "bf16-weights"}) {
    std::vector<double> losses[2];
    for (const bool graph : {false, true}) {
      auto cfg = parse_run_config(config_json(
          {{"train", {{"device", "cuda"}, {"precision", precision}, {"cuda_graph", graph}}}}));
      store::RunStore db(tmp_store(precision + (graph ? "-graph" : "-eager")));
      TrainRequest r;
      r.store = &db;
      r.config = cfg;
      r.run_id = create_run(db, cfg);
      Messages messages;
      const auto out = run_training(r, messages);
      ASSERT_EQ(out.status, store::RunStatus::Finished) << out.error;
      for (const auto& line : messages.lines)
        EXPECT_EQ(line.find("train.cuda_graph"), std::string::npos) << line;  // no failed capture
      for (const auto& p : db.metric_series(r.run_id, "loss")) losses[graph].push_back(p.value);
    }
    ASSERT_EQ(losses[0].size(), 8u) << precision;
    ASSERT_EQ(losses[1].size(), 8u) << precision;
    const double tol = precision == "fp32" ? 1e-4 : 2e-2;
    for (size_t i = 0; i < 8; ++i)
      EXPECT_NEAR(losses[1][i], losses[0][i], tol * losses[0][i]) << precision << " step " << i + 1;
    EXPECT_LT(losses[1].back(), losses[1].front()) << precision;  // it trained
  }
}
