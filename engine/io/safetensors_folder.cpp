// open_folder: finds the weights of a Hugging Face model folder and cross-checks a sharded index
// against the shards' own headers. All JSON goes through the strict parser.
#include "io/safetensors_folder.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "config/json_strict.h"

namespace ctx::io {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSingle = "model.safetensors";
constexpr const char* kIndex = "model.safetensors.index.json";
constexpr uint64_t kMaxIndexBytes = 256ull << 20;

[[noreturn]] void fail(const std::string& what, const std::string& problem) {
  throw SafetensorsError(what + ": " + problem);
}

// "'a', 'b', 'c', ... (12 in all)"
std::string first_names(const std::vector<std::string>& names, size_t shown = 5) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < shown; ++i)
    out += (i ? ", " : "") + quote_name(names[i]);
  if (names.size() > shown) out += ", ... (" + std::to_string(names.size()) + " in all)";
  return out;
}

std::string plural(size_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

std::vector<std::string> sorted_entries(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    out.push_back(it->path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool has_suffix(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The folder has no model.safetensors and no index: say what it does hold.
[[noreturn]] void fail_no_weights(const std::string& dir) {
  std::vector<std::string> pickles, others;
  for (const auto& name : sorted_entries(dir)) {
    if (has_suffix(name, ".bin") || has_suffix(name, ".pt") || has_suffix(name, ".pth") ||
        name == "pytorch_model.bin.index.json") {
      pickles.push_back(name);
    } else if (has_suffix(name, ".safetensors")) {
      others.push_back(name);
    }
  }
  if (!pickles.empty()) {
    std::string listed;
    for (size_t i = 0; i < pickles.size() && i < 3; ++i) listed += (i ? ", " : "") + pickles[i];
    if (pickles.size() > 3) listed += ", ...";
    fail(dir, "holds pickle weights (" + listed +
                  "); CtxLab never loads pickle: convert them to safetensors first (for example "
                  "with transformers: model.save_pretrained(dir, safe_serialization=True))");
  }
  std::string problem = std::string("no weights: neither ") + kSingle + " nor " + kIndex;
  if (!others.empty()) problem += " (it holds " + first_names(others, 3) + ")";
  fail(dir, problem);
}

std::string read_small_file(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) fail(path.string(), "cannot read: " + ec.message());
  if (size > kMaxIndexBytes)
    fail(path.string(), "larger than " + std::to_string(kMaxIndexBytes) + " bytes");
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) fail(path.string(), "cannot read");
  return text.str();
}

// weight_map of the index: shard file name -> tensor names, both sorted.
std::map<std::string, std::vector<std::string>> read_index(const fs::path& path) {
  const std::string what = path.string();
  nlohmann::json j;
  try {
    j = parse_json_strict(read_small_file(path), what);
  } catch (const JsonError& e) {
    throw SafetensorsError(e.what());
  }
  if (!j.is_object()) fail(what, "not a JSON object");
  if (j.contains("metadata") && !j["metadata"].is_object())
    fail(what, "'metadata' is not an object");
  if (!j.contains("weight_map") || !j["weight_map"].is_object()) {
    fail(what, "no 'weight_map' object");
  }
  std::map<std::string, std::vector<std::string>> shards;
  for (const auto& [name, file] : j["weight_map"].items()) {
    if (!file.is_string())
      fail(what, "weight_map entry " + quote_name(name) + " is not a file name");
    const auto& f = file.get_ref<const std::string&>();
    if (f.empty() || f.find('/') != std::string::npos || f.find('\\') != std::string::npos ||
        f == "." || f == "..") {
      fail(what,
           "weight_map names shard " + quote_name(f) + ", which is not a file name in the folder");
    }
    shards[f].push_back(name);
  }
  if (shards.empty()) fail(what, "weight_map lists no tensors");
  return shards;
}

// The shard must hold exactly the tensors the index assigns to it.
void check_shard(const SafetensorsFile& file, const std::string& shard,
                 const std::vector<std::string>& listed, const std::string& index_path) {
  std::vector<std::string> missing, unlisted;
  for (const auto& name : listed) {
    if (!file.find(name)) missing.push_back(name);
  }
  if (!missing.empty()) {
    fail(index_path, "assigns " + plural(missing.size(), "tensor") + " to " + quote_name(shard) +
                         " that the shard does not hold: " + first_names(missing));
  }
  const std::set<std::string_view> expected(listed.begin(), listed.end());
  for (const auto& t : file.tensors()) {
    if (!expected.count(t.name)) unlisted.push_back(t.name);
  }
  std::sort(unlisted.begin(), unlisted.end());
  if (!unlisted.empty()) {
    fail(file.path(), "holds " + plural(unlisted.size(), "tensor") + " that " + kIndex +
                          " does not assign to it: " + first_names(unlisted));
  }
}

}  // namespace

uint64_t SafetensorsSet::total_bytes() const {
  uint64_t n = 0;
  for (const auto& f : files_) {
    for (const auto& t : f.tensors()) n += t.nbytes();
  }
  return n;
}

std::vector<std::string> SafetensorsSet::names() const {
  std::vector<std::string> out;
  out.reserve(index_.size());
  for (const auto& [name, _] : index_) out.push_back(name);
  return out;
}

std::optional<TensorRef> SafetensorsSet::find(std::string_view name) const {
  auto it = index_.find(name);
  if (it == index_.end()) return std::nullopt;
  const SafetensorsFile& f = files_[it->second.first];
  return TensorRef{&f, &f.tensors()[it->second.second]};
}

TensorRef SafetensorsSet::at(std::string_view name) const {
  if (auto ref = find(name)) return *ref;
  fail(dir_, "no tensor " + quote_name(name) + " in its safetensors weights");
}

bool SafetensorsSet::release(std::string_view name) const {
  const TensorRef ref = at(name);
  return ref.file->release(*ref.info);
}

SafetensorsSet open_folder(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) fail(dir, "folder does not exist");
  if (!fs::is_directory(dir, ec)) fail(dir, "not a folder");
  SafetensorsSet set;
  set.dir_ = dir;
  const fs::path single = fs::path(dir) / kSingle, index = fs::path(dir) / kIndex;
  if (fs::exists(single, ec)) {
    set.files_.emplace_back(single.string());
  } else if (fs::exists(index, ec)) {
    set.sharded_ = true;
    for (const auto& [shard, names] : read_index(index)) {
      const fs::path path = fs::path(dir) / shard;
      if (!fs::is_regular_file(path, ec)) {
        fail(index.string(), "shard " + quote_name(shard) + " (listed for " +
                                 plural(names.size(), "tensor") + ", e.g. " + quote_name(names[0]) +
                                 ") is missing from " + dir);
      }
      set.files_.emplace_back(path.string());
      check_shard(set.files_.back(), shard, names, index.string());
    }
  } else {
    fail_no_weights(dir);
  }
  for (size_t f = 0; f < set.files_.size(); ++f) {
    const auto& tensors = set.files_[f].tensors();
    for (size_t t = 0; t < tensors.size(); ++t)
      set.index_.emplace(tensors[t].name, std::make_pair(f, t));
  }
  return set;
}

}  // namespace ctx::io
