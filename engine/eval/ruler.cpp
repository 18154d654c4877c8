// The RULER-style sweep: prompts built on all cores, batched by shape, greedy decoding that
// computes logits at the last position only, prefill timed apart, cells scored and stored.
#include "eval/ruler.h"

#include <torch/utils.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

#include "config/run_config.h"
#include "data/retrieval_tasks.h"
#include "eval/retrieval.h"

namespace ctx {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

bool natural_language(const RulerOptions& opt) {
  return opt.tokenizer && opt.tokenizer->kind() != "byte";
}

std::vector<std::string> tasks_of(const RulerOptions& opt) {
  return opt.tasks.empty() ? data::ruler_default_tasks() : opt.tasks;
}

std::vector<double> depths_for(const data::RulerTask& t, const RulerOptions& opt) {
  if (!t.has_depth() || opt.depths.empty()) return {-1};
  return opt.depths;
}

// Runs job(i) for i in [0, n) on up to hardware_concurrency threads; rethrows the first error.
void parallel_for(size_t n, const std::function<void(size_t)>& job) {
  const size_t threads = std::max<size_t>(1, std::min<size_t>(n, std::thread::hardware_concurrency()));
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex mu;
  auto work = [&] {
    for (size_t i = next++; i < n; i = next++) {
      try {
        job(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!error) error = std::current_exception();
        next = n;
      }
    }
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

// What batching needs equal: prompt length, then each segment's generated and forced tokens.
std::vector<int64_t> shape_of(const data::RulerPrompt& p) {
  std::vector<int64_t> k = {static_cast<int64_t>(p.tokens.size()), p.new_tokens};
  for (const auto& t : p.turns) {
    k.push_back(static_cast<int64_t>(t.forced.size()));
    k.push_back(t.new_tokens);
  }
  return k;
}

torch::Tensor rows(const std::vector<const std::vector<data::Token>*>& seqs,
                   const torch::Device& device) {
  const auto B = static_cast<int64_t>(seqs.size()), T = static_cast<int64_t>(seqs[0]->size());
  std::vector<int64_t> flat;
  flat.reserve(static_cast<size_t>(B * T));
  for (const auto* s : seqs) flat.insert(flat.end(), s->begin(), s->end());
  return torch::tensor(flat, torch::kLong).view({B, T}).to(device);
}

// Greedy continuation of prompts of one shape: each segment generates its tokens with one forward
// pass per token (logits of the last position only), then the next turn's question is appended.
// Returns each prompt's generated tokens per segment.
std::vector<std::vector<std::vector<data::Token>>> decode_batch(
    LanguageModel& model, const std::vector<const data::RulerPrompt*>& batch,
    const torch::Device& device, int64_t vocab, RulerResult& timing) {
  const auto B = static_cast<int64_t>(batch.size());
  std::vector<const std::vector<data::Token>*> prompts;
  for (const auto* p : batch) prompts.push_back(&p->tokens);
  auto seq = rows(prompts, device);
  std::vector<std::vector<std::vector<data::Token>>> out(batch.size());
  const auto& first = *batch.front();
  bool prefilled = false;
  for (size_t s = 0; s <= first.turns.size(); ++s) {
    if (s > 0) {
      std::vector<const std::vector<data::Token>*> forced;
      for (const auto* p : batch) forced.push_back(&p->turns[s - 1].forced);
      if (!forced.front()->empty()) seq = torch::cat({seq, rows(forced, device)}, 1);
    }
    const int64_t steps = s == 0 ? first.new_tokens : first.turns[s - 1].new_tokens;
    for (auto& o : out) o.emplace_back();
    for (int64_t g = 0; g < steps; ++g) {
      const auto t0 = Clock::now();
      const int64_t T = seq.size(1);
      auto pos = torch::arange(T, torch::kFloat).unsqueeze(0).expand({B, T}).to(device);
      auto last = model->hidden(seq, pos).select(1, T - 1);
      auto next = argmax_in_vocab(torch::matmul(last, model->head_weight().t()), vocab);
      auto host = next.to(torch::kCPU);
      (prefilled ? timing.decode_seconds : timing.prefill_seconds) += since(t0);
      if (!prefilled) timing.prefill_tokens += B * T;
      prefilled = true;
      timing.generated_tokens += B;
      for (int64_t b = 0; b < B; ++b)
        out[static_cast<size_t>(b)].back().push_back(
            static_cast<data::Token>(host[b].item<int64_t>()));
      if (g + 1 < steps || s < first.turns.size()) seq = torch::cat({seq, next.unsqueeze(1)}, 1);
    }
  }
  return out;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

// One task at one length: every depth x sample prompt, decoded and scored into cells.
struct TaskRun {
  LanguageModel& model;
  const data::RulerSources& src;
  const RulerOptions& opt;
  const torch::Device& device;
  RulerResult& result;
  int64_t& done;
  int64_t total;

  void operator()(const data::RulerTask& task, int64_t L) {
    const auto depths = depths_for(task, opt);
    const auto S = static_cast<size_t>(opt.samples);
    std::vector<data::RulerPrompt> prompts(depths.size() * S);
    const data::Tokenizer* tok = natural_language(opt) ? opt.tokenizer.get() : nullptr;
    const auto t0 = Clock::now();
    parallel_for(prompts.size(), [&](size_t i) {
      // Samples share their seed across depths: sample s has the same content at every depth.
      std::mt19937_64 rng(data::trial_seed(opt.seed, "ruler/" + task.name, L, 0,
                                           static_cast<int64_t>(i % S)));
      prompts[i] = data::make_ruler_prompt(task, src, tok, rng, L, depths[i / S]);
      prompts[i].text.clear();  // only tokens and answers are needed from here on
    });
    result.prompt_seconds += since(t0);
    std::vector<std::string> got(prompts.size());
    std::map<std::vector<int64_t>, std::vector<size_t>> groups;
    for (size_t i = 0; i < prompts.size(); ++i) groups[shape_of(prompts[i])].push_back(i);
    const std::string what = "ruler " + task.name + " " + std::to_string(L);
    const auto B = static_cast<size_t>(opt.batch_size);
    for (const auto& [shape, members] : groups) {
      for (size_t b0 = 0; b0 < members.size(); b0 += B) {
        std::vector<const data::RulerPrompt*> batch;
        for (size_t i = b0; i < std::min(members.size(), b0 + B); ++i)
          batch.push_back(&prompts[members[i]]);
        const auto outs = decode_batch(model, batch, device,
                                       opt.tokenizer ? opt.tokenizer->vocab_size() : -1, result);
        for (size_t k = 0; k < batch.size(); ++k) {
          std::vector<std::string> parts;
          for (const auto& seg : outs[k]) parts.push_back(decode(seg));
          got[members[b0 + k]] = join(parts, "\n");
        }
        done += static_cast<int64_t>(batch.size());
        if (opt.progress) opt.progress(done, total, what);
      }
    }
    for (size_t d = 0; d < depths.size(); ++d) {
      RulerCell c;
      c.task = task.name;
      c.length = L;
      c.y = depths[d];
      double depth_sum = 0;
      for (size_t s = 0; s < S; ++s) {
        const auto& p = prompts[d * S + s];
        const auto& out = got[d * S + s];
        c.samples += 1;
        c.score_sum += data::ruler_score(out, p.expected);
        depth_sum += p.depth;
        if (c.examples.size() < 2) c.examples.push_back({join(p.expected, ", "), out});
      }
      c.mean_depth = task.has_depth() ? depth_sum / static_cast<double>(S) : -1.0;
      result.cells.push_back(std::move(c));
    }
  }

  std::string decode(const std::vector<data::Token>& ids) const {
    if (natural_language(opt)) return opt.tokenizer->decode(ids, true);
    return data::ByteTokenizer::decode(ids);
  }
};

}  // namespace

void check_ruler_request(LanguageModel& model, const RulerOptions& opt, bool has_corpus) {
  if (opt.lengths.empty()) throw ConfigError("ruler: no lengths given");
  if (opt.samples < 1) throw ConfigError("samples " + std::to_string(opt.samples) + ": must be >= 1");
  if (opt.batch_size < 1)
    throw ConfigError("batch size " + std::to_string(opt.batch_size) + ": must be >= 1");
  for (double d : opt.depths)
    if (!(d >= 0 && d <= 1)) throw ConfigError("depth " + config_number(d) + ": must be in [0, 1]");
  const data::Tokenizer* tok = natural_language(opt) ? opt.tokenizer.get() : nullptr;
  const int64_t limit = model->position_scheme().max_position();
  for (const auto& name : tasks_of(opt)) {
    const auto& task = data::ruler_task(name);
    if (task.haystack == "corpus" && !has_corpus)
      throw data::DataError(name + ": the corpus haystack needs the run's validation documents");
    const int64_t min_len = data::min_ruler_length(task, tok);
    for (auto L : opt.lengths) {
      if (L < min_len)
        throw ConfigError("length " + std::to_string(L) + ": too short for a " + name +
                          " prompt (at least " + std::to_string(min_len) + " tokens" +
                          (tok ? " with this tokenizer" : "") + ")");
      if (limit > 0 && L > limit)
        throw ConfigError("length " + std::to_string(L) + ": beyond the model's " +
                          model->config().position + " positions, which end at " +
                          std::to_string(limit) + " (model.max_positions)");
    }
  }
}

RulerResult run_ruler(LanguageModel& model, const data::RulerSources& src, const RulerOptions& opt,
                      const torch::Device& device) {
  check_ruler_request(model, opt, src.corpus != nullptr);
  const auto t0 = Clock::now();
  RulerResult r;
  r.format = natural_language(opt) ? "natural language" : "fact format";
  r.seed = opt.seed;
  torch::NoGradGuard ng;
  const bool was_training = model->is_training();
  model->eval();
  const auto tasks = tasks_of(opt);
  int64_t total = 0, done = 0;
  for (const auto& name : tasks)
    total += static_cast<int64_t>(depths_for(data::ruler_task(name), opt).size()) * opt.samples *
             static_cast<int64_t>(opt.lengths.size());
  TaskRun run{model, src, opt, device, r, done, total};
  for (auto L : opt.lengths)
    for (const auto& name : tasks) run(data::ruler_task(name), L);
  if (was_training) model->train();
  r.seconds = since(t0);
  return r;
}

std::vector<TaskScore> task_scores(const RulerResult& r) {
  std::vector<TaskScore> out;
  for (const auto& c : r.cells) out.push_back({c.task, c.length, c.accuracy()});
  return out;
}

void store_ruler(store::RunStore& db, int64_t run, int64_t step, const RulerResult& r,
                 const EffectiveLength& e) {
  const auto dump = [](const nlohmann::json& j) {
    // Generated bytes need not be UTF-8: invalid ones become U+FFFD instead of failing the dump.
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  std::vector<std::string> tasks;
  for (const auto& c : r.cells) {
    store::EvalRecord rec;
    rec.task = "ruler/" + c.task;
    rec.mode = "greedy";
    rec.x = static_cast<double>(c.length);
    rec.y = c.y;
    rec.metric = "accuracy";
    rec.value = c.accuracy();
    rec.step = step;
    nlohmann::json examples = nlohmann::json::array();
    for (const auto& x : c.examples) examples.push_back({{"expected", x.expected}, {"got", x.got}});
    rec.extra_json = dump({{"samples", c.samples},
                           {"score_sum", c.score_sum},
                           {"examples", examples},
                           {"depth", c.mean_depth},
                           {"seed", r.seed},
                           {"format", r.format}});
    db.record_eval(run, rec);
    if (std::find(tasks.begin(), tasks.end(), c.task) == tasks.end()) tasks.push_back(c.task);
  }
  store::EvalRecord rec;
  rec.task = "ruler";
  rec.mode = "effective_length";
  rec.x = 0;
  rec.y = -1;
  rec.metric = "effective_length";
  rec.value = static_cast<double>(e.length);
  rec.step = step;
  nlohmann::json averages = nlohmann::json::object();
  for (const auto& [L, avg] : e.averages) averages[std::to_string(L)] = avg;
  rec.extra_json = dump({{"threshold", e.threshold},
                         {"reference_length", e.reference_length},
                         {"reference_score", e.reference_score},
                         {"averages", averages},
                         {"tasks", tasks},
                         {"seed", r.seed}});
  db.record_eval(run, rec);
}

}  // namespace ctx
