// A Hugging Face model folder's safetensors weights (one file, or shards + index.json) as one name
// -> tensor table. Assumes Hugging Face's file names; pickle weights are refused, never read.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/safetensors_file.h"

namespace ctx::io {

// A tensor located in its file; valid while the SafetensorsSet that gave it lives.
struct TensorRef {
  const SafetensorsFile* file = nullptr;
  const TensorInfo* info = nullptr;
  const uint8_t* data() const { return file->data(*info); }
};

class SafetensorsSet {
 public:
  const std::string& dir() const { return dir_; }
  const std::vector<SafetensorsFile>& files() const { return files_; }  // shard order
  bool sharded() const { return sharded_; }
  size_t size() const { return index_.size(); }  // number of tensors
  uint64_t total_bytes() const;                  // all tensors' bytes
  std::vector<std::string> names() const;        // sorted

  std::optional<TensorRef> find(std::string_view name) const;
  TensorRef at(std::string_view name) const;  // throws SafetensorsError naming the folder
  bool release(std::string_view name) const;  // SafetensorsFile::release of that tensor

 private:
  friend SafetensorsSet open_folder(const std::string& dir);
  std::string dir_;
  bool sharded_ = false;
  std::vector<SafetensorsFile> files_;
  std::map<std::string, std::pair<size_t, size_t>, std::less<>> index_;  // -> (file, tensor)
};

// Opens `dir`: model.safetensors if present, else model.safetensors.index.json and its shards
// (shard names must be plain file names in `dir`; every shard must exist and hold exactly the
// tensors the index assigns to it). Throws SafetensorsError: a missing folder, a folder holding
// only pickle weights, a folder without weights, a bad index, a shard that disagrees with it.
SafetensorsSet open_folder(const std::string& dir);

}  // namespace ctx::io
