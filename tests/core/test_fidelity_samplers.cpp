// Fidelity of the training position samplers against the authors' code, as distributions: the
// fixtures in tests/fixtures/fidelity/ hold statistics of many draws of the reference functions
// (tools/make_fidelity_fixtures.py: CLEX's CLEXScalingRotaryEmbedding.forward, CREAM's
// src/train.py::CREAM, PoSE's train_preprocess_function_pose, the RandPos of DeepMind's
// randomized_positional_encodings, PoSE and CREAM, and METHODS.md §4 for E2-LLM, which has no code)
// for the parameters below; our samplers draw as many examples with the same parameters and every
// per-example statistic is compared bin by bin (fidelity_util.h explains the z scores and the
// tolerance).
#include <algorithm>
#include <cmath>
#include <map>

#include "fidelity_util.h"
#include "samplers_test_util.h"

using namespace samplers_test;

namespace {

constexpr int64_t kDraws = 20000;

// One example per batch: begin_batch draws the per-batch quantities (t, g, layout coin) anew.
ctx::data::Example draw(ctx::PositionSampler& s, uint64_t i) {
  ctx::Rng b(ctx::Rng::mix(7, i, 1)), r(ctx::Rng::mix(7, i, 2));
  s.begin_batch(b);
  return s.sample(r);
}

// A document whose token j is j (so a token names its own offset).
std::vector<ctx::data::Document> identity_doc(int n) {
  std::vector<ctx::data::Document> d(1);
  for (int i = 0; i < n; ++i) d[0].tokens.push_back(i);
  return d;
}

std::vector<double> diffs(const std::vector<float>& p, double scale = 1.0) {
  std::vector<double> g;
  for (size_t i = 1; i < p.size(); ++i) g.push_back((static_cast<double>(p[i]) - p[i - 1]) * scale);
  return g;
}

// z score of a per-example mean against the reference's {mean, sd} over n_ref examples.
double mean_z(const nlohmann::json& ref, double n_ref, const std::vector<double>& ours) {
  double m = 0, ss = 0;
  for (double v : ours) m += v;
  m /= static_cast<double>(ours.size());
  for (double v : ours) ss += (v - m) * (v - m);
  const double sd = std::sqrt(ss / static_cast<double>(ours.size() - 1));
  const double sr = ref["sd"].get<double>();
  return (m - ref["mean"].get<double>()) / std::sqrt(sr * sr / n_ref + sd * sd / static_cast<double>(ours.size()));
}

}  // namespace

// Randomized positions: seq_len 128 ids from [0, 512), against DeepMind's
// noisy_fixed_positional_encodings and the RandPos baselines of PoSE and CREAM.
TEST(FidelityRandPos, IdsAndGapsMatchEveryReference) {
  const auto fx = fidelity::load("randpos.json");
  const int64_t n = fx["params"]["n"], lmax = fx["params"]["Lmax"];
  auto docs = docs_of({4000});
  ctx::SamplerContext sc{&docs, n, 1024};
  auto s = make("randpos", {{"max_len", lmax}}, sc);
  ASSERT_GE(fx["references"].size(), 2u);
  for (const auto& ref : fx["references"]) {
    const std::string who = ref["source"]["repo"];
    fidelity::PerExample ids(ref["ids"]), gaps(ref["gaps"]);
    std::vector<double> first, last;
    for (int64_t i = 0; i < kDraws; ++i) {
      auto ex = draw(*s, static_cast<uint64_t>(i));
      ids.add(ex.positions);
      gaps.add(diffs(ex.positions));
      first.push_back(ex.positions.front());
      last.push_back(ex.positions.back());
    }
    EXPECT_SAME_DISTRIBUTION("randpos ids vs " + who, fidelity::compare(ref["ids"], ids));
    EXPECT_SAME_DISTRIBUTION("randpos gaps vs " + who, fidelity::compare(ref["gaps"], gaps));
    const double nr = ref["n"].get<double>();
    EXPECT_LT(std::abs(mean_z(ref["first"], nr, first)), fidelity::kMaxZ) << who;
    EXPECT_LT(std::abs(mean_z(ref["last"], nr, last)), fidelity::kMaxZ) << who;
  }
}

// PoSE: Lc = 128, Lt = 512, documents of 1000 tokens cut to 5 Lc: first-chunk length l0, skip u,
// text offset v and the ids, against train_preprocess_function_pose.
TEST(FidelityPose, ChunkLengthSkipTextOffsetAndIdsMatchTheCode) {
  const auto fx = fidelity::load("pose.json");
  const auto& p = fx["params"];
  const int64_t Lc = p["Lc"], Lt = p["Lt"];
  // Our documents carry one extra token that is only a target: usable = min(len - 1, 5 Lc).
  auto docs = docs_of({p["doc_len"].get<int>() + 1});
  ctx::SamplerContext sc{&docs, Lc, 1024};
  auto s = make("pose", {{"target_len", Lt}, {"truncate", p["truncate"]}}, sc);
  fidelity::PerExample ids(fx["ids"]);
  std::vector<int64_t> l0;
  std::vector<double> u, v;
  for (int64_t i = 0; i < kDraws; ++i) {
    auto ex = draw(*s, static_cast<uint64_t>(i));
    l0.push_back(static_cast<int64_t>(ex.info.at("len0")));
    u.push_back(ex.info.at("u1"));
    v.push_back(ex.info.at("v1"));
    ids.add(ex.positions);
  }
  EXPECT_SAME_DISTRIBUTION("pose l0", fidelity::compare_ints(fx["l0"], l0));
  EXPECT_SAME_DISTRIBUTION("pose u", fidelity::compare_binned(fx["u"], u));
  EXPECT_SAME_DISTRIBUTION("pose v", fidelity::compare_binned(fx["v"], v));
  EXPECT_SAME_DISTRIBUTION("pose ids", fidelity::compare(fx["ids"], ids));
  // The ranges are reached exactly (the reference hit both ends of u and v in its draws).
  EXPECT_EQ(*std::min_element(u.begin(), u.end()), fx["u_range"][0].get<double>());
  EXPECT_EQ(*std::max_element(u.begin(), u.end()), fx["u_range"][1].get<double>());
  EXPECT_EQ(*std::min_element(v.begin(), v.end()), fx["v_range"][0].get<double>());
  EXPECT_EQ(*std::max_element(v.begin(), v.end()), fx["v_range"][1].get<double>());
}

// CREAM: N = 128, k = 4, sigma 3, 512-token documents, one coin per example: the layout split, and
// per layout the scale r, the middle's last id e, its first id, the offset of its text, and the ids.
TEST(FidelityCream, LayoutsScalesMiddlesAndIdsMatchTheCode) {
  const auto fx = fidelity::load("cream.json");
  const auto& p = fx["params"];
  const int64_t N = p["N"], k = p["factor"];
  auto docs = identity_doc(p["doc_len"].get<int>() + 1);  // + the target of the last input
  ctx::SamplerContext sc{&docs, N, 1024};
  auto s = make("cream", {{"factor", k}, {"sigma", p["sigma"]}}, sc);
  struct Acc {
    std::vector<int64_t> r;
    std::vector<double> e, mid_first, mid_text;
    std::unique_ptr<fidelity::PerExample> ids;
  };
  std::map<int64_t, Acc> by_head;
  std::map<int64_t, const nlohmann::json*> ref_of;
  for (const auto& l : fx["layouts"]) {
    ref_of[l["head"]] = &l;
    by_head[l["head"]].ids = std::make_unique<fidelity::PerExample>(l["ids"]);
  }
  ASSERT_EQ(by_head.size(), 2u);
  fidelity::PerExample all(fx["ids"]);
  for (int64_t i = 0; i < kDraws; ++i) {
    auto ex = draw(*s, static_cast<uint64_t>(i));
    const int64_t h = ex.info.at("layout") == 0 ? N / 3 : 4 * k;
    ASSERT_TRUE(by_head.count(h)) << h;
    auto& a = by_head[h];
    a.r.push_back(static_cast<int64_t>(ex.info.at("r")));
    a.e.push_back(ex.info.at("e"));
    a.mid_first.push_back(ex.positions[static_cast<size_t>(h)]);
    a.mid_text.push_back(ex.tokens[static_cast<size_t>(h)]);
    EXPECT_EQ(ex.positions[static_cast<size_t>(N - h - 1)], ex.info.at("e"));  // the middle ends at e
    EXPECT_EQ(ex.positions.back(), static_cast<float>(k * N - 1));             // the tail ends the window
    a.ids->add(ex.positions);
    all.add(ex.positions);
  }
  // The coin: the fixture calls the reference once per example (params.coin; the code itself draws
  // one coin per datasets.map batch), so the split is compared as examples on both sides.
  std::vector<int64_t> ref_split, our_split;
  for (const auto& l : fx["layouts"]) {
    ref_split.push_back(l["n"].get<int64_t>());
    our_split.push_back(static_cast<int64_t>(by_head[l["head"].get<int64_t>()].r.size()));
  }
  for (auto& [h, a] : by_head) {
    const auto& ref = *ref_of[h];
    const std::string tag = "cream head " + std::to_string(h);
    EXPECT_SAME_DISTRIBUTION(tag + " r", fidelity::compare_ints(ref["r"], a.r));
    EXPECT_SAME_DISTRIBUTION(tag + " e", fidelity::compare_binned(ref["e"], a.e));
    EXPECT_SAME_DISTRIBUTION(tag + " middle first id", fidelity::compare_binned(ref["mid_first_id"], a.mid_first));
    EXPECT_SAME_DISTRIBUTION(tag + " middle text offset", fidelity::compare_binned(ref["mid_text"], a.mid_text));
    EXPECT_SAME_DISTRIBUTION(tag + " ids", fidelity::compare(ref["ids"], *a.ids));
    EXPECT_EQ(*std::min_element(a.e.begin(), a.e.end()), ref["e_min"].get<double>()) << tag;
    EXPECT_EQ(*std::max_element(a.e.begin(), a.e.end()), ref["e_max"].get<double>()) << tag;
  }
  EXPECT_SAME_DISTRIBUTION("cream layout split", fidelity::compare_counts(ref_split, our_split));
  EXPECT_SAME_DISTRIBUTION("cream ids", fidelity::compare(fx["ids"], all));
}

// CLEX training positions, against CLEXScalingRotaryEmbedding.forward(do_train=True): the scale t,
// the ids normalised by their span L*t/s, the gaps in units of 1/s, and per t the fixed ends and the
// extreme drawn ids; at L = L0 (s = 1) and at L = 3 L0 (s = 3, fractional ids).
TEST(FidelityClex, TrainingScaleAndPositionsMatchTheCode) {
  const auto fx = fidelity::load("clex.json");
  for (const auto& ref : fx["positions"]) {
    const int64_t L = ref["L"], L0 = ref["L0"], max_t = ref["max_t"], s_ref = ref["s"];
    const std::string tag = ref["name"];
    auto docs = docs_of({4 * static_cast<int>(L)});
    ctx::SamplerContext sc{&docs, L, 1024};
    auto s = make("clex_positions", {{"original_len", L0}, {"max_t", max_t}}, sc);
    fidelity::PerExample norm(ref["normalized_ids"]), gaps(ref["gaps_times_s"]);
    std::vector<int64_t> ts;
    std::map<int64_t, std::pair<double, double>> extremes;  // t -> (min drawn, max drawn)
    const int64_t n = ref["t"]["n"].get<int64_t>();
    for (int64_t i = 0; i < n; ++i) {
      auto ex = draw(*s, static_cast<uint64_t>(i));
      const auto t = static_cast<int64_t>(ex.info.at("t"));
      ASSERT_EQ(ex.info.at("s"), s_ref);
      ts.push_back(t);
      const double span = static_cast<double>(L * t / s_ref);
      std::vector<double> u;
      for (float x : ex.positions) u.push_back(x / span);
      norm.add(u);
      gaps.add(diffs(ex.positions, static_cast<double>(s_ref)));
      const auto& pt = ref["per_t"][std::to_string(t)];
      EXPECT_EQ(ex.positions.front(), pt["first"][0].get<float>()) << tag;
      EXPECT_EQ(ex.positions.back(), pt["last"][0].get<float>()) << tag << " t " << t;
      auto [it, fresh] = extremes.try_emplace(t, 1e18, -1e18);
      it->second.first = std::min(it->second.first, static_cast<double>(ex.positions[1]));
      it->second.second = std::max(it->second.second, static_cast<double>(*std::max_element(
                                                          ex.positions.begin() + 1, ex.positions.end() - 1)));
    }
    EXPECT_SAME_DISTRIBUTION(tag + " t", fidelity::compare_ints(ref["t"], ts));
    EXPECT_SAME_DISTRIBUTION(tag + " normalised ids", fidelity::compare(ref["normalized_ids"], norm));
    EXPECT_SAME_DISTRIBUTION(tag + " gaps", fidelity::compare(ref["gaps_times_s"], gaps));
    for (const auto& [t, mm] : extremes) {
      const auto& pt = ref["per_t"][std::to_string(t)];
      EXPECT_NEAR(mm.first, pt["min_drawn"].get<double>(), 1e-6) << tag << " t " << t;
      EXPECT_NEAR(mm.second, pt["max_drawn"].get<double>(), 1e-5) << tag << " t " << t;
    }
  }
}

// E2-LLM (no released code; the fixture transcribes METHODS.md §4, Eq. 5-7): per step
// g ~ U{1..g_max}, t ~ U{0..g L - R}, ids [0..3] then [4 + t .. R - 1 + t], all divided by g.
TEST(FidelityE2llm, ScaleOffsetAndSinkIdsFollowTheEquations) {
  const auto fx = fidelity::load("e2llm.json");
  const auto& p = fx["params"];
  const int64_t R = p["R"], L = p["L"], g_max = p["g_max"], sinks = p["n_sink"];
  auto docs = docs_of({4000});
  ctx::SamplerContext sc{&docs, R, 1024};
  auto s = make("e2llm", {{"original_len", L}, {"g_max", g_max}, {"n_sink", sinks}}, sc);
  // The transcription itself: each fixture example is Eq. 5-7.
  for (const auto& e : fx["examples"]) {
    const double g = e["g"], t = e["t"];
    for (int64_t m = 0; m < R; ++m)
      EXPECT_NEAR(e["ids"][static_cast<size_t>(m)].get<double>(), (m < sinks ? m : m + t) / g, 1e-6);
  }
  std::vector<int64_t> gs;
  std::vector<double> tfrac;
  fidelity::PerExample ids(fx["ids"]);
  double top = 0;
  for (int64_t i = 0; i < kDraws; ++i) {
    auto ex = draw(*s, static_cast<uint64_t>(i));
    const auto g = static_cast<int64_t>(ex.info.at("g")), t = static_cast<int64_t>(ex.info.at("t"));
    gs.push_back(g);
    const int64_t t_max = g * L - R;
    ASSERT_GE(t, 0);
    ASSERT_LE(t, std::max<int64_t>(t_max, 0));
    if (t_max > 0) tfrac.push_back(static_cast<double>(t) / static_cast<double>(t_max + 1));
    for (int64_t m = 0; m < R; ++m) {
      const double want = static_cast<double>(m < sinks ? m : m + t) / static_cast<double>(g);
      ASSERT_NEAR(ex.positions[static_cast<size_t>(m)], want, 1e-4 * std::max(1.0, want)) << "g " << g << " t " << t;
    }
    top = std::max(top, static_cast<double>(ex.positions.back()));
    ids.add(ex.positions);
  }
  EXPECT_SAME_DISTRIBUTION("e2llm g", fidelity::compare_ints(fx["g"], gs));
  EXPECT_SAME_DISTRIBUTION("e2llm t/(t_max+1)", fidelity::compare_binned(fx["t_fraction"], tfrac));
  EXPECT_SAME_DISTRIBUTION("e2llm ids", fidelity::compare(fx["ids"], ids));
  // "After division by g they all stay below L".
  EXPECT_LT(top, static_cast<double>(L));
  EXPECT_LE(top, fx["max_scaled_id"].get<double>() + 1e-4);
}
