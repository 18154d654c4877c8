// The llama family beyond the reference fixtures: every rope scaling, position scheme and training
// position sampler runs on it; grouped-query attention equals the same model with its key/value
// heads repeated; chunked attention equals full attention; a llama trained from scratch learns.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "methods/registry.h"
#include "model/llama.h"
#include "run_test_util.h"
#include "train/trainer.h"

namespace fs = std::filesystem;
using namespace ctx;

namespace {

nlohmann::json llama_model(int64_t kv_heads = 2) {
  return {{"arch", "llama"},  {"layers", 2},          {"d_model", 32},
          {"heads", 4},       {"kv_heads", kv_heads}, {"head_dim", 8},
          {"ffn_hidden", 48}, {"max_positions", 64},  {"tie_embeddings", false}};
}

RunConfig llama_config(const nlohmann::json& extra = nlohmann::json::object()) {
  nlohmann::json j{{"seed", 3},
                   {"model", llama_model()},
                   {"data", {{"builtin_docs", 8}, {"builtin_doc_tokens", 600}}},
                   {"train",
                    {{"seq_len", 32},
                     {"batch_size", 2},
                     {"steps", 2},
                     {"warmup", 1},
                     {"threads", 1},
                     {"lr", 1e-3},
                     {"checkpoint_every", 0}}},
                   {"eval", {{"enabled", false}}}};
  j.merge_patch(extra);
  return parse_run_config(j);
}

// What a scaling needs beyond its defaults on this model (4 rotary pairs, L0 64).
nlohmann::json scaling_block(const std::string& name) {
  nlohmann::json j{{"rope_type", name}};
  if (name != "clex" && name != "e2llm")
    j["factor"] = 2.0;  // those two take their scale per length
  if (name == "longrope") {
    j["short_factor"] = {1.0, 1.0, 1.0, 1.0};
    j["long_factor"] = {1.0, 1.5, 2.0, 2.0};
    j["original_max_position_embeddings"] = 64;
  }
  if (name == "llama3") j["original_max_position_embeddings"] = 64;
  return j;
}

torch::Tensor logits_at(LanguageModel& m, int64_t T) {
  torch::NoGradGuard ng;
  auto tokens = torch::randint(0, 259, {2, T}, torch::kLong);
  auto pos = torch::arange(T, torch::kFloat).unsqueeze(0).expand({2, T});
  return m->forward(tokens, pos);
}

std::string tmp_store(const std::string& name) {
  return scratch_store("llama-family", name);
}

class Quiet : public EventSink {};

}  // namespace

TEST(LlamaFamily, EveryRopeScalingRunsPastTheOriginalLength) {
  int scalings = 0;
  for (const auto& m : all_methods()) {
    if (m.kind != MethodKind::RopeScaling || m.name == "default") continue;
    auto c = llama_config({{"rope_scaling", scaling_block(m.name)}});
    torch::manual_seed(1);
    auto model = make_language_model(c.model, c.rope_scaling, 259);
    auto l = logits_at(model, 128);  // 2x the original 64
    EXPECT_TRUE(torch::isfinite(l).all().item<bool>()) << m.name;
    ++scalings;
  }
  EXPECT_GE(scalings, 9);
}

TEST(LlamaFamily, EveryPositionSchemeRunsAndCaptures) {
  int schemes = 0;
  for (const auto& m : all_methods()) {
    if (m.kind != MethodKind::Position) continue;
    auto model_json = llama_model();
    model_json["position"] = {{"type", m.name}};
    auto c = llama_config({{"model", model_json}});
    torch::manual_seed(1);
    auto model = make_language_model(c.model, c.rope_scaling, 259);
    auto l = logits_at(model, 48);
    EXPECT_TRUE(torch::isfinite(l).all().item<bool>()) << m.name;
    // Attention capture sees every query head (key/value heads repeated for their groups).
    int visited = 0;
    torch::NoGradGuard ng;
    model->visit_attention(torch::randint(0, 259, {1, 48}, torch::kLong),
                           torch::arange(48, torch::kFloat).unsqueeze(0), {0, 1},
                           [&](int64_t, const AttentionInputs& in) {
                             EXPECT_EQ(in.q.size(1), 4) << m.name;
                             EXPECT_EQ(in.k.size(1), 4) << m.name;
                             ++visited;
                           });
    EXPECT_EQ(visited, 2) << m.name;
    ++schemes;
  }
  EXPECT_EQ(schemes, 8);
}

TEST(LlamaFamily, EverySamplerTrainsALlama) {
  // Samplers tied to a scaling get it (CLEX's positions feed its ODE, E2-LLM's its g).
  const std::map<std::string, nlohmann::json> with = {
      {"clex", {{"rope_scaling", {{"rope_type", "clex"}, {"max_factor", 4}}}}},
      {"e2llm", {{"rope_scaling", {{"rope_type", "e2llm"}}}}},
      {"cream",
       {{"train", {{"seq_len", 96}}}}},  // relativity's head and tail need room in the window
  };
  int samplers = 0;
  for (const auto& m : all_methods()) {
    if (m.kind != MethodKind::Sampler) continue;
    nlohmann::json extra = with.count(m.name) ? with.at(m.name) : nlohmann::json::object();
    extra["train"]["positions"] = {{"type", m.name}};
    extra["model"] = llama_model();
    extra["model"]["max_positions"] = 256;
    RunConfig c;
    try {
      c = llama_config(extra);
    } catch (const ConfigError& e) {
      ADD_FAILURE() << m.name << ": " << e.what();
      continue;
    }
    store::RunStore db(tmp_store("sampler-" + m.name));
    auto cfg = c;
    auto prep = preflight(db, cfg);
    TrainRequest req;
    req.store = &db;
    req.run_id = create_run(db, cfg);
    req.config = cfg;
    req.prepared = prep;
    Quiet q;
    auto out = run_training(req, q);
    EXPECT_EQ(out.status, store::RunStatus::Finished) << m.name << ": " << out.error;
    ++samplers;
  }
  EXPECT_GE(samplers, 9);
}

TEST(LlamaFamily, GroupedQueryAttentionEqualsRepeatedKeyValueHeads) {
  auto gqa = llama_config();
  auto full = llama_config({{"model", llama_model(4)}});
  torch::manual_seed(5);
  auto a = make_language_model(gqa.model, nullptr, 259);
  auto b = make_language_model(full.model, nullptr, 259);
  {
    torch::NoGradGuard ng;
    auto pa = a->named_parameters();
    for (auto& p : b->named_parameters()) {
      auto src = pa[p.key()];
      if (p.key().find("k_proj") != std::string::npos ||
          p.key().find("v_proj") != std::string::npos) {
        // [2 heads * 8, 32] -> [4 heads * 8, 32]: each key/value head serves two query heads.
        src = src.view({2, 8, 32}).repeat_interleave(2, 0).reshape({32, 32});
      }
      p.value().copy_(src);
    }
  }
  torch::manual_seed(9);
  auto la = logits_at(a, 40);
  torch::manual_seed(9);
  auto lb = logits_at(b, 40);
  EXPECT_LT((la - lb).abs().max().item<double>(), 1e-5);
}

TEST(LlamaFamily, ChunkedAttentionEqualsFullAttention) {
  for (const std::string scheme : {"rope", "alibi"}) {
    auto model_json = llama_model();
    model_json["position"] = {{"type", scheme}};
    auto c = llama_config({{"model", model_json}});
    torch::manual_seed(2);
    auto m = make_language_model(c.model, c.rope_scaling, 259);
    auto* llama = dynamic_cast<LlamaLMImpl*>(m.get());
    ASSERT_NE(llama, nullptr);
    torch::NoGradGuard ng;
    auto x = torch::randn({2, 40, 32});
    m->position_scheme().prepare(torch::arange(40, torch::kFloat).unsqueeze(0).expand({2, 40}));
    auto full = llama->layer(0).forward(x, m->position_scheme());
    for (int64_t chunk : {1, 7, 16, 64})
      EXPECT_LT((llama->layer(0).forward(x, m->position_scheme(), {}, nullptr, chunk) - full)
                    .abs()
                    .max()
                    .item<double>(),
                1e-5)
          << scheme << " chunk " << chunk;
  }
}

TEST(LlamaFamily, TrainedFromScratchItLearns) {
  auto c =
      llama_config({{"train", {{"steps", 40}, {"batch_size", 8}, {"lr", 3e-3}, {"warmup", 4}}}});
  store::RunStore db(tmp_store("scratch"));
  auto prep = preflight(db, c);
  TrainRequest req;
  req.store = &db;
  req.run_id = create_run(db, c);
  req.config = c;
  req.prepared = prep;
  Quiet q;
  auto out = run_training(req, q);
  ASSERT_EQ(out.status, store::RunStatus::Finished) << out.error;
  auto loss = db.metric_series(req.run_id, "loss");
  ASSERT_EQ(loss.size(), 40u);
  // Bytes start at ln(259) = 5.56 nats; the built-in corpus' grammar is learnt quickly.
  EXPECT_GT(loss.front().value, 5.0);
  EXPECT_LT(loss.back().value, 3.5);
}
