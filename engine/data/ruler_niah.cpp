// RULER's needle tasks (single, multi-key, multi-value, multi-query; noise, essay, corpus or
// needle haystacks) and variable tracking. Natural language follows RULER's templates; the fact
// format states "the code of Zorbin is 4821." and asks "recall: the code of Zorbin is ".
#include <algorithm>
#include <cctype>

#include "data/longrange_corpus.h"
#include "data/rng.h"
#include "data/ruler_build.h"
#include "data/ruler_words.h"

namespace ctx::data::ruler {
namespace {

constexpr int kNlDigits = 7;  // RULER's numbers
constexpr int kVtHops = 4;    // RULER's vt: one chain of four hops (five variables)
constexpr int kVtDigits = 5;

struct Needle {
  std::string key, value;
};

// Where the haystack text comes from and whether it mentions a string (drawn keys and values
// must not occur in it).
struct Haystack {
  std::function<std::string(size_t)> take;
  std::function<bool(const std::string&)> mentions;
};

Haystack haystack_of(const RulerTask& task, const RulerSources& src, std::mt19937_64& rng) {
  Haystack h;
  if (task.haystack == "noise") {
    h.take = noise_text;
    const std::string block = noise_text(1);
    h.mentions = [block](const std::string& s) { return block.find(s) != std::string::npos; };
    return h;
  }
  const TextFiller* f = task.haystack == "essay" ? &essay_filler() : src.corpus;
  if (!f)
    throw DataError(task.name + ": the corpus haystack needs the run's documents");
  const size_t start = f->random_start(rng);
  h.take = [f, start](size_t n) { return f->take(start, n); };
  h.mentions = [f](const std::string& s) { return f->contains(s); };
  return h;
}

std::string value_noun(const RulerTask& t) {
  return t.value_type == "number" ? "numbers" : t.value_type == "word" ? "words" : "uuids";
}

// Draws keys and values: fresh, never inside one another, and never mentioned by the haystack.
class Drawer {
 public:
  Drawer(const RulerTask& t, bool bytes, std::mt19937_64& rng,
         std::function<bool(const std::string&)> mentions)
      : t_(t), bytes_(bytes), rng_(rng), mentions_(std::move(mentions)) {
    const auto attrs = longrange_attributes();
    const auto& a = pick(attrs, rng_);
    attribute_ = a.first;
    digits_ = bytes ? a.second : kNlDigits;
  }
  std::string key() {
    return draw([&] {
      if (t_.key_type == "uuid") return uuid4(rng_);
      return bytes_ ? longrange_name(rng_) : adjective_noun(rng_);
    });
  }
  std::string value() {
    return draw([&] {
      if (t_.value_type == "number") return number(rng_, digits_);
      if (t_.value_type == "uuid") return uuid4(rng_);
      return bytes_ ? pseudo_word(rng_) : adjective_noun(rng_);
    });
  }
  const std::string& attribute() const { return attribute_; }

 private:
  std::string draw(const std::function<std::string()>& make) {
    return fresh(used_, make, [&](const std::string& s) {
      if (mentions_ && mentions_(s)) return false;
      return std::none_of(used_.begin(), used_.end(),
                          [&](const std::string& u) { return overlaps(u, s); });
    });
  }
  const RulerTask& t_;
  bool bytes_;
  std::mt19937_64& rng_;
  std::function<bool(const std::string&)> mentions_;
  std::set<std::string> used_;
  std::string attribute_;
  int digits_ = kNlDigits;
};

// The needles of a prompt, asked ones first: keys x values, the first `queries` keys asked.
std::vector<Needle> draw_needles(const RulerTask& t, Drawer& d) {
  std::vector<Needle> out;
  for (int k = 0; k < t.keys; ++k) {
    const std::string key = d.key();
    for (int v = 0; v < (k == 0 ? t.values : 1); ++v) out.push_back({key, d.value()});
  }
  return out;
}

std::string join(const std::vector<std::string>& v, const std::string& sep,
                 const std::string& last_sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i)
    s += (i == 0 ? "" : i + 1 == v.size() ? last_sep : sep) + v[i];
  return s;
}

// The wording of one prompt: statements, question, reference answer.
struct Wording {
  const RulerTask& t;
  bool bytes;
  std::string attribute;

  std::string statement(const Needle& n) const {
    if (bytes) return "the " + attribute + " of " + n.key + " is " + n.value + ".";
    return "One of the special magic " + value_noun(t) + " for " + n.key + " is: " + n.value + ".";
  }
  std::string ask(const std::string& key) const {
    return std::string(kLongRangeRecallMarker) + "the " + attribute + " of " + key + " is ";
  }
  std::string head() const {
    const std::string v = value_noun(t);
    return "Some special magic " + v +
           " are hidden within the following text. Make sure to memorize it. I will quiz you "
           "about the " + v + " afterwards.";
  }
  std::string question(const std::vector<std::string>& keys) const {
    if (bytes) return ask(keys.front());
    const std::string v = value_noun(t), q = join(keys, ", ", keys.size() > 2 ? ", and " : " and ");
    return "What are all the special magic " + v + " for " + q +
           " mentioned in the provided text? The special magic " + v + " for " + q +
           " mentioned in the provided text are";
  }
  // Fact-format multi-query answers each key in turn ("4821. recall: the code of B is 77.").
  std::string completion(const std::vector<Needle>& asked) const {
    std::vector<std::string> values;
    for (const auto& n : asked) values.push_back(n.value);
    if (!bytes) return " " + join(values, ", ", ", ") + ".";
    if (t.queries == 1) return join(values, ", ", ", ") + ".";
    std::string s = asked.front().value + ".";
    for (size_t i = 1; i < asked.size(); ++i) s += " " + ask(asked[i].key) + asked[i].value + ".";
    return s;
  }
};

// Splits a fact-format multi-query completion into the first answer and the forced questions.
void add_turns(RulerPrompt& p, const Wording& w, const std::vector<Needle>& asked) {
  p.new_tokens = static_cast<int64_t>(asked.front().value.size()) + 1;
  for (size_t i = 1; i < asked.size(); ++i)
    p.turns.push_back({ByteTokenizer::encode(" " + w.ask(asked[i].key)),
                       static_cast<int64_t>(asked[i].value.size()) + 1});
}

std::vector<Needle> asked_of(const RulerTask& t, const std::vector<Needle>& all) {
  return {all.begin(), all.begin() + (t.values > 1 ? t.values : t.queries)};
}

std::vector<std::string> keys_of(const std::vector<Needle>& asked) {
  std::vector<std::string> keys;
  for (const auto& n : asked)
    if (std::find(keys.begin(), keys.end(), n.key) == keys.end()) keys.push_back(n.key);
  return keys;
}

// RULER's multikey_2 / multikey_3: the haystack is nothing but needles of other keys.
RulerPrompt needle_haystack_prompt(const RulerTask& t, const Measure& m, const Wording& w,
                                   Drawer& d, const std::vector<Needle>& needles,
                                   std::mt19937_64& rng, int64_t length, double depth) {
  const double where = depth >= 0 ? std::min(depth, 1.0) : uniform_unit(rng);
  std::vector<std::string> distractors;
  const auto draft = [&](int64_t items) {
    while (static_cast<int64_t>(distractors.size()) < items) {
      const std::string key = d.key();
      distractors.push_back(w.statement({key, d.value()}));
    }
    const auto at = static_cast<int64_t>(std::llround(where * static_cast<double>(items)));
    Draft dr;
    if (!m.byte_level()) dr.text = w.head() + "\n";
    dr.hay_begin = dr.text.size();
    for (int64_t i = 0; i <= items; ++i) {
      if (i == at) {
        if (dr.text.size() > dr.hay_begin) dr.text += ' ';
        dr.marks.push_back(dr.text.size());
        dr.text += w.statement(needles.front());
        dr.ends.push_back(dr.text.size());
      }
      if (i == items) break;
      if (dr.text.size() > dr.hay_begin) dr.text += ' ';
      dr.text += distractors[static_cast<size_t>(i)];
    }
    dr.hay_end = dr.text.size();
    dr.text = (m.byte_level() ? separated(dr.text) : dr.text + "\n") + w.question({needles[0].key});
    return dr;
  };
  const std::string completion = w.completion(needles);
  Draft chosen;
  RulerPrompt p = build_list_prompt(m, draft, completion, 0, t.name, length, &chosen);
  p.depth = realised_depth(m, p, chosen);
  return p;
}

}  // namespace

RulerPrompt make_niah(const RulerTask& t, const RulerSources& src, const Measure& m,
                      std::mt19937_64& rng, int64_t length, double depth) {
  const bool bytes = m.byte_level();
  const Haystack h = t.haystack == "needles" ? Haystack{} : haystack_of(t, src, rng);
  Drawer d(t, bytes, rng, h.mentions);
  const Wording w{t, bytes, d.attribute()};
  const std::vector<Needle> needles = draw_needles(t, d);
  const std::vector<Needle> asked = asked_of(t, needles);
  RulerPrompt p;
  if (t.haystack == "needles") {
    p = needle_haystack_prompt(t, m, w, d, needles, rng, length, depth);
  } else {
    TextPromptSpec spec;
    spec.head = w.head();
    spec.question = w.question(keys_of(asked));
    spec.completion = w.completion(asked);
    spec.take = h.take;
    for (size_t i = 0; i < needles.size(); ++i) {
      const double at = i == 0 && depth >= 0 ? std::min(depth, 1.0) : uniform_unit(rng);
      spec.statements.push_back({w.statement(needles[i]), at});
    }
    p = build_text_prompt(m, spec, t.name, length);
  }
  for (size_t i = 0; i < p.needles.size(); ++i)
    p.needles[i].asked = i < asked.size() || t.haystack == "needles";
  for (const auto& n : asked) p.expected.push_back(n.value);
  if (bytes && t.queries > 1) add_turns(p, w, asked);
  return p;
}

RulerPrompt make_vt(const RulerTask& t, const Measure& m, std::mt19937_64& rng, int64_t length) {
  const bool bytes = m.byte_level();
  std::set<std::string> used;
  std::vector<std::string> names;
  for (int i = 0; i <= kVtHops; ++i)
    names.push_back(fresh(used, [&] { return bytes ? longrange_name(rng) : variable_name(rng); },
                          [&](const std::string& s) {
                            return std::none_of(names.begin(), names.end(), [&](const auto& n) {
                              return overlaps(n, s);
                            });
                          }));
  const std::string value = number(rng, kVtDigits);
  std::vector<double> depths;
  for (size_t i = 0; i < names.size(); ++i) depths.push_back(uniform_unit(rng));
  std::sort(depths.begin(), depths.end());  // the chain is stated in order
  TextPromptSpec spec;
  for (size_t i = 0; i < names.size(); ++i) {
    std::string s;
    if (bytes)
      s = "the code of " + names[i] + " is " + (i == 0 ? value : "the code of " + names[i - 1]) +
          ".";
    else
      s = "VAR " + names[i] + " = " + (i == 0 ? value : "VAR " + names[i - 1]) + ".";
    spec.statements.push_back({s, depths[i]});
  }
  spec.take = noise_text;
  if (bytes) {
    spec.question = std::string(kLongRangeRecallMarker) + "the names whose code is " + value + " are ";
    spec.completion = join(names, ", ", ", ") + ".";
  } else {
    spec.head = "Memorize and track the chain(s) of variable assignment hidden in the following text.";
    spec.question = "Question: Find all variables that are assigned the value " + value +
                    " in the text above. Answer: According to the chain(s) of variable assignment "
                    "in the text above, " + std::to_string(names.size()) +
                    " variables are assigned the value " + value + ", they are:";
    spec.completion = " " + join(names, " ", " ");
  }
  RulerPrompt p = build_text_prompt(m, spec, t.name, length);
  for (auto& n : p.needles) n.asked = true;
  p.expected = names;
  p.depth = -1;
  return p;
}

}  // namespace ctx::data::ruler
