// Safetensors <-> model parameters. Each tensor is viewed in place (from_blob on the mapping, or an
// aligned copy when the file's offset is unaligned), converted into the parameter, then released.
#include "model/hf_weights.h"

#include <torch/cuda.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "io/safetensors.h"
#include "model/lora.h"

namespace fs = std::filesystem;

namespace ctx {
namespace {

constexpr const char* kPositionFile = "ctxlab_position.safetensors";
constexpr const char* kPositionPrefix = "pos.";

torch::ScalarType torch_dtype(io::Dtype d) {
  switch (d) {
    case io::Dtype::F64:
      return torch::kDouble;
    case io::Dtype::F32:
      return torch::kFloat;
    case io::Dtype::F16:
      return torch::kHalf;
    case io::Dtype::BF16:
      return torch::kBFloat16;
    case io::Dtype::I64:
      return torch::kLong;
    case io::Dtype::I32:
      return torch::kInt;
    case io::Dtype::I16:
      return torch::kShort;
    case io::Dtype::I8:
      return torch::kChar;
    case io::Dtype::U8:
      return torch::kByte;
    case io::Dtype::BOOL:
      return torch::kBool;
  }
  return torch::kFloat;
}

io::Dtype io_dtype(ExportDtype d) {
  switch (d) {
    case ExportDtype::BF16:
      return io::Dtype::BF16;
    case ExportDtype::F16:
      return io::Dtype::F16;
    default:
      return io::Dtype::F32;
  }
}

std::string first_names(const std::vector<std::string>& names, size_t n = 4) {
  std::string s;
  for (size_t i = 0; i < names.size() && i < n; ++i) s += (i ? ", " : "") + names[i];
  if (names.size() > n) s += ", ... (" + std::to_string(names.size()) + " in all)";
  return s;
}

std::string shape_text(c10::IntArrayRef s) {
  std::ostringstream o;
  o << s;
  return o.str();
}

// Tensors transformers keeps in some checkpoints that carry no weights of their own.
bool derived_buffer(const std::string& name) {
  return name.size() >= 20 && name.compare(name.size() - 20, 20, "rotary_emb.inv_freq") == 0;
}

// Host to GPU through a pinned staging buffer, 64 MiB at a time: a copy from pageable memory (the
// mapped file) runs at a few GB/s, a pinned one at the bus's speed. Different dtypes are converted
// on the GPU, after the copy.
void copy_to_device(const torch::Tensor& host, torch::Tensor& param) {
  constexpr int64_t kChunkBytes = int64_t{64} << 20;
  static thread_local torch::Tensor staging;
  if (!staging.defined())
    staging = torch::empty({kChunkBytes}, torch::TensorOptions().dtype(torch::kByte).pinned_memory(true));
  const auto src = host.flatten();
  auto dst = param.view({-1});
  const int64_t per_chunk = std::max<int64_t>(1, kChunkBytes / static_cast<int64_t>(src.element_size()));
  for (int64_t at = 0; at < src.numel(); at += per_chunk) {
    const int64_t n = std::min(per_chunk, src.numel() - at);
    auto stage = staging.narrow(0, 0, n * static_cast<int64_t>(src.element_size())).view(src.scalar_type());
    stage.copy_(src.narrow(0, at, n));
    auto part = dst.narrow(0, at, n);
    if (part.scalar_type() == stage.scalar_type()) {
      part.copy_(stage, /*non_blocking=*/true);
    } else {
      part.copy_(stage.to(param.device(), /*non_blocking=*/true));
    }
    torch::cuda::synchronize();  // the staging buffer is reused by the next chunk
  }
}

// Copies one stored tensor into `param` (converting dtype, on param's device).
void copy_into(const io::SafetensorsFile& file, const io::TensorInfo& info, torch::Tensor& param,
               const std::string& where) {
  std::vector<int64_t> shape(info.shape.begin(), info.shape.end());
  if (c10::IntArrayRef(shape) != param.sizes())
    throw HfWeightsError(where + ": tensor '" + info.name + "' has shape " + shape_text(shape) +
                         ", the model needs " + shape_text(param.sizes()) +
                         " (does config.json describe these weights?)");
  io::AlignedBytes copy;
  const void* data = file.data(info);
  if (!file.aligned(info)) {
    copy = file.copy_aligned(info);
    data = copy.data();
  }
  auto view =
      torch::from_blob(const_cast<void*>(data), shape,
                       torch::TensorOptions().dtype(torch_dtype(info.dtype)).device(torch::kCPU));
  torch::NoGradGuard ng;
  if (param.is_cuda() && param.is_contiguous())
    copy_to_device(view, param);
  else
    param.copy_(view);
  file.release(info);
}

// Position-scheme parameters from ctxlab_position.safetensors ("pos.clex.up.weight", ...).
void load_position_params(const std::string& folder, LanguageModel& model, HfLoadReport& report) {
  const auto path = fs::path(folder) / kPositionFile;
  std::error_code ec;
  const bool present = fs::exists(path, ec);
  std::optional<io::SafetensorsFile> file;
  if (present) file.emplace(path.string());
  for (auto& p : model->named_parameters()) {
    if (p.key().rfind(kPositionPrefix, 0) != 0) continue;
    const io::TensorInfo* info = file ? file->find(p.key()) : nullptr;
    if (!info) {
      report.fresh.push_back(p.key());
      continue;
    }
    copy_into(*file, *info, p.value(), path.string());
    ++report.tensors;
    report.bytes += info->nbytes();
  }
}

}  // namespace

HfLoadReport load_hf_weights(const std::string& folder, LanguageModel& model) {
  HfLoadReport report;
  io::SafetensorsSet set;
  try {
    set = io::open_folder(folder);
  } catch (const io::SafetensorsError& e) {
    throw HfWeightsError(e.what());
  }
  const bool tied = model->config().tie_embeddings;
  std::set<std::string> used;
  std::vector<std::string> missing;
  try {
    for (auto& p : model->named_parameters()) {
      if (p.key().rfind(kPositionPrefix, 0) == 0) continue;
      if (is_lora_parameter(p.key())) {  // adapters start at their init: B = 0 keeps the base
        report.fresh.push_back(p.key());
        continue;
      }
      auto ref = set.find(p.key());
      if (!ref) {
        missing.push_back(p.key());
        continue;
      }
      copy_into(*ref->file, *ref->info, p.value(), folder);
      used.insert(p.key());
      ++report.tensors;
      report.bytes += ref->info->nbytes();
    }
  } catch (const io::SafetensorsError& e) {
    throw HfWeightsError(e.what());
  }
  if (!missing.empty())
    throw HfWeightsError(folder + ": the weights lack " + std::to_string(missing.size()) +
                         " tensor(s) the model needs: " + first_names(missing));
  std::vector<std::string> unexpected;
  for (const auto& name : set.names()) {
    if (used.count(name)) continue;
    if (derived_buffer(name) || (tied && name == "lm_head.weight")) {
      report.ignored.push_back(name);
      continue;
    }
    unexpected.push_back(name);
  }
  if (!unexpected.empty())
    throw HfWeightsError(folder + ": the weights hold " + std::to_string(unexpected.size()) +
                         " tensor(s) this model does not have: " + first_names(unexpected) +
                         " (does config.json describe these weights?)");
  try {
    load_position_params(folder, model, report);
  } catch (const io::SafetensorsError& e) {
    throw HfWeightsError(e.what());
  }
  return report;
}

void verify_hf_weights(const std::string& folder,
                       const std::vector<std::pair<std::string, std::vector<int64_t>>>& expected,
                       bool tied) {
  io::SafetensorsSet set;
  try {
    set = io::open_folder(folder);
  } catch (const io::SafetensorsError& e) {
    throw HfWeightsError(e.what());
  }
  std::vector<std::string> missing;
  std::set<std::string> wanted;
  for (const auto& [name, shape] : expected) {
    wanted.insert(name);
    auto ref = set.find(name);
    if (!ref) {
      missing.push_back(name);
      continue;
    }
    if (ref->info->shape != shape)
      throw HfWeightsError(folder + ": tensor '" + name + "' has shape " +
                           shape_text(ref->info->shape) + ", config.json implies " +
                           shape_text(shape));
  }
  if (!missing.empty())
    throw HfWeightsError(folder + ": the weights lack " + std::to_string(missing.size()) +
                         " tensor(s) the model needs: " + first_names(missing));
  std::vector<std::string> unexpected;
  for (const auto& name : set.names())
    if (!wanted.count(name) && !derived_buffer(name) && !(tied && name == "lm_head.weight"))
      unexpected.push_back(name);
  if (!unexpected.empty())
    throw HfWeightsError(folder + ": the weights hold " + std::to_string(unexpected.size()) +
                         " tensor(s) this model does not have: " + first_names(unexpected) +
                         " (does config.json describe these weights?)");
}

ExportDtype parse_export_dtype(const std::string& name) {
  if (name == "fp32" || name == "float32") return ExportDtype::F32;
  if (name == "bf16" || name == "bfloat16") return ExportDtype::BF16;
  if (name == "fp16" || name == "float16") return ExportDtype::F16;
  throw ConfigError("--dtype: unknown dtype '" + name + "' (bf16, fp16 or fp32)");
}

std::string hf_dtype_name(ExportDtype d) {
  switch (d) {
    case ExportDtype::BF16:
      return "bfloat16";
    case ExportDtype::F16:
      return "float16";
    default:
      return "float32";
  }
}

std::vector<std::string> export_hf_weights(LanguageModel& model, const std::string& folder,
                                           ExportDtype dtype, uint64_t max_shard_bytes) {
  // CPU, contiguous, in the export dtype; kept alive until written.
  std::vector<torch::Tensor> keep;
  std::vector<io::TensorToWrite> weights, position;
  torch::NoGradGuard ng;
  for (auto& p : model->named_parameters()) {
    if (is_lora_parameter(p.key())) continue;  // merged into the weights by the caller (merge_lora)
    const bool pos = p.key().rfind(kPositionPrefix, 0) == 0;
    // Position parameters keep fp32: they are tiny and precision-sensitive (CLEX's ODE).
    const auto want = pos ? torch::kFloat : torch_dtype(io_dtype(dtype));
    auto t = p.value().detach().to(torch::kCPU, want).contiguous();
    keep.push_back(t);
    io::TensorToWrite w;
    w.name = p.key();
    w.dtype = pos ? io::Dtype::F32 : io_dtype(dtype);
    w.shape.assign(t.sizes().begin(), t.sizes().end());
    w.data = t.data_ptr();
    w.nbytes = static_cast<uint64_t>(t.numel()) * static_cast<uint64_t>(t.element_size());
    (pos ? position : weights).push_back(std::move(w));
  }
  const io::SafetensorsMetadata meta = {{"format", "pt"}};
  auto files = io::write_sharded(folder, weights, max_shard_bytes, meta);
  const auto pos_path = fs::path(folder) / kPositionFile;
  std::error_code ec;
  if (!position.empty()) {
    io::write_safetensors(pos_path.string(), position, meta);
    files.push_back(kPositionFile);
  } else {
    fs::remove(pos_path, ec);
  }
  return files;
}

}  // namespace ctx
