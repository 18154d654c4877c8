// ZeRO-1 AdamW: ownership, the local step and the owners' broadcasts, and the gathered optimizer
// file (one archive: "p<i>" = {name, exp_avg, exp_avg_sq, step} per trainable parameter).
#include "train/zero_optimizer.h"

#include <torch/serialize.h>

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <sstream>
#include <type_traits>

#include "train/checkpoint.h"
#include "train/distributed.h"
#include "train/fused_adamw.h"
#include "train/optimizer_state_key.h"
#include "train/run_setup.h"

namespace fs = std::filesystem;

namespace ctx {
namespace {

constexpr int64_t kBroadcastBytes = int64_t{256} << 20;  // per broadcast: bounds the staging buffer
constexpr int kTagAvg = 11, kTagAvgSq = 12, kTagStep = 13;

// Whole parameters to ranks, largest first, each to the least loaded rank (ties: the lowest).
std::vector<int> assign_owners(const std::vector<std::pair<std::string, torch::Tensor>>& params, int world) {
  std::vector<size_t> order(params.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return params[a].second.numel() > params[b].second.numel(); });
  std::vector<int64_t> load(static_cast<size_t>(world), 0);
  std::vector<int> owners(params.size(), 0);
  for (size_t i : order) {
    const auto r = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    owners[i] = static_cast<int>(r);
    load[r] += params[i].second.numel();
  }
  return owners;
}

}  // namespace

struct ShardedAdamW::Moments {
  torch::Tensor exp_avg, exp_avg_sq;
  int64_t step = 0;
};

ShardedAdamW::ShardedAdamW(LanguageModel& model, const TrainConfig& t, Distributed& dist) : dist_(dist) {
  for (auto& p : model->named_parameters())
    if (p.value().requires_grad()) params_.emplace_back(p.key(), p.value());
  owners_ = assign_owners(params_, dist_.world());
  std::vector<const void*> mine;
  for (size_t i = 0; i < params_.size(); ++i)
    if (owners_[i] == dist_.rank()) mine.push_back(params_[i].second.unsafeGetTensorImpl());
  owned_ = build_optimizer(model, t, [&](const torch::Tensor& p) {
    return std::find(mine.begin(), mine.end(), p.unsafeGetTensorImpl()) != mine.end();
  });
  local_ = owned_.get();
}

ShardedAdamW::~ShardedAdamW() = default;

std::unique_ptr<torch::optim::AdamW> ShardedAdamW::release_local() { return std::move(owned_); }

void ShardedAdamW::step() {
  if (!fused_ && FusedAdamW::available(*local_)) fused_ = std::make_unique<FusedAdamW>(*local_);
  if (fused_)
    fused_->step();
  else
    local_->step();
  broadcast_owned();
}

void ShardedAdamW::broadcast_owned() {
  torch::NoGradGuard ng;
  for (int r = 0; r < dist_.world(); ++r) {
    std::vector<size_t> batch;
    int64_t bytes = 0;
    auto flush = [&] {
      if (batch.empty()) return;
      int64_t n = 0;
      for (size_t i : batch) n += params_[i].second.numel();
      const auto& first = params_[batch.front()].second;
      torch::Tensor buf;
      if (dist_.rank() == r) {
        std::vector<torch::Tensor> flat;
        for (size_t i : batch) flat.push_back(params_[i].second.reshape(-1));
        buf = torch::cat(flat);
      } else {
        buf = torch::empty({n}, first.options());
      }
      dist_.broadcast(buf, r);
      if (dist_.rank() != r) {
        int64_t off = 0;
        for (size_t i : batch) {
          auto& p = params_[i].second;
          p.copy_(buf.narrow(0, off, p.numel()).view_as(p));
          off += p.numel();
        }
      }
      batch.clear();
      bytes = 0;
    };
    for (size_t i = 0; i < params_.size(); ++i) {
      if (owners_[i] != r) continue;
      const auto& p = params_[i].second;
      if (!batch.empty() && params_[batch.front()].second.scalar_type() != p.scalar_type()) flush();
      batch.push_back(i);
      bytes += p.numel() * static_cast<int64_t>(p.element_size());
      if (bytes >= kBroadcastBytes) flush();
    }
    flush();
  }
}

ShardedAdamW::Moments ShardedAdamW::moments_of(size_t i) {
  const auto& p = params_[i].second;
  auto& state = local_->state();
  auto it = state.find(optimizer_state_key(p));
  if (it == state.end()) return {torch::zeros_like(p), torch::zeros_like(p), 0};
  auto& s = static_cast<torch::optim::AdamWParamState&>(*it->second);
  return {s.exp_avg(), s.exp_avg_sq(), s.step()};
}

void ShardedAdamW::set_moments(size_t i, const torch::Tensor& m, const torch::Tensor& v, int64_t step) {
  const auto& p = params_[i].second;
  auto s = std::make_unique<torch::optim::AdamWParamState>();
  s->step(step);
  s->exp_avg(m.to(p.device(), p.scalar_type()).contiguous());
  s->exp_avg_sq(v.to(p.device(), p.scalar_type()).contiguous());
  local_->state()[optimizer_state_key(p)] = std::move(s);
}

void ShardedAdamW::save(const std::string& path) {
  torch::NoGradGuard ng;
  torch::serialize::OutputArchive root;
  const auto long_opts = torch::TensorOptions().dtype(torch::kLong).device(dist_.device());
  for (size_t i = 0; i < params_.size(); ++i) {
    const int o = owners_[i];
    if (dist_.rank() != o && !dist_.root()) continue;
    Moments m;
    if (dist_.rank() == o) m = moments_of(i);
    if (o != 0) {
      auto step = torch::full({1}, m.step, long_opts);
      if (dist_.rank() == o) {
        dist_.send(m.exp_avg.contiguous(), 0, kTagAvg);
        dist_.send(m.exp_avg_sq.contiguous(), 0, kTagAvgSq);
        dist_.send(step, 0, kTagStep);
        continue;
      }
      m.exp_avg = torch::empty_like(params_[i].second);
      m.exp_avg_sq = torch::empty_like(params_[i].second);
      dist_.recv(m.exp_avg, o, kTagAvg);
      dist_.recv(m.exp_avg_sq, o, kTagAvgSq);
      dist_.recv(step, o, kTagStep);
      m.step = step.item<int64_t>();
    }
    torch::serialize::OutputArchive p;
    p.write("name", c10::IValue(params_[i].first));
    p.write("exp_avg", m.exp_avg.to(torch::kCPU));
    p.write("exp_avg_sq", m.exp_avg_sq.to(torch::kCPU));
    p.write("step", c10::IValue(m.step));
    root.write("p" + std::to_string(i), p);
  }
  if (!dist_.root()) return;
  root.write("count", c10::IValue(static_cast<int64_t>(params_.size())));
  root.write("format", c10::IValue(std::string("ctxlab-zero1-1")));
  const std::string tmp = path + ".tmp";
  root.save_to(tmp);
  fs::rename(tmp, path);
}

void ShardedAdamW::load(const std::string& path) {
  torch::NoGradGuard ng;
  torch::serialize::InputArchive root;
  std::vector<Moments> read;  // rank 0: every parameter's, checked before anything is sent
  std::string error;
  if (dist_.root()) {
    try {
      if (!fs::exists(path)) throw CheckpointError("optimizer state '" + path + "' does not exist");
      root.load_from(path, torch::Device(torch::kCPU));
      c10::IValue count;
      root.read("count", count);
      if (count.toInt() != static_cast<int64_t>(params_.size()))
        throw CheckpointError("optimizer state '" + path + "' holds " + std::to_string(count.toInt()) +
                              " parameters, the model trains " + std::to_string(params_.size()));
      for (size_t i = 0; i < params_.size(); ++i) {
        torch::serialize::InputArchive p;
        root.read("p" + std::to_string(i), p);
        c10::IValue name, step;
        Moments m;
        p.read("name", name);
        p.read("exp_avg", m.exp_avg);
        p.read("exp_avg_sq", m.exp_avg_sq);
        p.read("step", step);
        m.step = step.toInt();
        if (name.toStringRef() != params_[i].first || m.exp_avg.sizes() != params_[i].second.sizes())
          throw CheckpointError("optimizer state '" + path + "': entry " + std::to_string(i) + " is '" +
                                name.toStringRef() + "', not '" + params_[i].first + "' of this model");
        read.push_back(m);
      }
    } catch (const CheckpointError& e) {
      error = e.what();
    } catch (const std::exception& e) {
      std::string msg = e.what();
      error = "optimizer state '" + path + "' is unreadable: " + msg.substr(0, msg.find('\n'));
    }
  }
  if (dist_.any(!error.empty())) throw CheckpointError(error.empty() ? "rank 0 could not read " + path : error);
  const auto long_opts = torch::TensorOptions().dtype(torch::kLong).device(dist_.device());
  for (size_t i = 0; i < params_.size(); ++i) {
    const int o = owners_[i];
    if (dist_.root() && o == 0) {
      set_moments(i, read[i].exp_avg, read[i].exp_avg_sq, read[i].step);
    } else if (dist_.root()) {
      const auto& p = params_[i].second;
      dist_.send(read[i].exp_avg.to(p.device(), p.scalar_type()).contiguous(), o, kTagAvg);
      dist_.send(read[i].exp_avg_sq.to(p.device(), p.scalar_type()).contiguous(), o, kTagAvgSq);
      dist_.send(torch::full({1}, read[i].step, long_opts), o, kTagStep);
    } else if (dist_.rank() == o) {
      auto m = torch::empty_like(params_[i].second), v = torch::empty_like(params_[i].second);
      auto step = torch::empty({1}, long_opts);
      dist_.recv(m, 0, kTagAvg);
      dist_.recv(v, 0, kTagAvgSq);
      dist_.recv(step, 0, kTagStep);
      set_moments(i, m, v, step.item<int64_t>());
    }
  }
}

std::string zero_state_path(const std::string& checkpoint_path) {
  fs::path p(checkpoint_path);
  std::string name = p.filename().string();
  if (name.rfind("ckpt-", 0) == 0) name = "zero-" + name.substr(5);
  return (p.parent_path() / name).string();
}

void prune_zero_states(const std::string& run_dir) {
  std::error_code ec;
  if (!fs::is_directory(run_dir, ec)) return;
  for (auto& e : fs::directory_iterator(run_dir, ec)) {
    const auto n = e.path().filename().string();
    if (n.rfind("zero-", 0) != 0 || e.path().extension() != ".pt") continue;
    if (!fs::exists(e.path().parent_path() / ("ckpt-" + n.substr(5)), ec)) fs::remove(e.path(), ec);
  }
}

}  // namespace ctx
