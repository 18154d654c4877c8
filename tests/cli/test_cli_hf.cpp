// ctxlab-cli with Hugging Face folders: hf-info, import, export-hf, tokenize and logits against the
// reference fixtures (tests/fixtures/hf); import then export gives the same tensors byte for byte;
// export then import gives identical logits; a tiny pretrained model fine-tunes through the CLI
// with YaRN and with CREAM; each bad folder is refused with one line naming the file while the
// store stays byte-identical.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "cli_runner.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "store/file_tree.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using cli_test::last_json_line;
using cli_test::Result;
using cli_test::slurp;

const fs::path kModels = fs::path(CTXLAB_FIXTURES) / "hf" / "models";
const fs::path kTokenizers = fs::path(CTXLAB_FIXTURES) / "hf" / "tokenizers";

fs::path dir() {
  auto d = fs::path(CTXLAB_TEST_TMP) / ("cli-hf-" + std::to_string(getpid()));
  fs::create_directories(d);
  return d;
}

Result cli(const std::string& args) {
  return cli_test::run_cli(args, dir());
}

fs::path fresh_db(const std::string& name) {
  auto p = dir() / name;
  for (auto suffix : {"", "-wal", "-shm"}) fs::remove(p.string() + suffix);
  ctx::remove_tree(dir() / (p.stem().string() + ".runs"));
  ctx::remove_tree(dir() / (p.stem().string() + ".cache"));
  return p;
}

// A copy of a fixture folder to damage.
fs::path copy_of(const fs::path& src, const std::string& name) {
  auto d = dir() / name;
  ctx::remove_tree(d);
  fs::create_directories(d);
  for (auto& e : fs::directory_iterator(src))
    if (e.is_regular_file()) fs::copy_file(e.path(), d / e.path().filename());
  return d;
}

json read_json(const fs::path& p) {
  std::ifstream f(p);
  return json::parse(f);
}

void write_json(const fs::path& p, const json& j) {
  std::ofstream(p) << j.dump(2);
}

int64_t import_run(const fs::path& folder, const fs::path& db, const std::string& extra = "") {
  auto r = cli("import " + folder.string() + " --db " + db.string() + " --json " + extra);
  EXPECT_EQ(r.rc, 0) << r.err;
  return r.rc == 0 ? last_json_line(r.out)["run_id"].get<int64_t>() : 0;
}

// name -> (dtype, shape, bytes) of every tensor in a folder.
std::map<std::string, std::string> tensor_bytes(const fs::path& folder) {
  auto set = ctx::io::open_folder(folder.string());
  std::map<std::string, std::string> out;
  for (const auto& name : set.names()) {
    auto ref = set.at(name);
    out[name] = std::string(ctx::io::dtype_name(ref.info->dtype)) +
                ctx::io::shape_string(ref.info->shape) +
                std::string(reinterpret_cast<const char*>(ref.data()), ref.info->nbytes());
  }
  return out;
}

double max_abs_diff(const ctx::io::NpyArray& a, const ctx::io::NpyArray& b) {
  EXPECT_EQ(a.shape, b.shape);
  if (a.shape != b.shape) return 1e9;
  double worst = 0;
  for (size_t i = 0; i < a.data.size(); ++i)
    worst = std::max(worst, double(std::abs(a.data[i] - b.data[i])));
  return worst;
}

// A store with one finished run, to check that refusals leave it byte-identical.
const fs::path& seeded_store() {
  static fs::path db = [] {
    auto p = fresh_db("seeded.db");
    import_run(kModels / "llama-gqa", p);
    return p;
  }();
  return db;
}

void expect_refused(const fs::path& folder, const std::string& needle) {
  const auto& db = seeded_store();
  const auto before = slurp(db);
  auto r = cli("import " + folder.string() + " --db " + db.string());
  EXPECT_EQ(r.rc, 2) << folder << ": " << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << "stderr: " << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "stderr: " << r.err;
  EXPECT_EQ(slurp(db), before) << folder;
}

}  // namespace

TEST(CliHf, HfInfoDescribesTheFolder) {
  auto r = cli("hf-info " + (kModels / "llama-gqa").string() + " --json");
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = last_json_line(r.out);
  EXPECT_EQ(j["architecture"], "LlamaForCausalLM");
  EXPECT_EQ(j["parameters"], 135488);  // the count transformers reported when it made the fixture
  EXPECT_EQ(j["max_position_embeddings"], 64);
  EXPECT_EQ(j["kv_heads"], 2);
  EXPECT_EQ(j["tokenizer"]["kind"], "bpe-bytelevel");
  EXPECT_EQ(j["weights"]["dtype"], "float32");
}

TEST(CliHf, ImportedRunGivesTransformersLogits) {
  auto db = fresh_db("logits.db");
  const auto id = import_run(kModels / "llama-gqa", db);
  auto r = cli("logits --run " + std::to_string(id) + " --db " + db.string() + " --ids " +
               (kModels / "llama-gqa" / "ids.txt").string() + " --out " +
               (dir() / "l.npy").string() + " --json");
  ASSERT_EQ(r.rc, 0) << r.err;
  for (int T : {48, 160}) {
    auto got = ctx::io::read_npy_f32((dir() / ("l-" + std::to_string(T) + ".npy")).string());
    auto want = ctx::io::read_npy_f32(
        (kModels / "llama-gqa" / ("logits-" + std::to_string(T) + ".npy")).string());
    EXPECT_LT(max_abs_diff(got, want), 1e-4) << T;
  }
  // The run is in the list as a finished pretrained model named after its folder.
  auto show = cli("runs --db " + db.string() + " --json");
  ASSERT_EQ(show.rc, 0) << show.err;
  auto runs = last_json_line(show.out);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["name"], "llama-gqa");
  EXPECT_EQ(runs[0]["status"], "finished");
  EXPECT_EQ(runs[0]["method"], "pretrained");
}

TEST(CliHf, ImportThenExportGivesTheSameTensorsByteForByte) {
  for (const std::string name : {"llama-gqa", "qwen2-tied", "llama-bf16-shards"}) {
    // Folders without a tokenizer get a fixture tokenizer that fits their vocabulary.
    auto src = copy_of(kModels / name, "src-" + name);
    const std::string tok = name == "qwen2-tied" ? "bytelevel-qwen2" : "bytelevel-llama3";
    if (!fs::exists(src / "tokenizer.json"))
      fs::copy_file(kTokenizers / tok / "tokenizer.json", src / "tokenizer.json");
    auto db = fresh_db("roundtrip-" + name + ".db");
    const auto id = import_run(src, db);
    const auto out = dir() / ("export-" + name);
    ctx::remove_tree(out);
    auto r =
        cli("export-hf --run " + std::to_string(id) + " --db " + db.string() + " " + out.string());
    ASSERT_EQ(r.rc, 0) << name << ": " << r.err;
    EXPECT_EQ(tensor_bytes(out), tensor_bytes(src)) << name;
    auto cfg = read_json(out / "config.json");
    EXPECT_EQ(cfg["architectures"][0], read_json(src / "config.json")["architectures"][0]) << name;
    EXPECT_TRUE(fs::exists(out / "tokenizer.json")) << name;
  }
}

TEST(CliHf, TokenizeGivesTheReferenceIds) {
  auto cases = read_json(kTokenizers / "bytelevel-llama3" / "cases.json");
  int checked = 0;
  for (const auto& c : cases) {
    if (checked == 6) break;  // each call starts a process; the io tests check every case
    const std::string text = c["text"];
    if (text.empty() || text.find('\'') != std::string::npos ||
        text.find('\n') != std::string::npos)
      continue;
    auto r = cli("tokenize --tokenizer " + (kTokenizers / "bytelevel-llama3").string() +
                 " --text '" + text + "' --json");
    ASSERT_EQ(r.rc, 0) << r.err;
    auto j = last_json_line(r.out);
    EXPECT_EQ(j["ids"], c["ids"]) << text;
    EXPECT_EQ(j["ids_with_special"], c["ids_special"]) << text;
    ++checked;
  }
  EXPECT_EQ(checked, 6);
}

TEST(CliHf, FineTunesWithYarnAndCreamThenExportsAndReimports) {
  auto db = fresh_db("finetune.db");
  const auto base = import_run(kModels / "llama-gqa", db);
  // The model and tokenizer come from the base run; the config brings the method.
  const json common = {
      {"init", {{"run", base}}},
      {"data", {{"builtin_docs", 6}, {"builtin_doc_tokens", 600}}},
      {"train", {{"seq_len", 32}, {"batch_size", 2}, {"steps", 3}, {"warmup", 1}, {"threads", 1}}},
      {"eval", {{"lengths", {32, 96}}, {"max_tokens", 128}}}};
  json yarn = common;
  yarn["name"] = "yarn-x2";
  yarn["rope_scaling"] = {
      {"rope_type", "yarn"}, {"factor", 2.0}, {"original_max_position_embeddings", 64}};
  json cream = common;
  cream["name"] = "cream";
  cream["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 2.0}};
  cream["train"]["positions"] = {{"type", "cream"}, {"factor", 2}};
  int64_t yarn_run = 0;
  for (const auto& cfg : {yarn, cream}) {
    const auto path = dir() / (cfg["name"].get<std::string>() + ".json");
    write_json(path, cfg);
    auto r = cli("train --config " + path.string() + " --db " + db.string() + " --json");
    ASSERT_EQ(r.rc, 0) << cfg["name"] << ": " << r.err;
    auto j = last_json_line(r.out);
    EXPECT_EQ(j["status"], "finished");
    ASSERT_EQ(j["evals"].size(), 2u);
    for (const auto& e : j["evals"]) EXPECT_TRUE(std::isfinite(e["ppl"].get<double>()));
    if (cfg["name"] == "yarn-x2") yarn_run = j["run_id"];
  }
  // The fine-tune exports with its YaRN block, and the export loads back to the same logits.
  const auto out = dir() / "export-yarn";
  ctx::remove_tree(out);
  auto r = cli("export-hf --run " + std::to_string(yarn_run) + " --db " + db.string() + " " +
               out.string());
  ASSERT_EQ(r.rc, 0) << r.err;
  auto cfg = read_json(out / "config.json");
  EXPECT_EQ(cfg["rope_scaling"]["rope_type"], "yarn");
  EXPECT_EQ(cfg["rope_scaling"]["factor"], 2.0);
  EXPECT_EQ(cfg["ctxlab"]["run_id"], yarn_run);
  const auto again = import_run(out, db, "--name yarn-reimported");
  const auto ids = (kModels / "llama-gqa" / "ids.txt").string();
  for (auto [run, file] : {std::pair<int64_t, std::string>{yarn_run, "a.npy"}, {again, "b.npy"}}) {
    auto l = cli("logits --run " + std::to_string(run) + " --db " + db.string() + " --ids " + ids +
                 " --out " + (dir() / file).string());
    ASSERT_EQ(l.rc, 0) << l.err;
  }
  for (int T : {48, 160}) {
    auto a = ctx::io::read_npy_f32((dir() / ("a-" + std::to_string(T) + ".npy")).string());
    auto b = ctx::io::read_npy_f32((dir() / ("b-" + std::to_string(T) + ".npy")).string());
    // Same weights and frequencies; the runs differ only in train.threads (1 vs all cores), so
    // matrix products may sum in another order: float rounding, nothing more.
    EXPECT_LT(max_abs_diff(a, b), 1e-5) << T;
  }
}

TEST(CliHf, BadFoldersAreRefusedByName) {
  auto no_config = copy_of(kModels / "llama-gqa", "no-config");
  fs::remove(no_config / "config.json");
  expect_refused(no_config, "config.json");

  auto gpt2 = copy_of(kModels / "llama-gqa", "gpt2");
  auto c = read_json(gpt2 / "config.json");
  c["architectures"] = {"GPT2LMHeadModel"};
  write_json(gpt2 / "config.json", c);
  expect_refused(gpt2, "GPT2LMHeadModel");

  auto truncated = copy_of(kModels / "llama-gqa", "truncated");
  fs::resize_file(truncated / "model.safetensors",
                  fs::file_size(truncated / "model.safetensors") / 2);
  expect_refused(truncated, "model.safetensors");

  auto long_header = copy_of(kModels / "llama-gqa", "long-header");
  {
    std::fstream f(long_header / "model.safetensors",
                   std::ios::in | std::ios::out | std::ios::binary);
    const uint64_t huge = 1ull << 40;
    f.write(reinterpret_cast<const char*>(&huge), 8);
  }
  expect_refused(long_header, "model.safetensors");

  auto more_layers = copy_of(kModels / "llama-gqa", "missing-tensors");
  c = read_json(more_layers / "config.json");
  c["num_hidden_layers"] = 3;
  write_json(more_layers / "config.json", c);
  expect_refused(more_layers, "model.layers.2.");

  auto fewer_layers = copy_of(kModels / "llama-gqa", "unexpected-tensors");
  c = read_json(fewer_layers / "config.json");
  c["num_hidden_layers"] = 1;
  write_json(fewer_layers / "config.json", c);
  expect_refused(fewer_layers, "model.layers.1.");

  auto wrong_shape = copy_of(kModels / "llama-gqa", "wrong-shape");
  c = read_json(wrong_shape / "config.json");
  c["intermediate_size"] = 100;
  write_json(wrong_shape / "config.json", c);
  expect_refused(wrong_shape, "mlp");

  auto wordpiece = copy_of(kModels / "llama-gqa", "wordpiece");
  auto t = read_json(wordpiece / "tokenizer.json");
  t["model"]["type"] = "WordPiece";
  write_json(wordpiece / "tokenizer.json", t);
  expect_refused(wordpiece, "WordPiece");

  auto not_sp = copy_of(kModels / "mistral", "not-sentencepiece");
  std::ofstream(not_sp / "tokenizer.model") << "this is a text file, not a model\n";
  expect_refused(not_sp, "tokenizer.model");

  auto pickle = dir() / "pickle-only";
  ctx::remove_tree(pickle);
  fs::create_directories(pickle);
  fs::copy_file(kModels / "llama-gqa" / "config.json", pickle / "config.json");
  fs::copy_file(kModels / "llama-gqa" / "tokenizer.json", pickle / "tokenizer.json");
  std::ofstream(pickle / "pytorch_model.bin") << "not unpickled, ever";
  expect_refused(pickle, "pickle");
}

TEST(CliHf, EveryVerbRunsOnAnImportedModel) {
  auto db = fresh_db("verbs.db");
  const auto id = std::to_string(import_run(kModels / "llama-gqa", db));
  const std::string on = " --run " + id + " --db " + db.string() + " --json";
  auto eval = cli("eval" + on + " --lengths 32,128 --mode nonoverlap,sliding");
  ASSERT_EQ(eval.rc, 0) << eval.err;
  EXPECT_EQ(last_json_line(eval.out)["evals"].size(), 4u);
  auto att = cli("attention" + on + " --lengths 64,128 --grid 8 --chunk 16");
  ASSERT_EQ(att.rc, 0) << att.err;
  auto rope = cli("rope" + on + " --length 256");
  ASSERT_EQ(rope.rc, 0) << rope.err;
  EXPECT_EQ(last_json_line(rope.out)["inv_freq"].size(), 12u);  // head_dim 24 -> 12 pairs
  // Natural-language prompts in the model's own tokens (passkey, needle, key-value records).
  for (const std::string task :
       {"passkey --depths 0.5", "needle --depths 50", "kvretrieval --bins 1"}) {
    auto r = cli(task + on + " --lengths 600 --trials 2");
    ASSERT_EQ(r.rc, 0) << task << ": " << r.err;
    auto j = last_json_line(r.out);
    ASSERT_EQ(j["cells"].size(), 1u) << task;
    EXPECT_EQ(j["cells"][0]["trials"], 2) << task;
  }
  auto short_prompt = cli("passkey" + on + " --lengths 40");
  EXPECT_EQ(short_prompt.rc, 2);
  EXPECT_NE(short_prompt.err.find("too short"), std::string::npos) << short_prompt.err;
  // The tokenized corpus was cached beside the store on the first verb; the next reads it.
  EXPECT_FALSE(fs::is_empty(dir() / "verbs.cache"));
}
