// train.precision, LoRA, activation checkpointing and the chunked loss (issue "GPU speed and
// long-sequence memory"), on the CPU: the precision flag parses and bf16 is refused there; merged
// LoRA weights give the adapters' logits and training moves only what LoRA trains; checkpointing
// gives the same gradients as plain backward; the chunked cross-entropy equals the full one in
// value and gradients; schemes that cannot recompute and unknown LoRA targets are refused by name.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "model/chunked_loss.h"
#include "model/llama.h"
#include "model/lora.h"
#include "run_test_util.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace fs = std::filesystem;
using namespace ctx;

namespace {

nlohmann::json config_json(const nlohmann::json& extra = nlohmann::json::object()) {
  return small_llama_config(extra);
}

std::string error_of(const nlohmann::json& j) {
  return config_error(j);
}

std::string tmp_store(const std::string& name) {
  return scratch_store("memory-options", name);
}

class Quiet : public EventSink {};

// One loss and every parameter's gradient.
std::map<std::string, torch::Tensor> gradients(LanguageModel& m, const torch::Tensor& tokens) {
  m->zero_grad();
  const int64_t T = tokens.size(1) - 1;
  auto pos = torch::arange(T, torch::kFloat).unsqueeze(0).expand({tokens.size(0), T});
  auto loss = m->loss(tokens.narrow(1, 0, T), pos, tokens.narrow(1, 1, T));
  loss.backward();
  std::map<std::string, torch::Tensor> g;
  for (auto& p : m->named_parameters())
    if (p.value().grad().defined()) g[p.key()] = p.value().grad().clone();
  g["(loss)"] = loss.detach().reshape({1});
  return g;
}

}  // namespace

TEST(Precision, ParsesAndBf16IsRefusedOnTheCpu) {
  auto c = parse_run_config(
      config_json({{"train", {{"precision", "bf16"}}}, {"eval", {{"precision", "bf16"}}}}));
  EXPECT_EQ(c.train.precision, "bf16");
  EXPECT_EQ(c.eval.precision, "bf16");
  EXPECT_NE(error_of(config_json({{"train", {{"precision", "fp16"}}}})).find("train.precision"),
            std::string::npos);
  store::RunStore db(tmp_store("bf16"));
  try {
    preflight(db, c);
    FAIL() << "bf16 on the CPU was not refused";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("train.precision: bf16 runs on a CUDA device"),
              std::string::npos)
        << e.what();
  }
  // bf16-weights: training only (evaluation is fp32 or autocast bf16), and CUDA only.
  auto w = parse_run_config(config_json({{"train", {{"precision", "bf16-weights"}}}}));
  EXPECT_EQ(w.train.precision, "bf16-weights");
  EXPECT_NE(error_of(config_json({{"eval", {{"precision", "bf16-weights"}}}})).find("eval.precision"),
            std::string::npos);
  try {
    preflight(db, w);
    FAIL() << "bf16-weights on the CPU was not refused";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("train.precision: bf16-weights runs on a CUDA device"), std::string::npos)
        << e.what();
  }
}

TEST(Lora, MergedWeightsGiveTheAdaptersLogits) {
  auto c = parse_run_config(config_json(
      {{"train",
        {{"lora", {{"rank", 4}, {"alpha", 8}, {"targets", {"q_proj", "v_proj", "down_proj"}}}}}}}));
  torch::manual_seed(1);
  auto m = make_language_model(c.model, nullptr, 259);
  EXPECT_EQ(apply_lora(*m, c.train.lora), 6);  // 3 targets x 2 layers
  {
    torch::NoGradGuard ng;
    for (auto& p : m->named_parameters())
      if (is_lora_parameter(p.key())) p.value().normal_(0, 0.2);  // B != 0: the adapters matter
  }
  m->eval();
  auto tokens = torch::randint(0, 259, {2, 24}, torch::kLong);
  auto pos = torch::arange(24, torch::kFloat).unsqueeze(0).expand({2, 24});
  torch::NoGradGuard ng;
  auto with_adapters = m->forward(tokens, pos);
  merge_lora(*m);
  auto merged = m->forward(tokens, pos);
  EXPECT_LT((with_adapters - merged).abs().max().item<double>(), 1e-5);
  // ... and the adapters now add nothing: the plain weights carry the fine-tune.
  for (auto& p : m->named_parameters()) {
    if (p.key().find("lora_B") != std::string::npos) {
      EXPECT_EQ(p.value().abs().max().item<double>(), 0.0);
    }
  }
}

TEST(Lora, TrainingMovesOnlyWhatLoraTrains) {
  auto c =
      parse_run_config(config_json({{"train", {{"lora", {{"rank", 4}, {"train_norms", true}}}}}}));
  store::RunStore db(tmp_store("lora"));
  auto prep = preflight(db, c);
  TrainRequest req;
  req.store = &db;
  req.run_id = create_run(db, c);
  req.config = c;
  req.prepared = prep;
  // The run starts from the same seed as this model: compare its last checkpoint with it.
  auto before = build_model(c);
  Quiet q;
  auto out = run_training(req, q);
  ASSERT_EQ(out.status, store::RunStatus::Finished) << out.error;
  auto after = build_model(c, WeightInit::Skip);
  load_checkpoint(*latest_checkpoint(db.get_run(req.run_id).run_dir), after);
  auto b = before->named_parameters();
  int moved = 0, frozen = 0;
  for (auto& p : after->named_parameters()) {
    const bool changed = !torch::equal(p.value(), b[p.key()]);
    const bool trains =
        is_lora_parameter(p.key()) || p.key().find("norm.weight") != std::string::npos;
    if (trains) {
      moved += changed;
    } else {
      EXPECT_FALSE(changed) << p.key() << " is frozen but changed";
      ++frozen;
    }
  }
  EXPECT_GT(moved, 10);
  EXPECT_GT(frozen, 10);
}

TEST(Lora, BadTargetsAndFamiliesAreRefused) {
  EXPECT_NE(error_of(config_json({{"train", {{"lora", {{"targets", {"q_proj", "qkv"}}}}}}}))
                .find("train.lora.targets[1]: 'qkv'"),
            std::string::npos);
  auto gpt = config_json({{"train", {{"lora", {{"rank", 2}}}}}});
  gpt["model"] = {{"layers", 1}, {"d_model", 32}, {"heads", 2}};
  EXPECT_NE(error_of(gpt).find("train.lora: adapters attach to the llama family"),
            std::string::npos);
}

TEST(Checkpointing, GivesTheSameGradientsAsPlainBackward) {
  for (const std::string arch : {"llama", "gpt"}) {
    for (const std::string scheme : {"rope", "alibi", "relative", "irpe", "learned"}) {
      auto j = config_json();
      if (arch == "gpt")
        j["model"] = {{"layers", 2}, {"d_model", 32}, {"heads", 4}, {"max_positions", 128}};
      j["model"]["position"] = {{"type", scheme}};
      auto c = parse_run_config(j);
      torch::manual_seed(3);
      auto m = make_language_model(c.model, c.rope_scaling, 259);
      {
        torch::NoGradGuard ng;
        for (auto& p : m->position_scheme().parameters())
          p.normal_(0, 0.3);  // zero-initialised tables too
      }
      m->train();
      auto tokens = torch::randint(0, 259, {2, 33}, torch::kLong);
      auto plain = gradients(m, tokens);
      m->set_checkpointing(true);
      auto recomputed = gradients(m, tokens);
      ASSERT_EQ(plain.size(), recomputed.size()) << arch << " " << scheme;
      for (auto& [k, g] : plain)
        EXPECT_LT((g - recomputed[k]).abs().max().item<double>(), 1e-6)
            << arch << " " << scheme << " " << k;
    }
  }
}

TEST(Checkpointing, SchemesThatCannotRecomputeAreRefused) {
  auto pia = config_json({{"train", {{"checkpointing", true}}}});
  pia["model"]["position"] = {{"type", "pia"}, {"cache", true}};
  EXPECT_NE(error_of(pia).find("train.checkpointing: model.position pia"), std::string::npos);
  auto clex = config_json(
      {{"train", {{"checkpointing", true}}}, {"rope_scaling", {{"rope_type", "clex"}}}});
  EXPECT_NE(error_of(clex).find("train.checkpointing: CLEX"), std::string::npos);
}

TEST(ChunkedLoss, EqualsTheFullCrossEntropyInValueAndGradients) {
  torch::manual_seed(4);
  const int64_t N = 37, d = 16, V = 50;
  auto h = torch::randn({N, d}, torch::requires_grad());
  auto W = torch::randn({V, d}, torch::requires_grad());
  auto t = torch::randint(0, V, {N}, torch::kLong);
  auto mask = (torch::rand({N}) > 0.3).to(torch::kFloat);
  for (bool masked : {false, true}) {
    auto full =
        masked ? (torch::nn::functional::cross_entropy(
                      torch::matmul(h, W.t()), t,
                      torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone)) *
                  mask)
                         .sum() /
                     mask.sum()
               : torch::nn::functional::cross_entropy(torch::matmul(h, W.t()), t);
    auto [gh, gw] = [&] {
      auto g = torch::autograd::grad({full}, {h, W});
      return std::make_pair(g[0], g[1]);
    }();
    for (int64_t chunk : {1, 5, 37, 100}) {
      auto chunked = chunked_cross_entropy(h, W, t, masked ? mask : torch::Tensor(), chunk);
      auto g = torch::autograd::grad({chunked * 3.0}, {h, W});  // a non-unit output gradient
      EXPECT_NEAR(chunked.item<double>(), full.item<double>(), 1e-5) << chunk;
      EXPECT_LT((g[0] - 3.0 * gh).abs().max().item<double>(), 1e-5) << chunk;
      EXPECT_LT((g[1] - 3.0 * gw).abs().max().item<double>(), 1e-5) << chunk;
    }
  }
  // Per-token losses, as evaluation reads them.
  torch::NoGradGuard ng;
  auto per_token = chunked_token_losses(h, W, t, 6);
  auto ref = torch::nn::functional::cross_entropy(
      torch::matmul(h, W.t()), t,
      torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  EXPECT_LT((per_token - ref).abs().max().item<double>(), 1e-5);
}

TEST(ChunkedLoss, TheModelTakesItWithoutChangingTheLoss) {
  auto c = parse_run_config(config_json());
  torch::manual_seed(6);
  auto m = make_language_model(c.model, nullptr, 259);
  auto tokens = torch::randint(0, 259, {2, 33}, torch::kLong);
  auto full = gradients(m, tokens);
  m->set_loss_chunk_rows(5);
  auto chunked = gradients(m, tokens);
  for (auto& [k, g] : full) EXPECT_LT((g - chunked[k]).abs().max().item<double>(), 1e-5) << k;
}
