// Safetensors writer and sharder. Validates everything before writing; the header JSON is built
// with nlohmann's ordered_json, whose compact dump matches serde_json's (what the reference uses).
#include "io/safetensors_writer.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "io/atomic_file.h"

namespace ctx::io {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& problem) {
  throw SafetensorsError(what + ": " + problem);
}

// The reference's descending-alignment order (its Dtype enum order, reversed).
int order_rank(Dtype d) {
  switch (d) {
    case Dtype::I64:
      return 0;
    case Dtype::F64:
      return 1;
    case Dtype::F32:
      return 2;
    case Dtype::I32:
      return 3;
    case Dtype::BF16:
      return 4;
    case Dtype::F16:
      return 5;
    case Dtype::I16:
      return 6;
    case Dtype::I8:
      return 7;
    case Dtype::U8:
      return 8;
    case Dtype::BOOL:
      return 9;
  }
  return 10;
}

void check_tensor(const TensorToWrite& t, const std::string& what) {
  if (t.name.empty()) fail(what, "a tensor has an empty name");
  if (t.name == "__metadata__") fail(what, "'__metadata__' is reserved and cannot name a tensor");
  if (!valid_utf8(t.name)) fail(what, "tensor name " + quote_name(t.name) + " is not valid UTF-8");
  const std::string where = what + ": tensor " + quote_name(t.name);
  auto needed = tensor_nbytes(t.dtype, t.shape);
  if (!needed) {
    fail(where, "shape " + shape_string(t.shape) + " has a negative dimension or overflows");
  }
  if (*needed != t.nbytes) {
    fail(where, std::to_string(t.nbytes) + " bytes given but " + dtype_name(t.dtype) + " " +
                    shape_string(t.shape) + " needs " + std::to_string(*needed));
  }
  if (t.nbytes > 0 && t.data == nullptr) fail(where, "no data given");
}

void check_all(const std::vector<TensorToWrite>& tensors, const SafetensorsMetadata& metadata,
               const std::string& what) {
  std::set<std::string_view> seen;
  for (const auto& t : tensors) {
    check_tensor(t, what);
    if (!seen.insert(t.name).second) fail(what, "tensor " + quote_name(t.name) + " appears twice");
  }
  for (const auto& [k, v] : metadata) {
    if (!valid_utf8(k) || !valid_utf8(v)) {
      fail(what, "__metadata__ entry " + quote_name(k) + " is not valid UTF-8");
    }
  }
}

// Tensors in the order their bytes are stored.
std::vector<const TensorToWrite*> storage_order(const std::vector<TensorToWrite>& tensors) {
  std::vector<const TensorToWrite*> out;
  for (const auto& t : tensors) out.push_back(&t);
  std::sort(out.begin(), out.end(), [](const TensorToWrite* a, const TensorToWrite* b) {
    const int ra = order_rank(a->dtype), rb = order_rank(b->dtype);
    return ra != rb ? ra < rb : a->name < b->name;
  });
  return out;
}

std::string header_for(const std::vector<const TensorToWrite*>& ordered,
                       const SafetensorsMetadata& metadata) {
  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  if (!metadata.empty()) h["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const TensorToWrite* t : ordered) {
    nlohmann::ordered_json e;
    e["dtype"] = dtype_name(t->dtype);
    e["shape"] = t->shape;
    e["data_offsets"] = {offset, offset + t->nbytes};
    offset += t->nbytes;
    h[t->name] = std::move(e);
  }
  std::string s = h.dump();
  s.append((8 - s.size() % 8) % 8, ' ');
  return s;
}

void write_checked(const std::string& path, const std::vector<TensorToWrite>& tensors,
                   const SafetensorsMetadata& metadata) {
  const auto ordered = storage_order(tensors);
  const std::string header = header_for(ordered, metadata);
  write_file_atomic(path, [&](const auto& write) {
    unsigned char len[8];
    for (int i = 0; i < 8; ++i)
      len[i] = static_cast<unsigned char>(uint64_t{header.size()} >> (8 * i));
    write(len, 8);
    write(header.data(), header.size());
    for (const TensorToWrite* t : ordered) write(t->data, t->nbytes);
  });
}

std::string index_json(const std::vector<TensorToWrite>& tensors,
                       const std::vector<std::vector<size_t>>& shards) {
  nlohmann::json index;
  uint64_t total = 0;
  for (const auto& t : tensors) total += t.nbytes;
  index["metadata"] = {{"total_size", total}};
  index["weight_map"] = nlohmann::json::object();
  for (size_t s = 0; s < shards.size(); ++s) {
    for (size_t i : shards[s])
      index["weight_map"][tensors[i].name] = shard_file_name(s + 1, shards.size());
  }
  return index.dump(2) + "\n";
}

// Removes model.safetensors, model-*-of-*.safetensors and the index in `dir` unless in `keep`.
void remove_stale(const fs::path& dir, const std::set<std::string>& keep) {
  static const std::regex shard(R"(model-\d{5}-of-\d{5}\.safetensors)");
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    const bool ours = name == "model.safetensors" || name == "model.safetensors.index.json" ||
                      std::regex_match(name, shard);
    if (ours && !keep.count(name) && entry.is_regular_file()) {
      std::error_code ec;
      fs::remove(entry.path(), ec);  // best effort: a leftover is reported by nobody
    }
  }
}

}  // namespace

std::string safetensors_header_bytes(const std::vector<TensorToWrite>& tensors,
                                     const SafetensorsMetadata& metadata) {
  check_all(tensors, metadata, "safetensors header");
  return header_for(storage_order(tensors), metadata);
}

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const SafetensorsMetadata& metadata) {
  check_all(tensors, metadata, path);
  write_checked(path, tensors, metadata);
}

std::string shard_file_name(size_t index_from_1, size_t count) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "model-%05zu-of-%05zu.safetensors", index_from_1, count);
  return buf;
}

std::vector<std::vector<size_t>> plan_shards(const std::vector<TensorToWrite>& tensors,
                                             uint64_t max_shard_bytes) {
  std::vector<std::vector<size_t>> shards;
  std::vector<size_t> current;
  uint64_t current_bytes = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const uint64_t n = tensors[i].nbytes;
    if (n > max_shard_bytes) {  // alone, appended at once (as huggingface_hub does)
      shards.push_back({i});
      continue;
    }
    if (current_bytes + n > max_shard_bytes) {
      shards.push_back(std::move(current));
      current.clear();
      current_bytes = 0;
    }
    current.push_back(i);
    current_bytes += n;
  }
  if (!current.empty() || shards.empty()) shards.push_back(std::move(current));
  return shards;
}

std::vector<std::string> write_sharded(const std::string& dir,
                                       const std::vector<TensorToWrite>& tensors,
                                       uint64_t max_shard_bytes,
                                       const SafetensorsMetadata& metadata) {
  check_all(tensors, metadata, dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail(dir, "cannot create the folder: " + ec.message());

  const auto shards = plan_shards(tensors, max_shard_bytes);
  std::vector<std::string> written;
  if (shards.size() == 1) {
    write_checked((fs::path(dir) / "model.safetensors").string(), tensors, metadata);
    written.push_back("model.safetensors");
  } else {
    for (size_t s = 0; s < shards.size(); ++s) {
      std::vector<TensorToWrite> part;
      for (size_t i : shards[s]) part.push_back(tensors[i]);
      written.push_back(shard_file_name(s + 1, shards.size()));
      write_checked((fs::path(dir) / written.back()).string(), part, metadata);
    }
    written.push_back("model.safetensors.index.json");
    write_text_atomic((fs::path(dir) / written.back()).string(), index_json(tensors, shards));
  }
  remove_stale(dir, std::set<std::string>(written.begin(), written.end()));
  return written;
}

}  // namespace ctx::io
