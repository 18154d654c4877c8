// Writing safetensors byte-identical to the reference library, as one file or Hugging Face-style
// shards + index.json. Assumes callers' buffers stay valid while writing; files appear atomically.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "io/safetensors_format.h"

namespace ctx::io {

// One tensor to write: its bytes (little-endian, C order) are read from `data` while writing.
struct TensorToWrite {
  std::string name;
  Dtype dtype = Dtype::F32;
  std::vector<int64_t> shape;
  const void* data = nullptr;  // may be null only when nbytes is 0
  uint64_t nbytes = 0;         // must equal numel x element size
};

using SafetensorsMetadata = std::map<std::string, std::string>;

// Hugging Face's default shard limit ("5GB" = 5 * 10^9 bytes).
constexpr uint64_t kDefaultMaxShardBytes = 5'000'000'000;

// Writes one file. Throws SafetensorsError (duplicate or empty or reserved or non-UTF-8 names, a
// byte count that disagrees with the shape, null data) before touching the disk, FileWriteError
// for I/O. Tensors are stored in the reference order: descending alignment, then by name.
// Note: transformers refuses a __metadata__ whose "format" is not "pt" (or tf/flax/mlx) but
// accepts none at all; Hugging Face itself writes {"format": "pt"}.
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const SafetensorsMetadata& metadata = {});

// The header (JSON + space padding, without the 8-byte length) write_safetensors would write.
std::string safetensors_header_bytes(const std::vector<TensorToWrite>& tensors,
                                     const SafetensorsMetadata& metadata);

// "model-00002-of-00005.safetensors"
std::string shard_file_name(size_t index_from_1, size_t count);

// Splits `tensors` (kept in the given order, as Hugging Face splits a state dict) into groups of
// at most max_shard_bytes tensor bytes; a larger tensor gets a shard of its own. Returns indices.
std::vector<std::vector<size_t>> plan_shards(const std::vector<TensorToWrite>& tensors,
                                             uint64_t max_shard_bytes);

// Writes `dir`/model.safetensors when everything fits in one shard, otherwise
// model-0000i-of-0000N.safetensors plus model.safetensors.index.json ({"metadata": {"total_size":
// bytes}, "weight_map": {name: file}}, sorted, indent 2, as transformers writes it). Creates `dir`;
// `metadata` goes into every file. Afterwards removes stale weight files of the other layout
// (model.safetensors, model-*-of-*.safetensors, the index) that this call did not write, so that
// readers cannot pick up an old copy. Returns the file names written (index last).
std::vector<std::string> write_sharded(const std::string& dir,
                                       const std::vector<TensorToWrite>& tensors,
                                       uint64_t max_shard_bytes = kDefaultMaxShardBytes,
                                       const SafetensorsMetadata& metadata = {});

}  // namespace ctx::io
