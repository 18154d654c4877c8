// GPT-2's byte-level alphabet: each byte as a printable code point ('Ġ' for a space, 'Ċ' for a
// newline), the map that ByteLevel pre-tokenizers, decoders and vocabularies share.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace ctx::io::byte_level {

// The code point that stands for byte b.
char32_t char_of(unsigned char b);
// The byte that code point c stands for, or -1 when c is not in the alphabet.
int byte_of(char32_t c);
// Appends the byte-level spelling of raw bytes.
void append_chars(std::string& out, std::string_view raw);
// Appends the bytes a byte-level string spells; false (out unchanged) when some character of
// `chars` is outside the alphabet.
bool append_bytes(std::string& out, std::string_view chars);

}  // namespace ctx::io::byte_level
