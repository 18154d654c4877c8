// The text units under the tokenizers against the definitions they follow: Oniguruma's \s and \w,
// Rust's from_utf8_lossy and char classes, the GPT-2 byte alphabet.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "io/byte_level.h"
#include "io/text_pattern.h"
#include "io/unicode_text.h"

namespace {

using ctx::io::Span;
using ctx::io::TextPattern;

std::vector<std::string> matches(const TextPattern& p, const std::string& s) {
  std::vector<Span> spans;
  p.find_all(s, spans);
  std::vector<std::string> out;
  for (const Span& m : spans) out.push_back(s.substr(m.begin, m.end - m.begin));
  return out;
}

TEST(TextPattern, WhitespaceIsOnigurumasWhiteSpace) {
  const auto space = TextPattern::regex("\\s+", "test");
  // U+180E (Mongolian vowel separator) is not White_Space since Unicode 6.3; PCRE2's \s has it.
  EXPECT_TRUE(matches(space,
                      "a\xE1\xA0\x8E"
                      "b")
                  .empty());
  // NEL, NBSP, ideographic space and the line separator are.
  EXPECT_EQ(matches(space,
                    "a\xC2\x85\xC2\xA0\xE3\x80\x80\xE2\x80\xA8"
                    "b"),
            (std::vector<std::string>{"\xC2\x85\xC2\xA0\xE3\x80\x80\xE2\x80\xA8"}));
  const auto not_space = TextPattern::regex("\\S+", "test");
  EXPECT_EQ(matches(not_space, "x\xE1\xA0\x8Ey z"),
            (std::vector<std::string>{"x\xE1\xA0\x8Ey", "z"}));
  // In a class: [^\s\p{L}] takes U+180E (not a space) and digits, not letters or spaces.
  const auto cls = TextPattern::regex("[^\\s\\p{L}]+", "test");
  EXPECT_EQ(matches(cls,
                    "ab\xE1\xA0\x8E"
                    "12 c"),
            (std::vector<std::string>{"\xE1\xA0\x8E"
                                      "12"}));
}

TEST(TextPattern, WordIsLettersMarksNumbersConnectors) {
  const auto word = TextPattern::regex("\\w+", "test");
  // e + combining acute (a mark), superscript two (No), Roman numeral twelve (Nl), underscore.
  EXPECT_EQ(matches(word, "e\xCC\x81\xC2\xB2\xE2\x85\xAB_x-y"),
            (std::vector<std::string>{"e\xCC\x81\xC2\xB2\xE2\x85\xAB_x", "y"}));
}

TEST(TextPattern, LiteralsAndEmptyMatches) {
  const auto lit = TextPattern::literal("ab");
  EXPECT_EQ(matches(lit, "abab aab"), (std::vector<std::string>{"ab", "ab", "ab"}));
  EXPECT_TRUE(matches(TextPattern::literal(""), "abc").empty());
  // find_iter semantics: "x*" on "axx b" gives "", "xx", "", "" (no empty match right
  // after the "xx").
  std::vector<Span> spans;
  TextPattern::regex("x*", "test").find_all("axx b", spans);
  std::vector<std::pair<size_t, size_t>> got;
  for (const Span& s : spans) got.emplace_back(s.begin, s.end);
  EXPECT_EQ(got, (std::vector<std::pair<size_t, size_t>>{{0, 0}, {1, 3}, {4, 4}, {5, 5}}));
}

TEST(Utf8, LossyRepairMatchesRust) {
  using ctx::io::text::utf8_lossy;
  // Rust's documented example: b"Hello \xF0\x90\x80World" -> "Hello \u{FFFD}World".
  EXPECT_EQ(utf8_lossy("Hello \xF0\x90\x80World"), "Hello \xEF\xBF\xBDWorld");
  // Maximal subparts: an overlong lead, a surrogate, a stray continuation: one U+FFFD per byte.
  EXPECT_EQ(utf8_lossy("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(utf8_lossy("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(utf8_lossy("a\x80"
                       "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(utf8_lossy("\xE2\x82"), "\xEF\xBF\xBD");  // truncated at the end
  EXPECT_TRUE(ctx::io::text::is_valid_utf8("plain ascii and \xE2\x82\xAC euro"));
  EXPECT_FALSE(ctx::io::text::is_valid_utf8("0123456789\xF5\x80\x80\x80"));
}

TEST(Utf8, RustCharClassesAndLowercase) {
  using namespace ctx::io::text;
  EXPECT_TRUE(is_whitespace(0x85));
  EXPECT_TRUE(is_whitespace(0x3000));
  EXPECT_FALSE(is_whitespace(0x180E));
  EXPECT_FALSE(is_whitespace(0x200B));  // zero width space is Cf
  EXPECT_TRUE(is_numeric(0xB2));        // ² (No)
  EXPECT_TRUE(is_numeric(0x216B));      // Ⅻ (Nl)
  EXPECT_TRUE(is_numeric(0x663));       // Arabic-Indic three (Nd)
  EXPECT_FALSE(is_numeric('x'));
  std::string s = "\xC4\xB0STANBUL \xCE\xA3\xCE\xA3";  // İSTANBUL ΣΣ
  lowercase(s);
  EXPECT_EQ(s, "i\xCC\x87stanbul \xCF\x83\xCF\x83");  // per character: no final sigma
  std::string e = "e\xCC\x81";
  normalize(NormalForm::kNFC, e);
  EXPECT_EQ(e, "\xC3\xA9");
}

TEST(ByteLevelAlphabet, Gpt2Map) {
  using namespace ctx::io::byte_level;
  EXPECT_EQ(char_of(' '), U'\u0120');   // Ġ
  EXPECT_EQ(char_of('\n'), U'\u010A');  // Ċ
  EXPECT_EQ(char_of('A'), U'A');
  EXPECT_EQ(char_of(0xAD), U'\u0143');  // the soft hyphen is the last byte remapped below 0xFF
  EXPECT_EQ(byte_of(U'\u0120'), ' ');
  EXPECT_EQ(byte_of(U'\u0400'), -1);
  std::string bytes;
  EXPECT_TRUE(append_bytes(bytes, "\xC4\xA0the"));
  EXPECT_EQ(bytes, " the");
}

}  // namespace
