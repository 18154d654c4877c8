// Checkpoint files through torch::serialize archives (one file: model/, optim/, step, config).
#include "train/checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <vector>

#include <torch/serialize.h>

#include "io/checked_file.h"
#include "model/hf_weights.h"
#include "model/lora.h"

namespace fs = std::filesystem;

namespace ctx {
namespace {

constexpr const char* kFormat = "ctxlab-checkpoint-2";           // with a checksum trailer
constexpr const char* kUncheckedFormat = "ctxlab-checkpoint-1";  // before checksums

std::string first_line(const std::string& s) {
  auto nl = s.find('\n');
  std::string l = s.substr(0, nl);
  return l.size() > 160 ? l.substr(0, 160) + "..." : l;
}

// Module::save nests one archive per submodule: "blocks.0.wqkv.weight" lives in blocks/0/wqkv.
bool read_nested(torch::serialize::InputArchive& root, const std::string& dotted, torch::Tensor& out, bool buffer) {
  auto dot = dotted.find('.');
  if (dot == std::string::npos) return root.try_read(dotted, out, buffer);
  torch::serialize::InputArchive child;
  if (!root.try_read(dotted.substr(0, dot), child)) return false;
  return read_nested(child, dotted.substr(dot + 1), out, buffer);
}

}  // namespace

void save_checkpoint(const std::string& path, LanguageModel& model, torch::optim::AdamW* optim, int64_t step,
                     const std::string& config_json) {
  torch::serialize::OutputArchive root;
  torch::serialize::OutputArchive m;
  model->save(m);
  root.write("model", m);
  if (optim) {
    torch::serialize::OutputArchive o;
    optim->save(o);
    root.write("optim", o);
  }
  root.write("step", c10::IValue(step));
  root.write("config", c10::IValue(config_json));
  root.write("format", c10::IValue(std::string(kFormat)));
  // Serialized in memory first: the archive writer's destructor writes again, so a write error
  // (a full disk) thrown through it would end the process instead of naming the file.
  std::string bytes;
  root.save_to([&](const void* data, size_t n) {
    bytes.append(static_cast<const char*>(data), n);
    return n;
  });
  fs::create_directories(fs::path(path).parent_path());
  io::write_checked_file(path, [&](const auto& write) { write(bytes.data(), bytes.size()); });
}

static torch::serialize::InputArchive open_archive(const std::string& path) {
  if (!fs::exists(path)) throw CheckpointError("checkpoint '" + path + "' does not exist");
  io::CheckedRead file;
  try {
    file = io::read_checked_file(path, "checkpoint");
  } catch (const io::CheckedFileError& e) {
    throw CheckpointError(e.what());
  }
  torch::serialize::InputArchive root;
  try {
    // Always onto the CPU first: a checkpoint written on a GPU must load on a machine without one,
    // and the copy into the model's parameters moves it where the model lives.
    root.load_from(file.payload.data(), file.payload.size(), torch::Device(torch::kCPU));
  } catch (const std::exception& e) {
    throw CheckpointError("checkpoint '" + path + "' is unreadable or corrupt: " + first_line(e.what()));
  }
  c10::IValue fmt;
  if (!root.try_read("format", fmt) || !fmt.isString())
    throw CheckpointError("checkpoint '" + path + "' is not a CtxLab checkpoint");
  // Format 1 predates checksums; a format 2 file without its trailer has lost it to damage.
  const bool checked = fmt.toStringRef() == kFormat;
  if (!checked && fmt.toStringRef() != kUncheckedFormat)
    throw CheckpointError("checkpoint '" + path + "' is not a CtxLab checkpoint");
  if (checked && !file.has_trailer)
    throw CheckpointError("checkpoint '" + path + "' is damaged: its checksum trailer is missing");
  return root;
}

CheckpointInfo read_checkpoint_info(const std::string& path) {
  if (is_hf_checkpoint(path)) return {};
  auto root = open_archive(path);
  CheckpointInfo info;
  c10::IValue step, cfg;
  root.read("step", step);
  root.read("config", cfg);
  info.step = step.toInt();
  info.config_json = cfg.toStringRef();
  return info;
}

CheckpointInfo load_checkpoint(const std::string& path, LanguageModel& model, torch::optim::AdamW* optim,
                               bool allow_new_position_params) {
  if (is_hf_checkpoint(path)) {
    // A Hugging Face folder (an imported run, or init.hf): weights only, step 0.
    CheckpointInfo info;
    try {
      info.fresh = load_hf_weights(path, model).fresh;
    } catch (const HfWeightsError& e) {
      throw CheckpointError(e.what());
    }
    if (optim) throw CheckpointError("'" + path + "' is a Hugging Face folder: it holds no optimizer state to resume");
    const bool only_adapters = std::all_of(info.fresh.begin(), info.fresh.end(), is_lora_parameter);
    if (!allow_new_position_params && !info.fresh.empty() && !only_adapters)
      throw CheckpointError("'" + path + "' has no " + info.fresh.front() + " (a position scheme the folder was not made with)");
    return info;
  }
  auto root = open_archive(path);
  CheckpointInfo info;
  try {
    torch::serialize::InputArchive m;
    root.read("model", m);
    // Load into a copy of the parameter list first, so a shape mismatch names the tensor.
    torch::NoGradGuard ng;
    for (auto& p : model->named_parameters()) {
      torch::Tensor t;
      bool found = read_nested(m, p.key(), t, false);
      // Parameters a base checkpoint may lack: position-scheme ones and LoRA adapters.
      const bool position = p.key().rfind("pos.", 0) == 0 || is_lora_parameter(p.key());
      if (!found && allow_new_position_params && p.key().rfind("pos.base.", 0) == 0)
        found = read_nested(m, "pos." + p.key().substr(9), t, false);
      if (!found && allow_new_position_params && position) {
        info.fresh.push_back(p.key());
        continue;
      }
      if (!found) throw CheckpointError("checkpoint '" + path + "' has no tensor '" + p.key() + "' (different model?)");
      t = t.to(torch::kCPU);
      if (t.sizes() != p.value().sizes() && p.key().rfind("pos.", 0) == 0) {
        auto adapted = model->position_scheme().adapt_loaded(p.key().substr(4), t);
        if (adapted.defined()) t = adapted;
      }
      if (t.sizes() != p.value().sizes()) {
        std::ostringstream s;
        s << "checkpoint '" << path << "': tensor '" << p.key() << "' has shape " << t.sizes() << ", the model needs "
          << p.value().sizes();
        throw CheckpointError(s.str());
      }
      p.value().copy_(t);
    }
    for (auto& b : model->named_buffers()) {
      torch::Tensor t;
      if (read_nested(m, b.key(), t, true) && t.sizes() == b.value().sizes()) b.value().copy_(t);
    }
    if (optim) {
      torch::serialize::InputArchive o;
      if (!root.try_read("optim", o)) throw CheckpointError("checkpoint '" + path + "' has no optimizer state");
      optim->load(o);
    }
    c10::IValue step, cfg;
    root.read("step", step);
    root.read("config", cfg);
    info.step = step.toInt();
    info.config_json = cfg.toStringRef();
  } catch (const CheckpointError&) {
    throw;
  } catch (const PositionRangeError& e) {
    throw CheckpointError("checkpoint '" + path + "': " + e.what());
  } catch (const std::exception& e) {
    throw CheckpointError("checkpoint '" + path + "' is unreadable or corrupt: " + first_line(e.what()));
  }
  return info;
}

std::string checkpoint_path(const std::string& run_dir, int64_t step) {
  char name[64];
  std::snprintf(name, sizeof name, "ckpt-%08lld.pt", static_cast<long long>(step));
  return (fs::path(run_dir) / name).string();
}

static std::vector<fs::path> step_checkpoints(const std::string& run_dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::is_directory(run_dir, ec)) return out;
  for (auto& e : fs::directory_iterator(run_dir, ec)) {
    auto n = e.path().filename().string();
    if (n.rfind("ckpt-", 0) == 0 && e.path().extension() == ".pt") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<std::string> latest_checkpoint(const std::string& run_dir) {
  auto all = step_checkpoints(run_dir);
  if (!all.empty()) return all.back().string();
  const auto hf = hf_checkpoint_dir(run_dir);
  if (is_hf_checkpoint(hf)) return hf;
  return std::nullopt;
}

std::string hf_checkpoint_dir(const std::string& run_dir) { return (fs::path(run_dir) / "hf").string(); }

bool is_hf_checkpoint(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec) && fs::exists(fs::path(path) / "config.json", ec);
}

void prune_checkpoints(const std::string& run_dir, int keep) {
  auto all = step_checkpoints(run_dir);
  for (size_t i = 0; i + static_cast<size_t>(keep) < all.size(); ++i) {
    std::error_code ec;
    fs::remove(all[i], ec);
  }
}

}  // namespace ctx
