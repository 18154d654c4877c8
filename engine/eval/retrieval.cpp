// Retrieval sweeps: per cell (length, depth or position bin) `trials` prompts, grouped into batches
// of equal prompt length, decoded greedily and scored by exact match.
#include "eval/retrieval.h"

#include <torch/utils.h>

#include <chrono>
#include <functional>
#include <map>

#include "config/run_config.h"
#include "data/interrupt.h"
#include "data/retrieval_prompts_nl.h"
#include "data/rng.h"
#include "data/text_filler.h"

namespace ctx {
namespace {

bool natural_language(const RetrievalOptions& opt) {
  return opt.tokenizer && opt.tokenizer->kind() != "byte";
}

std::vector<double> depths_of(const RetrievalOptions& opt) {
  if (opt.task == "needle" && opt.depths.empty()) return {0, 20, 40, 60, 80, 100};
  if (opt.task == "passkey" && opt.depths.empty()) return {-1};
  return opt.depths;
}

}  // namespace

void check_retrieval_request(LanguageModel& model, const RetrievalOptions& opt) {
  if (opt.task != "passkey" && opt.task != "needle" && opt.task != "kvretrieval")
    throw ConfigError("task '" + opt.task + "': unknown (passkey, needle or kvretrieval)");
  if (opt.lengths.empty()) throw ConfigError(opt.task + ": no lengths given");
  if (opt.trials < 1) throw ConfigError("trials " + std::to_string(opt.trials) + ": must be >= 1");
  if (opt.bins < 1) throw ConfigError("bins " + std::to_string(opt.bins) + ": must be >= 1");
  if (opt.pairs < 0 || opt.pairs == 1)
    throw ConfigError("pairs " + std::to_string(opt.pairs) +
                      ": must be 0 (as many as fit) or >= 2");
  if (opt.batch_size < 1)
    throw ConfigError("batch size " + std::to_string(opt.batch_size) + ": must be >= 1");
  const double hi = opt.task == "needle" ? 100.0 : 1.0;
  for (double d : opt.task == "kvretrieval" ? std::vector<double>{} : opt.depths)
    if (!(d >= 0 && d <= hi))
      throw ConfigError("depth " + config_number(d) + ": must be in [0, " + config_number(hi) +
                        "]" + (opt.task == "needle" ? " (percent)" : ""));
  const int64_t limit = model->position_scheme().max_position();
  const int64_t min_len = natural_language(opt)
                              ? data::min_nl_prompt_length(*opt.tokenizer, opt.task)
                              : data::min_prompt_length(opt.task);
  for (auto L : opt.lengths) {
    if (L < min_len)
      throw ConfigError("length " + std::to_string(L) + ": too short for a " + opt.task +
                        " prompt (at least " + std::to_string(min_len) + " tokens)");
    if (limit > 0 && L > limit)
      throw ConfigError("length " + std::to_string(L) + ": beyond the model's " +
                        model->config().position + " positions, which end at " +
                        std::to_string(limit) + " (model.max_positions)");
  }
}

torch::Tensor argmax_in_vocab(const torch::Tensor& logits, int64_t vocab) {
  if (vocab > 0 && vocab < logits.size(-1)) return logits.narrow(-1, 0, vocab).argmax(-1);
  return logits.argmax(-1);
}

std::vector<std::vector<data::Token>> greedy_decode(
    LanguageModel& model, const std::vector<std::vector<data::Token>>& prompts, int64_t new_tokens,
    const torch::Device& device, int64_t vocab) {
  const int64_t B = static_cast<int64_t>(prompts.size()),
                P = static_cast<int64_t>(prompts.front().size());
  std::vector<int64_t> flat;
  for (const auto& p : prompts) flat.insert(flat.end(), p.begin(), p.end());
  auto seq = torch::tensor(flat, torch::kLong).view({B, P}).to(device);
  std::vector<std::vector<data::Token>> out(static_cast<size_t>(B));
  for (int64_t g = 0; g < new_tokens; ++g) {
    check_stop("retrieval");
    const int64_t T = seq.size(1);
    auto pos = torch::arange(T, torch::kFloat).unsqueeze(0).expand({B, T}).to(device);
    auto next = argmax_in_vocab(model->forward(seq, pos).select(1, T - 1), vocab);  // [B]
    auto host = next.to(torch::kCPU);
    for (int64_t b = 0; b < B; ++b)
      out[static_cast<size_t>(b)].push_back(static_cast<data::Token>(host[b].item<int64_t>()));
    if (g + 1 < new_tokens) seq = torch::cat({seq, next.unsqueeze(1)}, 1);
  }
  return out;
}

namespace {

// One prompt of a cell; `y` is the cell's depth (or the relative position for key-value).
using MakePrompt =
    std::function<data::RetrievalPrompt(std::mt19937_64& rng, int64_t length, double y)>;

RetrievalResult sweep(LanguageModel& model, const RetrievalOptions& opt, const std::string& source,
                      const MakePrompt& make,
                      const std::function<std::string(const std::vector<data::Token>&)>& decode,
                      const std::function<bool(const std::string&, const std::string&)>& score,
                      const torch::Device& device) {
  check_retrieval_request(model, opt);
  const auto t0 = std::chrono::steady_clock::now();
  RetrievalResult r;
  r.task = opt.task;
  r.filler = source;
  r.seed = opt.seed;
  torch::NoGradGuard ng;
  const bool was_training = model->is_training();
  model->eval();

  const bool by_position = opt.task == "kvretrieval";
  const auto depths = depths_of(opt);
  const int64_t cells = by_position ? opt.bins : static_cast<int64_t>(depths.size());
  for (auto L : opt.lengths) {
    for (int64_t c = 0; c < cells; ++c) {
      RetrievalCell cell;
      cell.length = L;
      cell.y = by_position ? (static_cast<double>(c) + 0.5) / static_cast<double>(opt.bins)
                           : depths[static_cast<size_t>(c)];
      std::vector<data::RetrievalPrompt> prompts;
      for (int64_t t = 0; t < opt.trials; ++t) {
        // Depth tasks share the seed across depths: trial t has the same fact and filler at every
        // depth.
        std::mt19937_64 rng(data::trial_seed(opt.seed, opt.task, L, by_position ? c : 0, t));
        double y = cell.y;
        if (by_position)
          y = (static_cast<double>(c) + data::uniform_unit(rng)) / static_cast<double>(opt.bins);
        if (opt.task == "needle") y /= 100.0;
        prompts.push_back(make(rng, L, y));
      }
      // Batch prompts of equal length that generate equally many tokens.
      std::map<std::pair<size_t, int64_t>, std::vector<size_t>> groups;
      for (size_t i = 0; i < prompts.size(); ++i)
        groups[{prompts[i].tokens.size(), prompts[i].new_tokens}].push_back(i);
      std::vector<std::string> got(prompts.size());
      for (const auto& [key, members] : groups) {
        for (size_t b0 = 0; b0 < members.size(); b0 += static_cast<size_t>(opt.batch_size)) {
          const size_t b1 = std::min(members.size(), b0 + static_cast<size_t>(opt.batch_size));
          std::vector<std::vector<data::Token>> batch;
          for (size_t i = b0; i < b1; ++i) batch.push_back(prompts[members[i]].tokens);
          auto outs = greedy_decode(model, batch, key.second, device,
                                    opt.tokenizer ? opt.tokenizer->vocab_size() : -1);
          for (size_t i = b0; i < b1; ++i) got[members[i]] = decode(outs[i - b0]);
        }
      }
      for (size_t i = 0; i < prompts.size(); ++i) {
        cell.trials += 1;
        cell.correct += score(got[i], prompts[i].answer) ? 1 : 0;
        cell.mean_depth += prompts[i].depth / static_cast<double>(prompts.size());
        cell.mean_pairs +=
            static_cast<double>(prompts[i].pairs) / static_cast<double>(prompts.size());
        if (cell.examples.size() < 2) cell.examples.push_back({prompts[i].answer, got[i]});
      }
      r.cells.push_back(std::move(cell));
    }
  }
  if (was_training) model->train();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace

RetrievalResult run_retrieval(LanguageModel& model, const data::Filler& filler,
                              const RetrievalOptions& opt, const torch::Device& device) {
  MakePrompt make = [&](std::mt19937_64& rng, int64_t L, double y) {
    if (opt.task == "passkey") return data::make_passkey_prompt(filler, rng, L, y);
    if (opt.task == "needle") return data::make_needle_prompt(filler, rng, L, y);
    return data::make_kv_prompt(filler, rng, L, opt.pairs, y);
  };
  return sweep(
      model, opt, filler.source(), make,
      [](const std::vector<data::Token>& ids) { return data::ByteTokenizer::decode(ids); },
      [](const std::string& got, const std::string& answer) {
        return data::score_answer(got, answer);
      },
      device);
}

RetrievalResult run_retrieval(LanguageModel& model, const std::vector<data::Document>& docs,
                              const std::string& source, const RetrievalOptions& opt,
                              const torch::Device& device) {
  if (!natural_language(opt)) return run_retrieval(model, data::Filler(docs, source), opt, device);
  const auto& tok = *opt.tokenizer;
  const data::TextFiller filler(docs, tok, source);
  MakePrompt make = [&](std::mt19937_64& rng, int64_t L, double y) {
    if (opt.task == "passkey") return data::make_nl_passkey_prompt(tok, rng, L, y);
    if (opt.task == "needle") return data::make_nl_needle_prompt(filler, tok, rng, L, y);
    return data::make_nl_kv_prompt(filler, tok, rng, L, opt.pairs, y);
  };
  return sweep(
      model, opt, source, make,
      [&](const std::vector<data::Token>& ids) { return tok.decode(ids, true); },
      [&](const std::string& got, const std::string& answer) {
        return data::score_nl_answer(opt.task, got, answer);
      },
      device);
}

void store_retrieval(store::RunStore& db, int64_t run, int64_t step, const RetrievalResult& r) {
  for (const auto& c : r.cells) {
    store::EvalRecord e;
    e.task = r.task;
    e.mode = "greedy";
    e.x = static_cast<double>(c.length);
    e.y = c.y;
    e.metric = "accuracy";
    e.value = c.accuracy();
    e.step = step;
    nlohmann::json examples = nlohmann::json::array();
    for (const auto& x : c.examples) examples.push_back({{"expected", x.expected}, {"got", x.got}});
    nlohmann::json extra{{"trials", c.trials},
                         {"correct", c.correct},
                         {"seed", r.seed},
                         {"filler", r.filler},
                         {"examples", examples}};
    if (r.task == "kvretrieval") {
      extra["position"] = c.mean_depth;
      extra["pairs"] = c.mean_pairs;
    } else {
      extra["depth"] = c.mean_depth;  // realised (statements start after whitespace)
    }
    // Generated bytes need not be UTF-8: invalid ones become U+FFFD instead of failing the dump.
    e.extra_json = extra.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    db.record_eval(run, e);
  }
}

}  // namespace ctx
