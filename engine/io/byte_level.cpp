// The byte <-> code point table of GPT-2 (bytes_to_unicode): printable Latin-1 bytes stand for
// themselves, the other 68 bytes take 256, 257, ... in byte order.
#include "io/byte_level.h"

#include "io/unicode_text.h"

namespace ctx::io::byte_level {

namespace {

struct Tables {
  std::array<char32_t, 256> to_char{};
  std::array<int, 324> to_byte{};  // code points 0..323 cover the whole alphabet
  Tables() {
    to_byte.fill(-1);
    auto kept = [](int b) {
      return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    };
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      to_char[b] = kept(b) ? static_cast<char32_t>(b) : next++;
      to_byte[to_char[b]] = b;
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

char32_t char_of(unsigned char b) {
  return tables().to_char[b];
}

int byte_of(char32_t c) {
  const auto& t = tables();
  return c < t.to_byte.size() ? t.to_byte[c] : -1;
}

void append_chars(std::string& out, std::string_view raw) {
  const auto& t = tables();
  for (char c : raw) text::append_utf8(out, t.to_char[static_cast<unsigned char>(c)]);
}

bool append_bytes(std::string& out, std::string_view chars) {
  const size_t mark = out.size();
  const char* p = chars.data();
  const char* end = p + chars.size();
  while (p < end) {
    char32_t cp;
    p += text::decode_utf8(p, end, &cp);
    const int b = byte_of(cp);
    if (b < 0) {
      out.resize(mark);
      return false;
    }
    out.push_back(static_cast<char>(b));
  }
  return true;
}

}  // namespace ctx::io::byte_level
