// Word lists and random strings of the RULER-style prompts. The English lists are our own picks
// of common words (RULER draws from the wonderwords package).
#include "data/ruler_words.h"

#include <algorithm>
#include <cctype>

#include "data/longrange_corpus.h"
#include "data/rng.h"

namespace ctx::data::ruler {
namespace {

const std::vector<std::string>& adjectives() {
  static const std::vector<std::string> w = {
      "quiet",   "bright",  "ancient", "brave",   "calm",    "clever",  "cold",    "curious",
      "dark",    "distant", "eager",   "early",   "empty",   "fancy",   "fierce",  "gentle",
      "giant",   "golden",  "green",   "hidden",  "hollow",  "honest",  "humble",  "icy",
      "jolly",   "kind",    "large",   "lazy",    "little",  "lively",  "lonely",  "loud",
      "lucky",   "mellow",  "modern",  "narrow",  "noble",   "odd",     "orange",  "pale",
      "patient", "plain",   "polite",  "proud",   "purple",  "rapid",   "rare",    "rough",
      "round",   "royal",   "rusty",   "scarlet", "shiny",   "silent",  "silver",  "simple",
      "sleepy",  "slow",    "smooth",  "soft",    "solid",   "sour",    "spicy",   "steady",
      "sticky",  "stormy",  "strange", "sturdy",  "sunny",   "swift",   "tall",    "tender",
      "thick",   "tidy",    "tiny",    "velvet",  "vivid",   "warm",    "wild",    "wise",
      "wooden",  "yellow",  "young",   "zealous", "crimson", "dusty",   "frozen",  "misty"};
  return w;
}

const std::vector<std::string>& nouns() {
  static const std::vector<std::string> w = {
      "harbour",  "eagle",    "compass",  "lantern",  "meadow",   "river",    "castle",
      "violin",   "garden",   "island",   "kettle",   "ladder",   "mirror",   "needle",
      "orchard",  "pebble",   "quarry",   "rabbit",   "saddle",   "tunnel",   "umbrella",
      "valley",   "wagon",    "anchor",   "basket",   "candle",   "dolphin",  "engine",
      "falcon",   "glacier",  "hammer",   "jacket",   "kitten",   "lemon",    "magnet",
      "napkin",   "oyster",   "parrot",   "quilt",    "rocket",   "salmon",   "teapot",
      "turtle",   "village",  "walrus",   "blanket",  "bottle",   "button",   "cabinet",
      "canyon",   "carpet",   "cherry",   "chimney",  "cottage",  "crayon",   "desert",
      "feather",  "fountain", "giraffe",  "guitar",   "helmet",   "hilltop",  "iceberg",
      "journal",  "kingdom",  "library",  "lobster",  "marble",   "monkey",   "mountain",
      "notebook", "octopus",  "paddle",   "panther",  "pillow",   "planet",   "pocket",
      "puzzle",   "raccoon",  "ribbon",   "sandal",   "scooter",  "shadow",   "spider",
      "squirrel", "statue",   "stream",   "sunset",   "tiger",    "tomato",   "trumpet",
      "vessel",   "volcano",  "whistle",  "window",   "wizard",   "zebra",    "beacon",
      "biscuit",  "blossom",  "bridge",   "cactus",   "camera",   "circus",   "cloud",
      "coconut",  "comet",    "cricket",  "diamond",  "donkey",   "dragon",   "forest",
      "galaxy",   "goblet",   "hedgehog", "horizon",  "jungle",   "lagoon",   "meteor",
      "mustard",  "nectar",   "pepper",   "pigeon",   "pumpkin",  "reindeer", "sapphire",
      "skylark",  "snowflake","sparrow",  "thimble",  "thunder",  "trolley",  "walnut"};
  return w;
}

const std::vector<std::string>& verbs() {
  static const std::vector<std::string> w = {
      "borrow", "climb",   "dance",  "deliver", "explore", "gather",  "imagine", "juggle",
      "listen", "measure", "notice", "observe", "polish",  "remember","scatter", "travel",
      "whisper","wander",  "build",  "carry",   "follow",  "invent",  "knit",    "laugh",
      "paint",  "repair",  "sketch", "swim",    "stumble", "collect", "discover","forgive"};
  return w;
}

}  // namespace

std::string uuid4(std::mt19937_64& rng) {
  static const char* hex = "0123456789abcdef";
  uint64_t w[2] = {rng(), rng()};
  w[0] = (w[0] & ~uint64_t{0xF000}) | 0x4000;                  // version 4
  w[1] = (w[1] & ~(uint64_t{3} << 62)) | (uint64_t{2} << 62);  // variant 10xx
  std::string s;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) s += '-';
    s += hex[(w[i / 16] >> (60 - 4 * (i % 16))) & 0xF];
  }
  return s;
}

std::string adjective_noun(std::mt19937_64& rng) {
  return pick(adjectives(), rng) + "-" + pick(nouns(), rng);
}

std::string number(std::mt19937_64& rng, int digits) {
  std::string s(1, static_cast<char>('1' + uniform_below(rng, 9)));
  for (int i = 1; i < digits; ++i) s += static_cast<char>('0' + uniform_below(rng, 10));
  return s;
}

std::string variable_name(std::mt19937_64& rng) {
  std::string s;
  for (int i = 0; i < 5; ++i) s += static_cast<char>('A' + uniform_below(rng, 26));
  return s;
}

std::string pseudo_word(std::mt19937_64& rng) {
  for (;;) {
    std::string w = longrange_name(rng);
    if (w.size() < 5) continue;
    for (auto& c : w) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return w;
  }
}

std::vector<std::string> english_words(const std::string& avoid) {
  std::vector<std::string> out;
  for (const auto* list : {&nouns(), &adjectives(), &verbs()})
    for (const auto& w : *list) {
      if (avoid.find(w) != std::string::npos) continue;
      if (std::any_of(out.begin(), out.end(), [&](const std::string& o) { return overlaps(o, w); }))
        continue;
      out.push_back(w);
    }
  return out;
}

std::string fresh(std::set<std::string>& used, const std::function<std::string()>& make,
                  const std::function<bool(const std::string&)>& ok) {
  for (;;) {
    std::string s = make();
    if (used.count(s) || (ok && !ok(s))) continue;
    used.insert(s);
    return s;
  }
}

bool overlaps(const std::string& a, const std::string& b) {
  return a.find(b) != std::string::npos || b.find(a) != std::string::npos;
}

}  // namespace ctx::data::ruler
