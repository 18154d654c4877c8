// rope, positions, methods: what a config's method does to frequencies and position ids, and
// the registry the window builds its forms from.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <optional>

#include "cli/cli_common.h"
#include "data/corpus.h"
#include "methods/registry.h"
#include "model/rope.h"
#include "store/run_store.h"
#include "train/checkpoint.h"
#include "config/run_config.h"
#include "train/trainer.h"

namespace ctx::cli {
namespace {

struct Histogram {
  double lo = 0, hi = 1;
  std::vector<int64_t> counts;
  nlohmann::json to_json() const {
    std::vector<double> edges;
    for (size_t i = 0; i <= counts.size(); ++i)
      edges.push_back(lo + (hi - lo) * static_cast<double>(i) / static_cast<double>(counts.size()));
    return {{"edges", edges}, {"counts", counts}};
  }
};

Histogram histogram(const std::vector<double>& v, int64_t bins, double lo, double hi) {
  Histogram h;
  h.lo = lo;
  h.hi = std::max(hi, lo + 1);
  h.counts.assign(static_cast<size_t>(bins), 0);
  for (double x : v) {
    auto b = static_cast<int64_t>((x - h.lo) / (h.hi - h.lo) * static_cast<double>(bins));
    h.counts[static_cast<size_t>(std::clamp<int64_t>(b, 0, bins - 1))]++;
  }
  return h;
}

}  // namespace

int cmd_rope(const Common& c, const std::string& config_path, int64_t length, int64_t run) {
  if (config_path.empty() == (run <= 0))
    throw UsageError("rope: give either --config FILE or --run N");
  std::optional<store::RunStore> db;
  RunConfig cfg;
  if (run > 0) {
    db.emplace(c.db);
    cfg = config_of_run(db->get_run(run));
  } else {
    cfg = load_run_config(config_path);
  }
  if (cfg.model.position != "rope")
    throw UsageError("model.position is '" + cfg.model.position +
                     "': only rope models have RoPE frequencies");
  RopeBase base;
  base.theta = cfg.model.position_params["theta"].get<double>();
  base.rot_dim = static_cast<int64_t>(static_cast<double>(cfg.model.head_dim()) *
                                      cfg.model.position_params["rotary_fraction"].get<double>());
  base.max_positions = cfg.model.max_positions;
  const int64_t L = length > 0 ? length : cfg.train.seq_len;
  RopeFreqs f;
  if (run > 0) {
    // The run's latest checkpoint: what its model really uses (a trained CLEX ODE included).
    const auto rec = db->get_run(run);
    const auto ck = latest_checkpoint(rec.run_dir);
    if (!ck)
      throw CheckpointError("run " + std::to_string(run) + " has no checkpoint in '" + rec.run_dir +
                            "'");
    auto model = build_model(cfg, WeightInit::Skip);
    load_checkpoint(*ck, model);
    f = dynamic_cast<RopeScheme&>(model->position_scheme()).frequencies_in_use(L);
    f.resolved["rope_type"] = rope_scaling_name(cfg.rope_scaling);
    f.resolved["checkpoint"] = *ck;
  } else {
    f = rope_frequencies(cfg.rope_scaling, base, L);
  }
  auto b = base_inv_freq(base.rot_dim, base.theta);
  std::vector<double> wavelength;
  for (double v : f.inv_freq) wavelength.push_back(2 * M_PI / v);
  if (c.json) {
    print_json({{"length", L},
                {"inv_freq", f.inv_freq},
                {"attention_factor", f.attention_factor},
                {"base_inv_freq", b},
                {"wavelength", wavelength},
                {"resolved", f.resolved}});
    return 0;
  }
  std::cout << "rope_type " << f.resolved.value("rope_type", "default") << " at length " << L
            << ", attention factor " << f.attention_factor << " (logits x"
            << f.attention_factor * f.attention_factor << ")\n";
  std::cout << "resolved " << f.resolved.dump() << "\n";
  std::printf("%5s  %14s  %14s  %10s  %12s\n", "pair", "inv_freq", "base", "ratio", "wavelength");
  for (size_t j = 0; j < f.inv_freq.size(); ++j)
    std::printf("%5zu  %14.6e  %14.6e  %10.4f  %12.1f\n", j, f.inv_freq[j], b[j],
                b[j] / f.inv_freq[j], wavelength[j]);
  return 0;
}

int cmd_positions(const Common& c, const std::string& config_path, int64_t samples, int64_t bins) {
  if (samples < 1) throw UsageError("--samples: must be >= 1");
  if (bins < 1) throw UsageError("--bins: must be >= 1");
  auto cfg = load_run_config(config_path);
  auto split = load_run_split(cfg, cache_dir_for(c.db));
  SamplerContext sctx;
  sctx.docs = &split.train;
  sctx.seq_len = cfg.train.seq_len;
  sctx.max_positions = cfg.model.max_positions;
  const auto* m = get_method(MethodKind::Sampler, cfg.train.positions, "train.positions.type");
  auto sampler = m->sampler(cfg.train.positions_params, sctx);

  nlohmann::json ids = nlohmann::json::array();
  std::vector<double> all_ids, dists;
  double max_id = 0;
  for (int64_t i = 0; i < samples; ++i) {
    // Same seeding as the trainer's first step, so these are the ids step 1 presents.
    Rng brng(Rng::mix(cfg.seed, 1, 0, 0xba7c));
    if (i == 0) sampler->begin_batch(brng);
    Rng rng(Rng::mix(cfg.seed, 1, 0, static_cast<uint64_t>(i) + 1));
    auto ex = sampler->sample(rng);
    ids.push_back(ex.positions);
    for (float p : ex.positions) {
      all_ids.push_back(p);
      max_id = std::max(max_id, static_cast<double>(p));
    }
    // Causal query-key distances; long examples are strided to keep this O(T * 256).
    const size_t T = ex.positions.size();
    const size_t step = std::max<size_t>(1, T / 256);
    for (size_t q = 0; q < T; q += step)
      for (size_t k = 0; k <= q; k += step)
        dists.push_back(static_cast<double>(ex.positions[q] - ex.positions[k]));
  }
  auto hid = histogram(all_ids, bins, 0, max_id + 1);
  double max_d = dists.empty() ? 1 : *std::max_element(dists.begin(), dists.end());
  auto hd = histogram(dists, bins, 0, max_d + 1);
  if (c.json) {
    print_json({{"sampler", cfg.train.positions},
                {"params", cfg.train.positions_params},
                {"seq_len", cfg.train.seq_len},
                {"ids", ids},
                {"id_histogram", hid.to_json()},
                {"distance_histogram", hd.to_json()}});
    return 0;
  }
  std::cout << "sampler " << cfg.train.positions << " " << cfg.train.positions_params.dump() << ", "
            << samples << " examples of " << cfg.train.seq_len << " tokens\n";
  for (size_t i = 0; i < ids.size() && i < 4; ++i) {
    std::cout << "  ids[" << i << "]:";
    const auto& v = ids[i];
    for (size_t k = 0; k < v.size() && k < 12; ++k) std::cout << " " << v[k].get<double>();
    if (v.size() > 12) std::cout << " ... " << v.back().get<double>();
    std::cout << "\n";
  }
  std::cout << "id histogram over [0, " << max_id + 1 << "):";
  for (auto n : hid.counts) std::cout << " " << n;
  std::cout << "\n";
  return 0;
}

int cmd_methods(const Common& c) {
  auto reg = registry_json();
  if (c.json) {
    print_json(reg);
    return 0;
  }
  for (auto& m : reg) {
    std::cout << m["kind"].get<std::string>() << " " << m["name"].get<std::string>() << ": "
              << m["doc"].get<std::string>() << "\n";
    for (auto& p : m["params"])
      std::cout << "    " << p["key"].get<std::string>() << " (" << p["type"].get<std::string>()
                << ", default " << p["default"].dump() << "): " << p["doc"].get<std::string>()
                << "\n";
  }
  return 0;
}

}  // namespace ctx::cli
