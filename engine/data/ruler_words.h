// The random content of the RULER-style prompts (ruler_tasks.h): needle keys and values (English
// adjective-noun words, numbers, UUIDs, or builtin:longrange names for the fact format), common
// words for cwe, coded words for fwe, variable names for vt. Every draw goes through rng.h, so a
// seed gives the same prompts on any machine. Internal to the data layer.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace ctx::data::ruler {

// A random version-4 UUID, lowercase with dashes (36 characters).
std::string uuid4(std::mt19937_64& rng);

// RULER's word keys and values: "adjective-noun" from built-in English lists ("quiet-harbour").
std::string adjective_noun(std::mt19937_64& rng);

// `digits` decimal digits, the first non-zero (RULER's numbers have 7).
std::string number(std::mt19937_64& rng, int digits);

// Five upper-case letters (RULER's variable names).
std::string variable_name(std::mt19937_64& rng);

// A lower-case pseudo-word of builtin:longrange's syllables, 5 to 12 letters.
std::string pseudo_word(std::mt19937_64& rng);

// Common English words (nouns, adjectives, verbs), none a substring of another and none found in
// `avoid` (the prompt's own wording, lower case), in a fixed order.
std::vector<std::string> english_words(const std::string& avoid);

// Fresh draws: `make` is called until it gives a string that `ok` accepts and that was not drawn
// before (recorded in `used`).
std::string fresh(std::set<std::string>& used, const std::function<std::string()>& make,
                  const std::function<bool(const std::string&)>& ok = {});

// True when either string contains the other.
bool overlaps(const std::string& a, const std::string& b);

}  // namespace ctx::data::ruler
