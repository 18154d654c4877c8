// Llama-family models loaded from Hugging Face folders against the logits transformers computed
// for the same weights (tests/fixtures/hf, made by tools/make_hf_fixtures.py): Llama with GQA,
// an explicit head_dim and an untied head; Qwen2 with q/k/v biases, MQA and a tied head; Mistral;
// linear, dynamic, YaRN and Llama-3 scalings, from config.json and as a config's override; bf16
// shards. Inside and beyond the original context, fp32, within 1e-4.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/run_config.h"
#include "io/npy.h"
#include "methods/rope_scaling.h"
#include "model/hf_weights.h"
#include "model/llama.h"
#include "store/file_tree.h"
#include "train/run_setup.h"

namespace fs = std::filesystem;
using namespace ctx;

namespace {

const fs::path kModels = fs::path(CTXLAB_FIXTURES) / "hf" / "models";

std::vector<std::vector<int64_t>> read_ids(const fs::path& p) {
  std::ifstream f(p);
  std::vector<std::vector<int64_t>> out;
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream in(line);
    std::vector<int64_t> s;
    for (int64_t id; in >> id;) s.push_back(id);
    if (!s.empty()) out.push_back(s);
  }
  return out;
}

RunConfig hf_config(const fs::path& folder,
                    const nlohmann::json& extra = nlohmann::json::object()) {
  nlohmann::json j{{"init", {{"hf", folder.string()}}}, {"data", {{"tokenizer", "byte"}}}};
  j.update(extra);
  return parse_run_config(j);
}

LanguageModel load(const RunConfig& c, const fs::path& weights) {
  auto m = build_model(c);
  load_hf_weights(weights.string(), m);
  m->eval();
  return m;
}

// Largest |ours - reference| over every sequence group of `ids` whose length has a logits file.
double max_error(LanguageModel& m, const fs::path& ids_file, const fs::path& logits_dir,
                 int* groups) {
  std::map<int64_t, std::vector<std::vector<int64_t>>> by_len;
  for (auto& s : read_ids(ids_file)) by_len[static_cast<int64_t>(s.size())].push_back(s);
  double worst = 0;
  torch::NoGradGuard ng;
  for (auto& [T, seqs] : by_len) {
    const auto file = logits_dir / ("logits-" + std::to_string(T) + ".npy");
    if (!fs::exists(file)) continue;
    auto ref = io::read_npy_f32(file.string());
    std::vector<int64_t> flat;
    for (auto& s : seqs) flat.insert(flat.end(), s.begin(), s.end());
    const auto B = static_cast<int64_t>(seqs.size());
    auto tokens = torch::tensor(flat, torch::kLong).view({B, T});
    auto pos = torch::arange(T, torch::kFloat).unsqueeze(0).expand({B, T});
    auto got = m->forward(tokens, pos);
    auto want = torch::from_blob(ref.data.data(), ref.shape, torch::kFloat);
    EXPECT_EQ(got.sizes(), want.sizes()) << file;
    if (got.sizes() != want.sizes()) continue;
    worst = std::max(worst, (got - want).abs().max().item<double>());
    ++*groups;
  }
  return worst;
}

void expect_parity(const std::string& what, LanguageModel& m, const fs::path& ids,
                   const fs::path& logits) {
  int groups = 0;
  const double err = max_error(m, ids, logits, &groups);
  EXPECT_GE(groups, 1) << what;
  EXPECT_LT(err, 1e-4) << what;
}

// A copy of llama-gqa whose config.json is one of the rope variants' (as transformers wrote it).
fs::path llama_variant_folder(const std::string& variant) {
  const fs::path dir = fs::path(CTXLAB_TEST_TMP) / "hf-variants" / variant;
  ctx::remove_tree(dir);
  fs::create_directories(dir);
  fs::copy_file(kModels / "llama-gqa" / "model.safetensors", dir / "model.safetensors");
  fs::copy_file(kModels / "llama-gqa" / "variants" / variant / "config.json", dir / "config.json");
  return dir;
}

}  // namespace

TEST(HfModels, LlamaGqaExplicitHeadDimUntiedHead) {
  const auto dir = kModels / "llama-gqa";
  auto c = hf_config(dir);
  EXPECT_EQ(c.model.arch, "llama");
  EXPECT_EQ(c.model.kv_head_count(), 2);
  EXPECT_EQ(c.model.head_dim(), 24);
  EXPECT_FALSE(c.model.tie_embeddings);
  auto m = load(c, dir);
  expect_parity("llama-gqa", m, dir / "ids.txt", dir);
}

TEST(HfModels, Qwen2BiasesMqaTiedHead) {
  const auto dir = kModels / "qwen2-tied";
  auto c = hf_config(dir);
  EXPECT_TRUE(c.model.qkv_bias);
  EXPECT_FALSE(c.model.o_bias);
  EXPECT_TRUE(c.model.tie_embeddings);
  EXPECT_EQ(c.model.kv_head_count(), 1);
  auto m = load(c, dir);
  expect_parity("qwen2-tied", m, dir / "ids.txt", dir);
}

TEST(HfModels, Mistral) {
  const auto dir = kModels / "mistral";
  auto m = load(hf_config(dir), dir);
  expect_parity("mistral", m, dir / "ids.txt", dir);
}

TEST(HfModels, RopeScalingsFromConfigJson) {
  for (const std::string v : {"linear", "dynamic", "yarn", "llama3"}) {
    const auto dir = llama_variant_folder(v);
    auto c = hf_config(dir);
    EXPECT_EQ(rope_scaling_name(c.rope_scaling), v);
    auto m = load(c, dir);
    expect_parity(v + " (config.json)", m, kModels / "llama-gqa" / "ids.txt",
                  kModels / "llama-gqa" / "variants" / v);
  }
}

TEST(HfModels, RopeScalingBlockInTheConfigReplacesTheModels) {
  // The folder is the plain llama-gqa; the run config pastes the variant's rope block.
  for (const std::string v : {"linear", "dynamic", "yarn"}) {
    std::ifstream f(kModels / "llama-gqa" / "variants" / v / "config.json");
    auto rope = nlohmann::json::parse(f)["rope_parameters"];
    rope.erase("rope_theta");
    auto c = hf_config(kModels / "llama-gqa", {{"rope_scaling", rope}});
    auto m = load(c, kModels / "llama-gqa");
    expect_parity(v + " (override)", m, kModels / "llama-gqa" / "ids.txt",
                  kModels / "llama-gqa" / "variants" / v);
  }
}

TEST(HfModels, Bf16ShardsWithIndex) {
  const auto dir = kModels / "llama-bf16-shards";
  auto c = hf_config(dir);
  EXPECT_EQ(c.model.weights_dtype, "bfloat16");
  auto m = load(c, dir);
  expect_parity("bf16 shards", m, dir / "ids.txt", dir);
}

TEST(HfModels, ParameterShapesMatchTheModule) {
  for (const std::string name : {"llama-gqa", "qwen2-tied", "mistral"}) {
    auto c = hf_config(kModels / name);
    auto m = build_model(c);
    std::map<std::string, std::vector<int64_t>> have;
    for (auto& p : m->named_parameters())
      if (p.key().rfind("pos.", 0) != 0) have[p.key()] = p.value().sizes().vec();
    auto shapes = llama_parameter_shapes(c.model, m->vocab_size());
    EXPECT_EQ(shapes.size(), have.size()) << name;
    for (auto& [k, s] : shapes) EXPECT_EQ(have[k], s) << name << " " << k;
  }
}

TEST(HfModels, TheComparisonSeesAWrongScaling) {
  // The same weights without the yarn scaling must miss yarn's logits past the original context:
  // the parity tests above would catch a scaling that is silently ignored.
  auto m = load(hf_config(kModels / "llama-gqa"), kModels / "llama-gqa");
  int groups = 0;
  const double err = max_error(m, kModels / "llama-gqa" / "ids.txt",
                               kModels / "llama-gqa" / "variants" / "yarn", &groups);
  EXPECT_EQ(groups, 2);
  EXPECT_GT(err, 1e-2);
}
