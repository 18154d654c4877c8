// Chunked attention capture: for each chunk of query rows, the scores against the keys up to the
// chunk's last row (later keys are masked for every row of it) are pooled into per-tile sums and
// maxima, a cumulative sum gives the mass per distance bin, and the chunk is dropped.
#include "eval/attention_capture.h"

#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "config/run_config.h"

namespace ctx {
namespace {

// A piece of one tile inside a range of an axis: the tile index and its [start, end) in the range's
// local coordinates.
struct Piece {
  int64_t tile, start, end;
};

std::vector<Piece> pieces_of(const std::vector<int64_t>& bounds, int64_t lo, int64_t hi) {
  std::vector<Piece> out;
  const int64_t G = static_cast<int64_t>(bounds.size()) - 1;
  // First tile whose end is past lo.
  auto it = std::upper_bound(bounds.begin(), bounds.end(), lo);
  for (int64_t t = std::max<int64_t>(0, (it - bounds.begin()) - 1); t < G && bounds[t] < hi; ++t) {
    const int64_t s = std::max(bounds[t], lo), e = std::min(bounds[t + 1], hi);
    if (e > s) out.push_back({t, s - lo, e - lo});
  }
  return out;
}

// Sum and max of x over each piece along `dim` (pieces cover x's axis in order, widths may differ):
// one gather into [.., pieces, widest, ..] whose padding repeats a member of the same piece
// (harmless for the max) and is masked out of the sum.
std::pair<torch::Tensor, torch::Tensor> pool_pieces(const torch::Tensor& x, int64_t dim,
                                                    const std::vector<Piece>& p) {
  const int64_t n = static_cast<int64_t>(p.size());
  int64_t wmax = 0, wmin = std::numeric_limits<int64_t>::max();
  for (auto& q : p) {
    wmax = std::max(wmax, q.end - q.start);
    wmin = std::min(wmin, q.end - q.start);
  }
  auto sizes = x.sizes().vec();
  std::vector<int64_t> split(sizes.begin(), sizes.begin() + dim);
  split.push_back(n);
  split.push_back(wmax);
  split.insert(split.end(), sizes.begin() + dim + 1, sizes.end());
  if (wmin == wmax && p.front().start == 0 && p.back().end == x.size(dim)) {
    auto v = x.reshape(split);  // equal widths covering the axis: a view, no copy
    return {v.sum(dim + 1), v.amax(dim + 1)};
  }
  std::vector<int64_t> idx(static_cast<size_t>(n * wmax));
  std::vector<float> mask(static_cast<size_t>(n * wmax));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t w = p[i].end - p[i].start;
    for (int64_t j = 0; j < wmax; ++j) {
      idx[static_cast<size_t>(i * wmax + j)] = p[i].start + std::min(j, w - 1);
      mask[static_cast<size_t>(i * wmax + j)] = j < w ? 1.f : 0.f;
    }
  }
  auto ti = torch::tensor(idx, torch::kLong).to(x.device());
  auto g = x.index_select(dim, ti).view(split);
  std::vector<int64_t> mshape(split.size(), 1);
  mshape[static_cast<size_t>(dim)] = n;
  mshape[static_cast<size_t>(dim + 1)] = wmax;
  auto m = torch::tensor(mask).to(x.device()).to(x.scalar_type()).view(mshape);
  return {(g * m).sum(dim + 1), g.amax(dim + 1)};
}

std::vector<float> to_floats(const torch::Tensor& t) {
  auto c = t.to(torch::kCPU).to(torch::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

}  // namespace

std::vector<double> distance_edges(int64_t T) {
  std::vector<double> e = {0.0, 1.0};
  while (e.back() < static_cast<double>(T)) e.push_back(e.back() * 2);
  return e;
}

std::vector<int64_t> tile_bounds(int64_t T, int64_t G) {
  std::vector<int64_t> b(static_cast<size_t>(G + 1));
  for (int64_t i = 0; i <= G; ++i) b[static_cast<size_t>(i)] = i * T / G;
  return b;
}

PoolAccumulator begin_pooling(int64_t heads, int64_t T, int64_t grid, int64_t sink_k,
                              const torch::Device& device) {
  PoolAccumulator a;
  a.T = T;
  a.G = std::min(grid, T);
  a.sink_k = sink_k;
  a.bounds = tile_bounds(T, a.G);
  a.edges = distance_edges(T);
  auto o = torch::TensorOptions().dtype(torch::kDouble).device(device);
  const int64_t B = static_cast<int64_t>(a.edges.size()) - 1;
  a.sum = torch::zeros({heads, a.G, a.G}, o);
  a.max = torch::zeros({heads, a.G, a.G}, o);  // probabilities are >= 0: 0 is a neutral start
  a.dist = torch::zeros({heads, B}, o);
  a.ent = torch::zeros({heads, a.G}, o);
  a.sink = torch::zeros({heads, a.G}, o);
  return a;
}

void pool_rows(PoolAccumulator& acc, const torch::Tensor& probs, int64_t r0) {
  const int64_t H = probs.size(0), C = probs.size(1), Tk = probs.size(2);
  const int64_t r1 = r0 + C;
  // Keys: every tile that starts before Tk (a clipped last tile: its missing entries are zeros).
  auto kp = pieces_of(acc.bounds, 0, Tk);
  auto [ksum, kmax] = pool_pieces(probs, 2, kp);  // [H, C, nk]
  auto rp = pieces_of(acc.bounds, r0, r1);
  auto rsum = pool_pieces(ksum, 1, rp).first;  // [H, nr, nk]
  auto rmx = pool_pieces(kmax, 1, rp).second;
  const int64_t t0 = rp.front().tile, nr = static_cast<int64_t>(rp.size()),
                nk = static_cast<int64_t>(kp.size());
  auto sum_slot = acc.sum.narrow(1, t0, nr).narrow(2, 0, nk);
  sum_slot.add_(rsum.to(torch::kDouble));
  auto max_slot = acc.max.narrow(1, t0, nr).narrow(2, 0, nk);
  max_slot.copy_(torch::max(max_slot, rmx.to(torch::kDouble)));

  // Distance: with F(q, x) = mass on keys <= x (a cumulative sum), bin [a, b) holds
  // F(q, q - a) - F(q, q - b); keys before 0 hold nothing.
  auto pd = probs.to(torch::kDouble);
  auto cs = torch::cat({torch::zeros({H, C, 1}, pd.options()), pd.cumsum(-1)}, -1);
  auto e = torch::tensor(acc.edges, torch::TensorOptions().dtype(torch::kLong)).to(probs.device());
  auto q = torch::arange(r0, r1, torch::TensorOptions().dtype(torch::kLong).device(probs.device()));
  auto idx = (q.unsqueeze(1) - e.unsqueeze(0) + 1).clamp_min(0).clamp_max(Tk);  // [C, B+1]
  auto F = torch::gather(cs, 2, idx.unsqueeze(0).expand({H, C, idx.size(1)}));
  const int64_t B = idx.size(1) - 1;
  auto bins = F.narrow(2, 0, B) - F.narrow(2, 1, B);  // [H, C, B]
  acc.dist.add_(bins.sum(1));

  auto ent = -at::xlogy(probs, probs).sum(-1);                       // [H, C]
  auto sink = probs.narrow(2, 0, std::min(acc.sink_k, Tk)).sum(-1);  // [H, C]
  acc.ent.narrow(1, t0, nr).add_(pool_pieces(ent, 1, rp).first.to(torch::kDouble));
  acc.sink.narrow(1, t0, nr).add_(pool_pieces(sink, 1, rp).first.to(torch::kDouble));
}

LayerCapture end_pooling(PoolAccumulator& acc) {
  for (auto* t : {&acc.sum, &acc.max, &acc.dist, &acc.ent, &acc.sink}) *t = t->to(torch::kCPU);
  LayerCapture c;
  auto w =
      torch::tensor(std::vector<int64_t>(acc.bounds.begin() + 1, acc.bounds.end()), torch::kLong) -
      torch::tensor(std::vector<int64_t>(acc.bounds.begin(), acc.bounds.end() - 1), torch::kLong);
  auto wd = w.to(torch::kDouble);
  const int64_t H = acc.sum.size(0);
  c.mean = (acc.sum / (wd.view({1, -1, 1}) * wd.view({1, 1, -1}))).to(torch::kFloat);
  c.max = acc.max.to(torch::kFloat);
  c.distance = (acc.dist / static_cast<double>(acc.T)).to(torch::kFloat);
  c.sink_mass = acc.sink.sum().item<double>() / static_cast<double>(H * acc.T);
  c.entropy = (acc.ent / wd.view({1, -1})).to(torch::kFloat);
  c.sink = (acc.sink / wd.view({1, -1})).to(torch::kFloat);
  return c;
}

void check_capture_request(LanguageModel& model, const std::vector<int64_t>& lengths,
                           int64_t probe_tokens, const CaptureOptions& opt,
                           const std::string& probe_name) {
  const int64_t layers = model->layer_count(), heads = model->config().heads;
  for (auto l : opt.layers)
    if (l < 0 || l >= layers)
      throw ConfigError("layer " + std::to_string(l) + ": the model has " + std::to_string(layers) +
                        " layers (0-" + std::to_string(layers - 1) + ")");
  for (auto h : opt.heads)
    if (h < 0 || h >= heads)
      throw ConfigError("head " + std::to_string(h) + ": the model has " + std::to_string(heads) +
                        " heads (0-" + std::to_string(heads - 1) + ")");
  if (opt.grid < 1) throw ConfigError("grid " + std::to_string(opt.grid) + ": must be >= 1");
  if (opt.chunk < 1) throw ConfigError("chunk " + std::to_string(opt.chunk) + ": must be >= 1");
  if (opt.sink_k < 1) throw ConfigError("sink " + std::to_string(opt.sink_k) + ": must be >= 1");
  const int64_t limit = model->position_scheme().max_position();
  for (auto L : lengths) {
    if (L < 2) throw ConfigError("length " + std::to_string(L) + ": must be >= 2");
    if (limit > 0 && L > limit)
      throw ConfigError("length " + std::to_string(L) + ": beyond the model's " +
                        model->config().position + " positions, which end at " +
                        std::to_string(limit) + " (model.max_positions)");
    if (L > probe_tokens)
      throw ConfigError("length " + std::to_string(L) + ": the probe (" + probe_name +
                        ") has only " + std::to_string(probe_tokens) + " tokens");
  }
}

LengthCapture capture_attention(LanguageModel& model, const std::vector<data::Token>& probe,
                                int64_t length, const CaptureOptions& opt,
                                const torch::Device& device) {
  std::vector<int64_t> layers = opt.layers;
  if (layers.empty())
    for (int64_t l = 0; l < model->layer_count(); ++l) layers.push_back(l);
  std::sort(layers.begin(), layers.end());
  layers.erase(std::unique(layers.begin(), layers.end()), layers.end());
  std::vector<int64_t> heads = opt.heads;
  if (heads.empty())
    for (int64_t h = 0; h < model->config().heads; ++h) heads.push_back(h);
  check_capture_request(model, {length}, static_cast<int64_t>(probe.size()), opt, "probe");

  LengthCapture out;
  out.length = length;
  out.grid = std::min(opt.grid, length);
  out.chunk = opt.chunk;
  out.sink_k = opt.sink_k;
  out.edges = distance_edges(length);

  torch::NoGradGuard ng;
  const bool was_training = model->is_training();
  model->eval();
  std::vector<int64_t> ids(probe.begin(), probe.begin() + length);
  auto tokens = torch::tensor(ids, torch::kLong).view({1, length}).to(device);
  auto positions = torch::arange(length, torch::kFloat).view({1, length}).to(device);
  auto head_idx = torch::tensor(heads, torch::kLong).to(device);
  const int64_t T = length;
  model->visit_attention(
      tokens, positions, layers,
      [&](int64_t layer, const AttentionInputs& in) {
        auto q = in.q[0].index_select(0, head_idx),
             k = in.k[0].index_select(0, head_idx);  // [H, T, Dh]
        torch::Tensor bias;
        if (in.bias.defined()) {
          bias = in.bias[0];  // [H|1, T, T]
          if (bias.size(0) > 1) bias = bias.index_select(0, head_idx);
        }
        const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
        auto acc =
            begin_pooling(static_cast<int64_t>(heads.size()), T, opt.grid, opt.sink_k, device);
        for (int64_t r0 = 0; r0 < T; r0 += opt.chunk) {
          const int64_t r1 = std::min(T, r0 + opt.chunk), C = r1 - r0;
          // The same arithmetic as attend_explicit, on rows [r0, r1) against keys [0, r1).
          auto logits =
              torch::matmul(q.narrow(1, r0, C), k.narrow(1, 0, r1).transpose(-2, -1)).mul_(scale);
          if (bias.defined()) logits = logits + bias.narrow(-2, r0, C).narrow(-1, 0, r1);
          auto qi = torch::arange(r0, r1, torch::TensorOptions().dtype(torch::kLong).device(device))
                        .unsqueeze(1);
          auto kj = torch::arange(r1, torch::TensorOptions().dtype(torch::kLong).device(device))
                        .unsqueeze(0);
          logits = logits.masked_fill(kj > qi, -std::numeric_limits<float>::infinity());
          pool_rows(acc, torch::softmax(logits.to(torch::kFloat), -1), r0);
        }
        auto c = end_pooling(acc);
        c.layer = layer;
        c.heads = heads;
        out.layers.push_back(std::move(c));
      },
      opt.chunk);
  if (was_training) model->train();
  return out;
}

void store_capture(store::RunStore& db, int64_t run, int64_t step, const LengthCapture& c,
                   const std::string& probe, const std::vector<std::string>& token_texts) {
  const std::string base = "attention/" + std::to_string(c.length) + "/";
  if (!token_texts.empty()) {
    const auto n = std::min<size_t>(token_texts.size(), static_cast<size_t>(c.length));
    const std::string text =
        nlohmann::json(std::vector<std::string>(token_texts.begin(),
                                                token_texts.begin() + static_cast<long>(n)))
            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    store::Artifact a;
    a.name = base + "tokens";
    a.step = step;
    a.dtype = "u8";
    a.shape = {static_cast<int64_t>(text.size())};
    a.data.assign(text.begin(), text.end());
    db.put_artifact(run, a);
  }
  std::vector<float> edges(c.edges.begin(), c.edges.end());
  db.put_artifact(run, store::make_f32_artifact(base + "distance_edges", step, edges,
                                                {static_cast<int64_t>(edges.size())}));
  for (const auto& l : c.layers) {
    const std::string p = base + std::to_string(l.layer) + "/";
    auto put = [&](const std::string& name, const torch::Tensor& t) {
      db.put_artifact(run, store::make_f32_artifact(p + name, step, to_floats(t), t.sizes().vec()));
    };
    put("mean", l.mean);
    put("max", l.max);
    put("distance", l.distance);
    put("entropy", l.entropy);
    put("sink", l.sink);
    store::EvalRecord e;
    e.task = "attention";
    e.mode = "capture";
    e.x = static_cast<double>(c.length);
    e.y = static_cast<double>(l.layer);
    e.metric = "sink_mass";
    e.value = l.sink_mass;
    e.step = step;
    e.extra_json =
        nlohmann::json{{"grid", c.grid},      {"chunk", c.chunk},
                       {"sink_k", c.sink_k},  {"heads", static_cast<int64_t>(l.heads.size())},
                       {"head_ids", l.heads}, {"probe", probe}}
            .dump();
    db.record_eval(run, e);
  }
}

}  // namespace ctx
