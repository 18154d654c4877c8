// Shared by the engine suites that parse configs and train into scratch stores: a small llama
// config (2 layers, d 32, grouped heads, the built-in corpus, no evaluation) with overrides merged
// in, the ConfigError text a config gets, and a fresh store path under the test scratch folder.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "config/run_config.h"
#include "store/file_tree.h"

inline nlohmann::json small_llama_config(const nlohmann::json& extra = nlohmann::json::object()) {
  nlohmann::json j{{"seed", 7},
                   {"model",
                    {{"arch", "llama"},
                     {"layers", 2},
                     {"d_model", 32},
                     {"heads", 4},
                     {"kv_heads", 2},
                     {"ffn_hidden", 48},
                     {"max_positions", 128},
                     {"tie_embeddings", false}}},
                   {"data", {{"builtin_docs", 6}, {"builtin_doc_tokens", 500}}},
                   {"train",
                    {{"seq_len", 32},
                     {"batch_size", 2},
                     {"steps", 3},
                     {"warmup", 1},
                     {"threads", 1},
                     {"lr", 1e-2},
                     {"checkpoint_every", 0}}},
                   {"eval", {{"enabled", false}}}};
  j.merge_patch(extra);
  return j;
}

// The message parse_run_config refuses `j` with ("" when it parses).
inline std::string config_error(const nlohmann::json& j) {
  try {
    ctx::parse_run_config(j);
  } catch (const ctx::ConfigError& e) {
    return e.what();
  }
  return "";
}

// <scratch>/<folder>/<name>-<pid>.db with no store, journal or run folder left from before.
inline std::string scratch_store(const std::string& folder, const std::string& name) {
  namespace fs = std::filesystem;
  auto dir = fs::path(CTXLAB_TEST_TMP) / folder;
  fs::create_directories(dir);
  auto p = dir / (name + "-" + std::to_string(getpid()) + ".db");
  for (auto s : {"", "-wal", "-shm"}) fs::remove(p.string() + s);
  ctx::remove_tree(dir / (p.stem().string() + ".runs"));
  return p.string();
}
