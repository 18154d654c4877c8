// config.json: the reference fixtures (transformers 5's rope_parameters format) parse, the classic
// format gives the same struct, write -> read round trips, and each bad config gets its error.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "config/json_strict.h"
#include "io/hf_config.h"
#include "io/safetensors.h"
#include "safetensors_test_util.h"

using ctx::io::count_parameters;
using ctx::io::hf_config_from_json;
using ctx::io::HfConfigError;
using ctx::io::HfModelConfig;
using ctx::io::read_hf_config;
using ctx::io::write_hf_config;
using nlohmann::json;
using st_test::model_dir;

namespace {

json fixture_json(const std::string& dir) {
  return ctx::parse_json_strict(st_test::read_file(dir + "/config.json"), dir);
}

HfModelConfig parse(const json& j) {
  return hf_config_from_json(j, "config.json");
}

std::string error_of(const json& j) {
  try {
    parse(j);
  } catch (const HfConfigError& e) {
    return e.what();
  }
  return "";
}

void expect_error(const json& j, const std::string& needle) {
  const std::string msg = error_of(j);
  EXPECT_NE(msg.find(needle), std::string::npos) << "message: " << msg << "\nwanted: " << needle;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

// transformers 5's rope_parameters rewritten as rope_theta + rope_scaling (legacy key if asked).
json to_classic(json j, bool legacy_type_key = false) {
  json p = j["rope_parameters"];
  j.erase("rope_parameters");
  j["rope_theta"] = p["rope_theta"];
  p.erase("rope_theta");
  if (p["rope_type"] == "default") {
    j["rope_scaling"] = nullptr;
  } else {
    if (legacy_type_key) {
      p["type"] = p["rope_type"];
      p.erase("rope_type");
    }
    j["rope_scaling"] = p;
  }
  return j;
}

const char* const kVariants[] = {"linear", "dynamic", "yarn", "llama3"};

std::string variant_dir(const std::string& v) {
  return model_dir("llama-gqa") + "/variants/" + v;
}

}  // namespace

TEST(HfConfig, LlamaGqaFixture) {
  const HfModelConfig c = read_hf_config(model_dir("llama-gqa"));
  EXPECT_EQ(c.architecture, "LlamaForCausalLM");
  EXPECT_EQ(c.model_type, "llama");
  EXPECT_EQ(c.vocab_size, 384);
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.intermediate_size, 128);
  EXPECT_EQ(c.num_hidden_layers, 2);
  EXPECT_EQ(c.num_attention_heads, 4);
  EXPECT_EQ(c.num_key_value_heads, 2);
  EXPECT_EQ(c.head_dim, 24);  // explicit, not 64 / 4
  EXPECT_EQ(c.rms_norm_eps, 1e-5);
  EXPECT_EQ(c.max_position_embeddings, 64);
  EXPECT_EQ(c.rope_theta, 10000.0);
  EXPECT_TRUE(c.rope_scaling.is_null());
  EXPECT_EQ(c.rope_type(), "default");
  EXPECT_EQ(c.partial_rotary_factor, 1.0);
  EXPECT_FALSE(c.qkv_bias || c.o_bias || c.mlp_bias || c.tie_word_embeddings);
  EXPECT_FALSE(c.sliding_window);
  EXPECT_EQ(c.bos_token_id, (std::vector<int64_t>{0}));
  EXPECT_EQ(c.eos_token_id, (std::vector<int64_t>{1}));
  EXPECT_EQ(c.dtype, "float32");
  EXPECT_EQ(count_parameters(c), 135488);  // transformers' sum of p.numel() (report.json)
  EXPECT_EQ(read_hf_config(model_dir("llama-bf16-shards")).dtype, "bfloat16");
}

TEST(HfConfig, Qwen2AndMistralFixtures) {
  const HfModelConfig q = read_hf_config(model_dir("qwen2-tied"));
  EXPECT_EQ(q.architecture, "Qwen2ForCausalLM");
  EXPECT_TRUE(q.qkv_bias);
  EXPECT_FALSE(q.o_bias || q.mlp_bias);
  EXPECT_TRUE(q.tie_word_embeddings);
  EXPECT_EQ(q.num_key_value_heads, 1);
  EXPECT_EQ(q.head_dim, 16);
  EXPECT_EQ(q.rope_theta, 1e6);
  EXPECT_EQ(q.rms_norm_eps, 1e-6);
  EXPECT_TRUE(q.bos_token_id.empty() && q.eos_token_id.empty());
  EXPECT_FALSE(q.sliding_window);

  const HfModelConfig m = read_hf_config(model_dir("mistral"));
  EXPECT_EQ(m.architecture, "MistralForCausalLM");
  EXPECT_EQ(m.head_dim, 8);
  EXPECT_EQ(m.num_key_value_heads, 2);
  EXPECT_FALSE(m.sliding_window);  // "sliding_window": null
  EXPECT_FALSE(m.qkv_bias || m.o_bias || m.mlp_bias);
}

TEST(HfConfig, ParameterCountMatchesTheTensors) {
  for (const char* name : {"llama-gqa", "llama-bf16-shards", "qwen2-tied", "mistral"}) {
    const auto set = ctx::io::open_folder(model_dir(name));
    int64_t numel = 0;
    for (const auto& f : set.files()) {
      for (const auto& t : f.tensors()) numel += static_cast<int64_t>(t.numel());
    }
    EXPECT_EQ(count_parameters(read_hf_config(model_dir(name))), numel) << name;
  }
}

TEST(HfConfig, RopeVariantsInRopeParametersFormat) {
  // The variant configs carry no "architectures": model_type "llama" says which model it is.
  const HfModelConfig linear = read_hf_config(variant_dir("linear"));
  EXPECT_EQ(linear.architecture, "LlamaForCausalLM");
  EXPECT_EQ(linear.rope_scaling, json({{"rope_type", "linear"}, {"factor", 2.0}}));
  EXPECT_EQ(read_hf_config(variant_dir("dynamic")).rope_scaling,
            json({{"rope_type", "dynamic"}, {"factor", 2.0}}));
  const HfModelConfig yarn = read_hf_config(variant_dir("yarn"));
  EXPECT_EQ(yarn.rope_type(), "yarn");
  EXPECT_EQ(yarn.rope_scaling["factor"], 4.0);
  EXPECT_EQ(yarn.rope_scaling["original_max_position_embeddings"], 64);
  EXPECT_EQ(yarn.rope_scaling["beta_fast"], 32.0);
  EXPECT_EQ(yarn.rope_scaling["beta_slow"], 1.0);
  EXPECT_FALSE(yarn.rope_scaling.contains("rope_theta"));
  EXPECT_EQ(yarn.max_position_embeddings, 256);
  const HfModelConfig llama3 = read_hf_config(variant_dir("llama3"));
  EXPECT_EQ(llama3.rope_theta, 500000.0);
  EXPECT_EQ(llama3.rope_scaling["low_freq_factor"], 1.0);
  EXPECT_EQ(llama3.rope_scaling["high_freq_factor"], 4.0);
  EXPECT_EQ(llama3.rope_scaling["original_max_position_embeddings"], 32);
}

TEST(HfConfig, ClassicFormatGivesTheSameStruct) {
  std::vector<std::string> dirs = {model_dir("llama-gqa"), model_dir("qwen2-tied"),
                                   model_dir("mistral")};
  for (const char* v : kVariants) dirs.push_back(variant_dir(v));
  for (const auto& dir : dirs) {
    SCOPED_TRACE(dir);
    const json j = fixture_json(dir);
    const HfModelConfig c = parse(j);
    EXPECT_EQ(parse(to_classic(j)), c);
    EXPECT_EQ(parse(to_classic(j, /*legacy_type_key=*/true)), c);
    // Both formats at once, agreeing.
    json both = to_classic(j);
    both["rope_parameters"] = j["rope_parameters"];
    EXPECT_EQ(parse(both), c);
  }
}

TEST(HfConfig, RopeParametersKeyedByLayerType) {
  json j = fixture_json(variant_dir("yarn"));
  const HfModelConfig c = parse(j);
  const json p = j["rope_parameters"];
  j["rope_parameters"] = {{"full_attention", p}, {"sliding_attention", p}};
  EXPECT_EQ(parse(j), c);
  json other = p;
  other["factor"] = 8.0;
  j["rope_parameters"] = {{"full_attention", p}, {"sliding_attention", other}};
  expect_error(j,
               "rope_parameters differ between layer types 'full_attention' and "
               "'sliding_attention'; CtxLab uses one rope for all layers");
}

TEST(HfConfig, RopeErrors) {
  const json base = fixture_json(variant_dir("linear"));
  json j = to_classic(base);
  j["rope_parameters"] = base["rope_parameters"];
  j["rope_scaling"]["factor"] = 4.0;
  expect_error(j, "rope_scaling {\"factor\":4.0,\"rope_type\":\"linear\"} and rope_parameters");
  j = to_classic(base);
  j["rope_parameters"] = base["rope_parameters"];
  j["rope_theta"] = 5.0;
  expect_error(j, "rope_theta 5.0 and rope_parameters rope_theta 10000.0 disagree");
  j = to_classic(base);
  j["rope_scaling"] = {{"factor", 2.0}};
  expect_error(j, "rope_scaling has no rope_type");
  j["rope_scaling"] = {{"type", "linear"}, {"rope_type", "yarn"}, {"factor", 2.0}};
  expect_error(j, "which disagree");
  j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", -2.0}};
  expect_error(j, "rope_scaling factor must be a positive number, got -2.0");
  j["rope_scaling"] = "linear";
  expect_error(j, "rope_scaling must be an object or null");
  j = base;
  j["rope_parameters"]["rope_theta"] = 0;
  expect_error(j, "rope_parameters rope_theta must be a positive number");
}

TEST(HfConfig, PartialRotaryFactorFromEitherPlace) {
  json j = fixture_json(model_dir("llama-gqa"));
  j["rope_parameters"]["partial_rotary_factor"] = 0.5;
  const HfModelConfig c = parse(j);
  EXPECT_EQ(c.partial_rotary_factor, 0.5);
  EXPECT_TRUE(c.rope_scaling.is_null());
  json classic = to_classic(fixture_json(model_dir("llama-gqa")));
  classic["partial_rotary_factor"] = 0.5;
  EXPECT_EQ(parse(classic), c);
  EXPECT_EQ(count_parameters(c), 135488);
  classic["partial_rotary_factor"] = 0.25;  // 24 x 0.25 = 6 rotary dims: fine
  EXPECT_EQ(parse(classic).partial_rotary_factor, 0.25);
  classic["partial_rotary_factor"] = 0.75;  // 18 dims
  EXPECT_NO_THROW(parse(classic));
  classic["partial_rotary_factor"] = 0.125;  // 3 dims: odd
  expect_error(classic, "leaves 3 rotary dimensions of head_dim 24 (must be even and positive)");
  classic["partial_rotary_factor"] = 1.5;
  expect_error(classic, "partial_rotary_factor must be in (0, 1]");
}

TEST(HfConfig, UnsupportedArchitecture) {
  json j = fixture_json(model_dir("llama-gqa"));
  j["architectures"] = {"GPT2LMHeadModel"};
  j.erase("model_type");
  EXPECT_EQ(error_of(j),
            "config.json: architecture 'GPT2LMHeadModel' is not supported (CtxLab reads "
            "LlamaForCausalLM, MistralForCausalLM and Qwen2ForCausalLM)");
  j.erase("architectures");
  j["model_type"] = "gpt2";
  expect_error(j, "model_type 'gpt2' is not supported");
  j.erase("model_type");
  expect_error(j, "neither 'architectures' nor 'model_type'");
  j["architectures"] = {"LlamaForCausalLM"};
  j["model_type"] = "mistral";
  expect_error(j, "model_type 'mistral' does not match architecture 'LlamaForCausalLM'");
  j["architectures"] = "LlamaForCausalLM";
  expect_error(j, "architectures must be a list of class names");
}

TEST(HfConfig, MissingKeys) {
  for (const char* key : {"vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                          "num_attention_heads"}) {
    json j = fixture_json(model_dir("llama-gqa"));
    j.erase(key);
    expect_error(j, std::string("config.json: missing key '") + key + "'");
  }
  // Optional keys take transformers' defaults.
  json j = fixture_json(model_dir("mistral"));
  for (const char* key :
       {"num_key_value_heads", "head_dim", "rms_norm_eps", "max_position_embeddings",
        "tie_word_embeddings", "hidden_act", "sliding_window", "rope_parameters"}) {
    j.erase(key);
  }
  const HfModelConfig c = parse(j);
  EXPECT_EQ(c.num_key_value_heads, 8);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_EQ(c.max_position_embeddings, 4096 * 32);
  EXPECT_EQ(c.rope_theta, 10000.0);
  EXPECT_EQ(c.sliding_window, 4096);  // MistralConfig's default window
}

TEST(HfConfig, BadValues) {
  const json base = fixture_json(model_dir("llama-gqa"));
  auto with = [&](const char* key, const json& v) {
    json j = base;
    j[key] = v;
    return j;
  };
  EXPECT_EQ(error_of(with("num_key_value_heads", 3)),
            "config.json: num_key_value_heads 3 does not divide num_attention_heads 4");
  expect_error(with("hidden_size", 0), "hidden_size must be positive, got 0");
  expect_error(with("num_hidden_layers", -2), "num_hidden_layers must be positive, got -2");
  expect_error(with("head_dim", 23), "head_dim 23 must be even");
  expect_error(with("hidden_size", "64"), "hidden_size must be an integer, got \"64\"");
  expect_error(with("vocab_size", 384.5), "vocab_size must be an integer, got 384.5");
  expect_error(with("vocab_size", 18446744073709551615ull),
               "vocab_size 18446744073709551615 is too large");
  expect_error(with("rms_norm_eps", -1e-5), "rms_norm_eps must be a positive number");
  expect_error(with("tie_word_embeddings", "yes"), "tie_word_embeddings must be true or false");
  expect_error(with("eos_token_id", json::array({1, "x"})), "eos_token_id must be an integer");
  expect_error(with("bos_token_id", -1), "token ids must be non-negative, got -1");
  expect_error(with("dtype", 5), "dtype must be a string, got 5");
  EXPECT_EQ(parse(with("vocab_size", 384.0)).vocab_size, 384);  // an integral float is accepted
  json no_head_dim = with("hidden_size", 66);
  no_head_dim.erase("head_dim");
  expect_error(
      no_head_dim,
      "hidden_size 66 is not divisible by num_attention_heads 4 (and no head_dim is given)");
  json both_dtypes = with("torch_dtype", "float16");
  expect_error(both_dtypes, "dtype 'float32' and torch_dtype 'float16' disagree");
  expect_error(json::array(), "config.json: not a JSON object");
}

// Sizes no real model has: refused by name before anything multiplies them (the parameter count
// overflowed int64_t here, found by the hf_config fuzz target).
TEST(HfConfig, SizesBeyondAnyModelAreRefused) {
  json j = fixture_json(model_dir("llama-gqa"));
  j["hidden_size"] = int64_t{1} << 62;
  expect_error(j, "config.json: the sizes describe 9.76e+21 parameters (at most 2^53 are counted)");
  j["hidden_size"] = 64;
  j["vocab_size"] = int64_t{1} << 52;
  expect_error(j, "parameters (at most 2^53 are counted)");
  HfModelConfig c = parse(fixture_json(model_dir("llama-gqa")));
  c.intermediate_size = int64_t{1} << 61;  // built in code, not read: the count still refuses
  EXPECT_THROW(count_parameters(c), HfConfigError);
}

TEST(HfConfig, HiddenActMustBeSilu) {
  json j = fixture_json(model_dir("llama-gqa"));
  j["hidden_act"] = "gelu";
  expect_error(j, "config.json: hidden_act 'gelu' is not supported (CtxLab's models use silu)");
}

TEST(HfConfig, SlidingWindowIsKeptWhenPresent) {
  json m = fixture_json(model_dir("mistral"));
  m["sliding_window"] = 4096;
  EXPECT_EQ(parse(m).sliding_window, 4096);
  expect_error(
      [&] {
        json b = m;
        b["sliding_window"] = 0;
        return b;
      }(),
      "sliding_window must be positive");

  json q = fixture_json(model_dir("qwen2-tied"));
  q["sliding_window"] = 32;
  EXPECT_FALSE(parse(q).sliding_window);  // use_sliding_window false
  q["use_sliding_window"] = true;
  q["layer_types"] = {"sliding_attention", "sliding_attention"};
  EXPECT_EQ(parse(q).sliding_window, 32);
  q["layer_types"] = {"full_attention", "sliding_attention"};
  expect_error(q, "the sliding window applies to 1 of 2 layers; CtxLab uses one attention kind");
  q.erase("layer_types");
  q["max_window_layers"] = 0;
  EXPECT_EQ(parse(q).sliding_window, 32);
  q["max_window_layers"] = 28;  // from layer 28 on: no layer of 2 slides
  EXPECT_FALSE(parse(q).sliding_window);

  json l = fixture_json(model_dir("llama-gqa"));
  l["sliding_window"] = 16;  // LlamaConfig has no window: ignored as transformers ignores it
  EXPECT_FALSE(parse(l).sliding_window);
}

TEST(HfConfig, TokenIdsAndDtypeForms) {
  json j = fixture_json(model_dir("llama-gqa"));
  j["eos_token_id"] = {1, 7};
  j["bos_token_id"] = nullptr;
  j.erase("dtype");
  j["torch_dtype"] = "bfloat16";
  const HfModelConfig c = parse(j);
  EXPECT_EQ(c.eos_token_id, (std::vector<int64_t>{1, 7}));
  EXPECT_TRUE(c.bos_token_id.empty());
  EXPECT_EQ(c.dtype, "bfloat16");
}

TEST(HfConfig, WriteThenReadRoundTrips) {
  std::vector<HfModelConfig> configs;
  for (const char* name : {"llama-gqa", "llama-bf16-shards", "qwen2-tied", "mistral"}) {
    configs.push_back(read_hf_config(model_dir(name)));
  }
  for (const char* v : kVariants) configs.push_back(read_hf_config(variant_dir(v)));
  HfModelConfig sliding_qwen = configs[2];
  sliding_qwen.sliding_window = 48;
  configs.push_back(sliding_qwen);
  HfModelConfig sliding_mistral = configs[3];
  sliding_mistral.sliding_window = 4096;
  sliding_mistral.eos_token_id = {2, 3};
  sliding_mistral.partial_rotary_factor = 0.5;
  configs.push_back(sliding_mistral);
  HfModelConfig biased_llama = configs[0];
  biased_llama.qkv_bias = biased_llama.o_bias = biased_llama.mlp_bias = true;
  configs.push_back(biased_llama);

  const auto dir = st_test::fresh_dir();
  for (const auto& c : configs) {
    SCOPED_TRACE(c.model_type + " " + c.rope_type());
    const json j = write_hf_config(c);
    EXPECT_FALSE(j.contains("rope_parameters"));
    EXPECT_TRUE(j.contains("rope_theta") && j.contains("rope_scaling"));
    EXPECT_EQ(parse(j), c);
    // Through a file, as the exporter would write it.
    st_test::write_file(dir / "config.json", j.dump(2));
    EXPECT_EQ(read_hf_config(dir.string()), c);
  }
  EXPECT_EQ(count_parameters(biased_llama), 135488 + 2 * (96 + 48 + 48 + 64 + 128 + 128 + 64));
}

TEST(HfConfig, WriteUsesClassicFieldsAndMergesExtra) {
  const HfModelConfig q = read_hf_config(model_dir("qwen2-tied"));
  const json extra = {{"ctxlab", {{"method", "yarn"}, {"scale", 4}}}};
  const json j = write_hf_config(q, extra);
  EXPECT_EQ(j["architectures"], json::array({"Qwen2ForCausalLM"}));
  EXPECT_EQ(j["use_sliding_window"], false);
  EXPECT_TRUE(j["sliding_window"].is_null());
  EXPECT_EQ(j["torch_dtype"], "float32");
  EXPECT_EQ(j["rope_theta"], 1e6);
  EXPECT_TRUE(j["rope_scaling"].is_null());
  EXPECT_EQ(j["ctxlab"]["method"], "yarn");
  EXPECT_TRUE(j["bos_token_id"].is_null());
  const json yarn = write_hf_config(read_hf_config(variant_dir("yarn")));
  EXPECT_EQ(yarn["rope_scaling"]["rope_type"], "yarn");
  EXPECT_EQ(yarn["rope_theta"], 10000.0);
  EXPECT_EQ(yarn["attention_bias"], false);
  EXPECT_THROW(write_hf_config(q, {{"hidden_size", 1}}), HfConfigError);
  EXPECT_THROW(write_hf_config(q, json::array()), HfConfigError);
  HfModelConfig bad = q;
  bad.o_bias = true;
  EXPECT_THROW(write_hf_config(bad), HfConfigError);
  bad = q;
  bad.num_key_value_heads = 3;
  EXPECT_THROW(write_hf_config(bad), HfConfigError);
}

TEST(HfConfig, FileErrors) {
  const auto dir = st_test::fresh_dir();
  try {
    read_hf_config(dir.string());
    FAIL();
  } catch (const HfConfigError& e) {
    EXPECT_EQ(std::string(e.what()), dir.string() + ": no config.json in this folder");
  }
  st_test::write_file(dir / "config.json", R"({"hidden_size": 64, "hidden_size": 65})");
  try {
    read_hf_config(dir.string());
    FAIL();
  } catch (const HfConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("config.json: not valid JSON: duplicate key 'hidden_size'"),
              std::string::npos)
        << e.what();
  }
  st_test::write_file(dir / "config.json", "");
  EXPECT_THROW(read_hf_config(dir.string()), HfConfigError);
}
