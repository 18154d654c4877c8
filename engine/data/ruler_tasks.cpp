// The RULER-style task registry, the prompt entry point (dispatch to the families), minimum
// lengths and RULER's string-match scoring.
#include "data/ruler_tasks.h"

#include <algorithm>
#include <cctype>

#include "data/ruler_build.h"

namespace ctx::data {
namespace {

constexpr int kMinSamples = 16;    // draws measured for the minimum length
constexpr int64_t kMinMargin = 8;  // tokens added to it: other draws can be longer

RulerTask niah(std::string name, std::string hay, std::string key, std::string value, int keys,
               int values, int queries, std::string about) {
  RulerTask t;
  t.name = std::move(name);
  t.family = RulerFamily::Niah;
  t.haystack = std::move(hay);
  t.key_type = std::move(key);
  t.value_type = std::move(value);
  t.keys = keys;
  t.values = values;
  t.queries = queries;
  t.about = std::move(about);
  return t;
}

RulerTask other(std::string name, RulerFamily f, std::string hay, std::string about) {
  RulerTask t;
  t.name = std::move(name);
  t.family = f;
  t.haystack = std::move(hay);
  t.about = std::move(about);
  return t;
}

std::vector<RulerTask> build_registry() {
  std::vector<RulerTask> v = {
      niah("niah_single_1", "noise", "word", "number", 1, 1, 1,
           "one needle (word key, number) in repeated noise"),
      niah("niah_single_2", "essay", "word", "number", 1, 1, 1,
           "one needle (word key, number) in essay-like prose"),
      niah("niah_single_3", "essay", "word", "uuid", 1, 1, 1,
           "one needle (word key, UUID) in essay-like prose"),
      niah("niah_multikey_1", "essay", "word", "number", 4, 1, 1,
           "one needle asked among 3 with other keys, in essay-like prose"),
      niah("niah_multikey_2", "needles", "word", "number", 1, 1, 1,
           "one needle in a haystack of needles (word keys, numbers)"),
      niah("niah_multikey_3", "needles", "uuid", "uuid", 1, 1, 1,
           "one needle in a haystack of needles (UUID keys and values)"),
      niah("niah_multivalue", "essay", "word", "number", 1, 4, 1,
           "four values of one key, all asked for"),
      niah("niah_multiquery", "essay", "word", "number", 4, 1, 4,
           "four needles, all four keys asked for"),
      other("vt", RulerFamily::VariableTracking, "noise",
            "variable tracking: the five names of a chain of assignments"),
      other("cwe", RulerFamily::CommonWords, "", "the ten most common words of a list"),
      other("fwe", RulerFamily::FrequentWords, "", "the three most frequent coded words"),
  };
  for (const char* hay : {"noise", "essay", "corpus"})
    for (const char* value : {"number", "word", "uuid"})
      v.push_back(niah(std::string("niah_single_") + hay + "_" + value, hay, "word", value, 1, 1,
                       1, std::string("one needle (") + value + ") in " + hay));
  return v;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

int64_t RulerPrompt::total() const {
  int64_t n = static_cast<int64_t>(tokens.size()) + new_tokens;
  for (const auto& t : turns) n += static_cast<int64_t>(t.forced.size()) + t.new_tokens;
  return n;
}

const std::vector<RulerTask>& ruler_tasks() {
  static const std::vector<RulerTask> tasks = build_registry();
  return tasks;
}

std::vector<std::string> ruler_default_tasks() {
  std::vector<std::string> out;
  for (size_t i = 0; i < 11; ++i) out.push_back(ruler_tasks()[i].name);
  return out;
}

std::string ruler_known_tasks() {
  std::string s;
  for (const auto& n : ruler_default_tasks()) s += n + ", ";
  return s + "niah_single_<noise|essay|corpus>_<number|word|uuid>";
}

const RulerTask& ruler_task(const std::string& name) {
  for (const auto& t : ruler_tasks())
    if (t.name == name) return t;
  throw DataError("task '" + name + "': unknown (known: " + ruler_known_tasks() + ")");
}

RulerPrompt make_ruler_prompt(const RulerTask& task, const RulerSources& src, const Tokenizer* tok,
                              std::mt19937_64& rng, int64_t length, double depth) {
  const ruler::Measure m(tok);
  switch (task.family) {
    case RulerFamily::Niah:
      return ruler::make_niah(task, src, m, rng, length, depth);
    case RulerFamily::VariableTracking:
      return ruler::make_vt(task, m, rng, length);
    case RulerFamily::CommonWords:
      return ruler::make_cwe(task, m, rng, length);
    case RulerFamily::FrequentWords:
      return ruler::make_fwe(task, m, rng, length);
  }
  throw DataError(task.name + ": no prompt generator");
}

int64_t min_ruler_length(const RulerTask& task, const Tokenizer* tok) {
  // The corpus haystack contributes no text to the shortest prompt: any filler stands in for it.
  static const TextFiller stand_in(std::string("Some text."), "stand-in");
  RulerSources src;
  src.corpus = &stand_in;
  int64_t most = 0;
  for (int s = 0; s < kMinSamples; ++s) {
    std::mt19937_64 rng(static_cast<uint64_t>(s) + 1);
    most = std::max(most, make_ruler_prompt(task, src, tok, rng, ruler::kMinimal, 0.5).total());
  }
  return most - 1 + kMinMargin;
}

double ruler_score(const std::string& output, const std::vector<std::string>& expected) {
  if (expected.empty()) return 0;
  const std::string out = lower(output);
  size_t found = 0;
  for (const auto& e : expected)
    if (out.find(lower(e)) != std::string::npos) ++found;
  return static_cast<double>(found) / static_cast<double>(expected.size());
}

}  // namespace ctx::data
