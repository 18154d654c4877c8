// UTF-8 and Unicode helpers for the tokenizers: decoding, Rust's lossy repair, Rust's char classes,
// ICU normalisation and lowercasing. Inputs are valid UTF-8 unless noted.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ctx::io::text {

// Decodes the code point at p (valid UTF-8, p < end); returns its length in bytes.
inline int decode_utf8(const char* p, const char* end, char32_t* cp) {
  const auto b0 = static_cast<unsigned char>(p[0]);
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  auto cont = [&](int i) {
    return (p + i < end) ? static_cast<char32_t>(static_cast<unsigned char>(p[i]) & 0x3F) : 0;
  };
  if (b0 < 0xE0) {
    *cp = (static_cast<char32_t>(b0 & 0x1F) << 6) | cont(1);
    return 2;
  }
  if (b0 < 0xF0) {
    *cp = (static_cast<char32_t>(b0 & 0x0F) << 12) | (cont(1) << 6) | cont(2);
    return 3;
  }
  *cp = (static_cast<char32_t>(b0 & 0x07) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3);
  return 4;
}

// Length of the UTF-8 sequence that starts with byte b (1 for a stray continuation byte).
inline int utf8_length(unsigned char b) {
  return b < 0xC0 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
}

void append_utf8(std::string& out, char32_t cp);

// Whether s is well-formed UTF-8 (no surrogates, overlongs or code points above U+10FFFF).
bool is_valid_utf8(std::string_view s);
// s with every ill-formed sequence replaced by U+FFFD, one per maximal invalid subpart, exactly
// as Rust's String::from_utf8_lossy does.
std::string utf8_lossy(std::string_view s);

// Rust's char::is_whitespace (the White_Space property); regex \s is the same set.
bool is_whitespace(char32_t c);
// Rust's char::is_numeric (general categories Nd, Nl, No).
bool is_numeric(char32_t c);
// Rust regex's Unicode \w (Alphabetic, marks, Nd, Pc, Join_Control).
bool is_word_char(char32_t c);

enum class NormalForm { kNFC, kNFD, kNFKC, kNFKD };
// s in the given normalisation form (ICU); unchanged strings are not copied.
void normalize(NormalForm form, std::string& s);
// Each code point lowercased alone, as Rust's char::to_lowercase (no context: a final sigma stays
// σ; İ becomes i + U+0307).
void lowercase(std::string& s);

// Bytes as readable text for display: control characters and invalid UTF-8 escaped ("\n", "\t",
// "\r", "\\", "\x1b"); other text kept as it is.
std::string escape_for_display(std::string_view bytes);

}  // namespace ctx::io::text
