// Pre-tokenizers, normalizers and decoders of tokenizer.json on the examples of `tokenizers`' own
// documentation and unit tests (split behaviours, Digits, Whitespace, Metaspace, ByteFallback...).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "io/byte_level.h"
#include "io/normalizers.h"
#include "io/pretokenizers.h"
#include "io/tokenizer_decoders.h"

namespace {

using Json = nlohmann::json;
using Words = std::vector<std::string>;

Words pre_tokenize(const Json& j, const std::string& text) {
  const auto spec = ctx::io::make_pre_tokenizer(j, "test");
  ctx::io::PieceList out;
  spec.pre_tokenizer->split(text, true, out);
  Words words;
  for (const auto& p : out.pieces) {
    std::string w(out.view(p));
    if (spec.byte_level_words) {  // the model would read these bytes as byte-level characters
      std::string chars;
      ctx::io::byte_level::append_chars(chars, w);
      w = chars;
    }
    words.push_back(w);
  }
  return words;
}

Json split_on_dash(const char* behavior) {
  return {
      {"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", behavior}, {"invert", false}};
}

TEST(PreTokenizers, SplitBehaviours) {
  const std::string text = "the-final--countdown";
  EXPECT_EQ(pre_tokenize(split_on_dash("Removed"), text), (Words{"the", "final", "countdown"}));
  EXPECT_EQ(pre_tokenize(split_on_dash("Isolated"), text),
            (Words{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(pre_tokenize(split_on_dash("MergedWithPrevious"), text),
            (Words{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(pre_tokenize(split_on_dash("MergedWithNext"), text),
            (Words{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(pre_tokenize(split_on_dash("Contiguous"), text),
            (Words{"the", "-", "final", "--", "countdown"}));
  Json inverted = split_on_dash("Removed");
  inverted["invert"] = true;
  EXPECT_EQ(pre_tokenize(inverted, text), (Words{"-", "-", "-"}));
}

TEST(PreTokenizers, DigitsWhitespaceMetaspaceByteLevel) {
  EXPECT_EQ(pre_tokenize({{"type", "Digits"}, {"individual_digits", false}}, "Hey 123 friend!"),
            (Words{"Hey ", "123", " friend!"}));
  EXPECT_EQ(pre_tokenize({{"type", "Digits"}, {"individual_digits", true}}, "Hey 123 friend!"),
            (Words{"Hey ", "1", "2", "3", " friend!"}));
  EXPECT_EQ(pre_tokenize({{"type", "Whitespace"}}, "How are you doing?"),
            (Words{"How", "are", "you", "doing", "?"}));
  EXPECT_TRUE(pre_tokenize({{"type", "Whitespace"}}, "\n").empty());
  EXPECT_EQ(pre_tokenize({{"type", "WhitespaceSplit"}}, "Hey, man, Good?"),
            (Words{"Hey,", "man,", "Good?"}));
  const Json meta = {{"type", "Metaspace"},
                     {"replacement", "\xE2\x96\x81"},
                     {"prepend_scheme", "always"},
                     {"split", true}};
  EXPECT_EQ(pre_tokenize(meta, "Hey   friend!"),
            (Words{"\xE2\x96\x81Hey", "\xE2\x96\x81", "\xE2\x96\x81",
                   "\xE2\x96\x81"
                   "friend!"}));
  const Json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  EXPECT_EQ(pre_tokenize(byte_level, "Hello my friend, how is your day going?"),
            (Words{"Hello", "\xC4\xA0my",
                   "\xC4\xA0"
                   "friend",
                   ",", "\xC4\xA0how", "\xC4\xA0is", "\xC4\xA0your",
                   "\xC4\xA0"
                   "day",
                   "\xC4\xA0going", "?"}));
  Json prefixed = byte_level;
  prefixed["add_prefix_space"] = true;
  EXPECT_EQ(pre_tokenize(prefixed, "Hello")[0], "\xC4\xA0Hello");
}

std::string normalized(const Json& j, std::string text) {
  ctx::io::make_normalizer(j, "test")->normalize(text);
  return text;
}

TEST(Normalizers, DocumentedExamples) {
  EXPECT_EQ(normalized({{"type", "Strip"}, {"strip_left", true}, {"strip_right", true}},
                       "  \t Hello \xE3\x80\x80"),
            "Hello");
  EXPECT_EQ(normalized({{"type", "Strip"}, {"strip_left", false}, {"strip_right", true}}, " a "),
            " a");
  EXPECT_EQ(normalized({{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}}, "Hello"),
            "\xE2\x96\x81Hello");
  EXPECT_EQ(normalized({{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}}, ""), "");
  EXPECT_EQ(
      normalized({{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "_"}}, "a b  c"),
      "a_b__c");
  EXPECT_EQ(normalized({{"type", "Replace"}, {"pattern", {{"Regex", "\\s+"}}}, {"content", " "}},
                       "a \t\n b"),
            "a b");
  EXPECT_EQ(normalized({{"type", "Lowercase"}}, "HeLLo \xC3\x89T\xC3\x89"),
            "hello \xC3\xA9t\xC3\xA9");
  EXPECT_EQ(normalized({{"type", "NFKC"}}, "\xEF\xAC\x81 \xEF\xBC\xA1"), "fi A");  // ﬁ, fullwidth A
  EXPECT_EQ(normalized({{"type", "NFD"}}, "\xC3\xA9"), "e\xCC\x81");
  EXPECT_EQ(normalized({{"type", "Sequence"},
                        {"normalizers", {{{"type", "NFKD"}}, {{"type", "Lowercase"}}}}},
                       "\xC3\x89"),
            "e\xCC\x81");
}

Words decoded_chain(const Json& j, Words tokens) {
  ctx::io::make_decoder(j, "test").decoder->decode_chain(tokens);
  return tokens;
}

TEST(Decoders, UnitTestExamples) {
  const Json fallback = {{"type", "ByteFallback"}};
  EXPECT_EQ(decoded_chain(fallback, {"Hey", "friend!"}), (Words{"Hey", "friend!"}));
  EXPECT_EQ(decoded_chain(fallback, {"<0x61>"}), (Words{"a"}));
  EXPECT_EQ(decoded_chain(fallback, {"<0xE5>"}), (Words{"\xEF\xBF\xBD"}));
  EXPECT_EQ(decoded_chain(fallback, {"<0xE5>", "<0x8f>"}), (Words{"\xEF\xBF\xBD", "\xEF\xBF\xBD"}));
  EXPECT_EQ(decoded_chain(fallback, {"<0xE5>", "<0x8f>", "<0xab>", "a"}),
            (Words{"\xE5\x8F\xAB", "a"}));  // 叫
  EXPECT_EQ(decoded_chain(fallback, {"<0xE5>", "<0x8f>", "a"}),
            (Words{"\xEF\xBF\xBD", "\xEF\xBF\xBD", "a"}));
  EXPECT_EQ(decoded_chain({{"type", "Strip"}, {"content", "H"}, {"start", 1}, {"stop", 0}},
                          {"Hey", " friend!", "HHH"}),
            (Words{"ey", " friend!", "HH"}));
  EXPECT_EQ(decoded_chain({{"type", "Strip"}, {"content", "y"}, {"start", 0}, {"stop", 1}},
                          {"Hey", " friend!"}),
            (Words{"He", " friend!"}));
  EXPECT_EQ(decoded_chain({{"type", "Fuse"}}, {"Hey", " friend!"}), (Words{"Hey friend!"}));
  const Json meta = {{"type", "Metaspace"},
                     {"replacement", "\xE2\x96\x81"},
                     {"prepend_scheme", "always"},
                     {"split", true}};
  EXPECT_EQ(decoded_chain(meta, {"\xE2\x96\x81Hey",
                                 "\xE2\x96\x81"
                                 "friend!"}),
            (Words{"Hey", " friend!"}));
  Json never = meta;
  never["prepend_scheme"] = "never";
  EXPECT_EQ(decoded_chain(never, {"\xE2\x96\x81Hey",
                                  "\xE2\x96\x81"
                                  "friend!"}),
            (Words{" Hey", " friend!"}));
  EXPECT_EQ(decoded_chain({{"type", "ByteLevel"}}, {"Hello", "\xC4\xA0my",
                                                    "\xC4\xA0"
                                                    "friend"}),
            (Words{"Hello my friend"}));
  EXPECT_EQ(decoded_chain({{"type", "BPEDecoder"}, {"suffix", "</w>"}}, {"My</w>", "na", "me</w>"}),
            (Words{"My ", "na", "me"}));
}

}  // namespace
