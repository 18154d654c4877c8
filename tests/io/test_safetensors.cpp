// Safetensors against the reference fixtures (transformers 5.17 / safetensors 0.8): folders open,
// shapes follow the config, bf16 shards = PyTorch's rounding, our writer = the reference bytes.
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "safetensors_test_util.h"

using namespace ctx::io;
using st_test::model_dir;
using st_test::read_file;

namespace {

std::vector<int64_t> shape_of(const SafetensorsSet& set, const std::string& name) {
  return set.at(name).info->shape;
}

// The tensors of an opened folder, to hand to the writer.
std::vector<TensorToWrite> to_write(const SafetensorsSet& set,
                                    const std::vector<std::string>& names) {
  std::vector<TensorToWrite> out;
  for (const auto& name : names) {
    const TensorRef ref = set.at(name);
    out.push_back({name, ref.info->dtype, ref.info->shape, ref.data(), ref.info->nbytes()});
  }
  return out;
}

// Llama's state-dict order (how transformers hands tensors to the sharder).
std::vector<std::string> llama_state_dict_order(int layers) {
  std::vector<std::string> names = {"model.embed_tokens.weight"};
  for (int i = 0; i < layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    for (const char* n : {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                          "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj",
                          "input_layernorm", "post_attention_layernorm"}) {
      names.push_back(p + n + ".weight");
    }
  }
  names.push_back("model.norm.weight");
  names.push_back("lm_head.weight");
  return names;
}

}  // namespace

TEST(SafetensorsFixtures, EveryModelFolderOpens) {
  for (const char* name : {"llama-gqa", "llama-bf16-shards", "qwen2-tied", "mistral"}) {
    SCOPED_TRACE(name);
    const SafetensorsSet set = open_folder(model_dir(name));
    EXPECT_GT(set.size(), 0u);
    for (const auto& f : set.files()) EXPECT_EQ(f.metadata().at("format"), "pt");
  }
}

TEST(SafetensorsFixtures, LlamaGqaNamesAndShapesFollowTheConfig) {
  const SafetensorsSet set = open_folder(model_dir("llama-gqa"));
  EXPECT_FALSE(set.sharded());
  EXPECT_EQ(set.size(), 3u + 9u * 2u);
  // hidden 64, 4 heads x head_dim 24 = 96, 2 kv heads x 24 = 48, intermediate 128, vocab 384
  for (int i = 0; i < 2; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    EXPECT_EQ(shape_of(set, p + "self_attn.q_proj.weight"), (std::vector<int64_t>{96, 64}));
    EXPECT_EQ(shape_of(set, p + "self_attn.k_proj.weight"), (std::vector<int64_t>{48, 64}));
    EXPECT_EQ(shape_of(set, p + "self_attn.v_proj.weight"), (std::vector<int64_t>{48, 64}));
    EXPECT_EQ(shape_of(set, p + "self_attn.o_proj.weight"), (std::vector<int64_t>{64, 96}));
    EXPECT_EQ(shape_of(set, p + "mlp.gate_proj.weight"), (std::vector<int64_t>{128, 64}));
    EXPECT_EQ(shape_of(set, p + "mlp.down_proj.weight"), (std::vector<int64_t>{64, 128}));
    EXPECT_EQ(shape_of(set, p + "input_layernorm.weight"), (std::vector<int64_t>{64}));
    EXPECT_FALSE(set.find(p + "self_attn.q_proj.bias"));
  }
  EXPECT_EQ(shape_of(set, "model.embed_tokens.weight"), (std::vector<int64_t>{384, 64}));
  EXPECT_EQ(shape_of(set, "lm_head.weight"), (std::vector<int64_t>{384, 64}));
  for (const auto& t : set.files()[0].tensors()) EXPECT_EQ(t.dtype, Dtype::F32) << t.name;
  // The reference writer aligns every tensor: the mapped pointers are usable as float*.
  for (const auto& t : set.files()[0].tensors()) EXPECT_TRUE(set.files()[0].aligned(t)) << t.name;
}

TEST(SafetensorsFixtures, Qwen2HasQkvBiasesAndNoLmHead) {
  const SafetensorsSet set = open_folder(model_dir("qwen2-tied"));
  EXPECT_EQ(set.size(), 26u);
  EXPECT_FALSE(set.find("lm_head.weight"));
  EXPECT_EQ(shape_of(set, "model.layers.0.self_attn.q_proj.bias"), (std::vector<int64_t>{64}));
  EXPECT_EQ(shape_of(set, "model.layers.1.self_attn.k_proj.bias"), (std::vector<int64_t>{16}));
  EXPECT_EQ(shape_of(set, "model.layers.1.self_attn.v_proj.bias"), (std::vector<int64_t>{16}));
  EXPECT_FALSE(set.find("model.layers.0.self_attn.o_proj.bias"));
  EXPECT_THROW(set.at("lm_head.weight"), SafetensorsError);
}

TEST(SafetensorsFixtures, Bf16ShardsAreTheFp32WeightsRoundedByPyTorch) {
  const SafetensorsSet f32 = open_folder(model_dir("llama-gqa"));
  const SafetensorsSet bf16 = open_folder(model_dir("llama-bf16-shards"));
  EXPECT_TRUE(bf16.sharded());
  EXPECT_EQ(bf16.files().size(), 2u);
  EXPECT_EQ(f32.names(), bf16.names());
  size_t rounded_values = 0;
  for (const auto& name : f32.names()) {
    SCOPED_TRACE(name);
    const TensorRef a = f32.at(name), b = bf16.at(name);
    ASSERT_EQ(b.info->dtype, Dtype::BF16);
    ASSERT_EQ(a.info->shape, b.info->shape);
    const auto values = decode_to_f32(Dtype::F32, a.data(), a.info->nbytes());
    std::vector<uint16_t> ours(values.size());
    f32_to_bf16(values.data(), ours.data(), values.size());
    ASSERT_EQ(std::memcmp(ours.data(), b.data(), b.info->nbytes()), 0);
    for (float v : values) rounded_values += bf16_to_f32(f32_to_bf16(v)) != v;
  }
  EXPECT_GT(rounded_values, 100000u);  // the comparison did exercise rounding
}

TEST(SafetensorsFixtures, WriterReproducesTheReferenceFileByteForByte) {
  const SafetensorsSet set = open_folder(model_dir("llama-gqa"));
  const auto path = st_test::fresh_dir() / "model.safetensors";
  write_safetensors(path.string(), to_write(set, llama_state_dict_order(2)), {{"format", "pt"}});
  EXPECT_EQ(read_file(path), read_file(model_dir("llama-gqa") + "/model.safetensors"));
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));

  const SafetensorsSet qwen = open_folder(model_dir("qwen2-tied"));
  write_safetensors(path.string(), to_write(qwen, qwen.names()), {{"format", "pt"}});
  EXPECT_EQ(read_file(path), read_file(model_dir("qwen2-tied") + "/model.safetensors"));
}

TEST(SafetensorsFixtures, ShardingReproducesTheReferenceShardsAndIndex) {
  const SafetensorsSet bf16 = open_folder(model_dir("llama-bf16-shards"));
  const auto dir = st_test::fresh_dir();
  // transformers' max_shard_size="150KB" is 150 * 10^3 bytes.
  const auto written = write_sharded(dir.string(), to_write(bf16, llama_state_dict_order(2)),
                                     150000, {{"format", "pt"}});
  ASSERT_EQ(written, (std::vector<std::string>{"model-00001-of-00002.safetensors",
                                               "model-00002-of-00002.safetensors",
                                               "model.safetensors.index.json"}));
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(read_file(dir / written[i]),
              read_file(model_dir("llama-bf16-shards") + "/" + written[i]))
        << written[i];
  }
  auto ours = nlohmann::json::parse(read_file(dir / written[2]));
  auto ref = nlohmann::json::parse(read_file(model_dir("llama-bf16-shards") + "/" + written[2]));
  EXPECT_EQ(ours["weight_map"], ref["weight_map"]);
  EXPECT_EQ(ours["metadata"]["total_size"], ref["metadata"]["total_size"]);
}

TEST(SafetensorsFile, LookupDataAndAlignment) {
  const SafetensorsFile f(model_dir("llama-gqa") + "/model.safetensors");
  EXPECT_EQ(f.tensors().size(), 21u);
  for (size_t i = 1; i < f.tensors().size(); ++i) {
    EXPECT_LE(f.tensors()[i - 1].end, f.tensors()[i].begin);  // data order
  }
  const TensorInfo& norm = f.at("model.norm.weight");
  EXPECT_EQ(&norm, f.find("model.norm.weight"));
  EXPECT_EQ(f.find("nope"), nullptr);
  try {
    f.at("nope");
    FAIL();
  } catch (const SafetensorsError& e) {
    EXPECT_NE(std::string(e.what()).find("model.safetensors: no tensor 'nope'"), std::string::npos);
  }
  const AlignedBytes copy = f.copy_aligned(norm);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(copy.data()) % 64, 0u);
  ASSERT_EQ(copy.size(), 256u);
  EXPECT_EQ(std::memcmp(copy.data(), f.data(norm), 256), 0);
  // A TensorInfo that does not fit this file is refused, not read.
  TensorInfo bogus = norm;
  bogus.end = f.header().data_size + 4;
  EXPECT_THROW(f.data(bogus), SafetensorsError);
}

TEST(SafetensorsFile, UnalignedDataIsDetectedAndCopiedAligned) {
  // A header padded so that the data starts at an offset = 3 (mod 4): an F32 there is misaligned.
  std::string header = R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  while ((8 + header.size()) % 4 != 3) header += ' ';
  std::string bytes = st_test::le64(header.size()) + header;
  const float values[2] = {1.5f, -2.25f};
  bytes.append(reinterpret_cast<const char*>(values), 8);
  const auto path = st_test::write_file(st_test::fresh_dir() / "u.safetensors", bytes);
  const SafetensorsFile f(path);
  const TensorInfo& t = f.at("t");
  EXPECT_EQ((8 + header.size()) % 4, 3u);
  EXPECT_FALSE(f.aligned(t));
  const AlignedBytes copy = f.copy_aligned(t);
  EXPECT_EQ(copy.as<float>()[0], 1.5f);
  EXPECT_EQ(copy.as<float>()[1], -2.25f);
  EXPECT_EQ(decode_to_f32(t.dtype, f.data(t), t.nbytes()), (std::vector<float>{1.5f, -2.25f}));
}

TEST(SafetensorsFile, OpenErrorsNameTheFile) {
  const auto dir = st_test::fresh_dir();
  for (const std::string& path : {(dir / "missing.safetensors").string(), dir.string()}) {
    try {
      SafetensorsFile f(path);
      FAIL() << path;
    } catch (const SafetensorsError& e) {
      EXPECT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u) << e.what();
    }
  }
}

TEST(SafetensorsFile, MovedFileKeepsItsMapping) {
  SafetensorsFile a(model_dir("mistral") + "/model.safetensors");
  const TensorInfo first = a.tensors()[0];
  std::vector<uint8_t> before(a.data(first), a.data(first) + first.nbytes());
  SafetensorsFile b(std::move(a));
  EXPECT_EQ(std::memcmp(before.data(), b.data(b.at(first.name)), first.nbytes()), 0);
  SafetensorsFile c(model_dir("qwen2-tied") + "/model.safetensors");
  c = std::move(b);
  EXPECT_EQ(c.path(), model_dir("mistral") + "/model.safetensors");
  EXPECT_EQ(std::memcmp(before.data(), c.data(c.at(first.name)), first.nbytes()), 0);
}
