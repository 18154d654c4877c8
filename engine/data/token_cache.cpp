// Token cache files: "CTXTOK1\n", the key's length and bytes, the document count, each document's
// source and int32 ids (little-endian, as this machine writes them), then an FNV-1a checksum of
// everything before it.
#include "data/token_cache.h"

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace ctx::data {
namespace {

constexpr char kMagic[] = "CTXTOK1\n";
constexpr uint64_t kOffset = 1469598103934665603ull, kPrime = 1099511628211ull;

uint64_t fnv1a(std::string_view bytes, uint64_t h = kOffset) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= kPrime;
  }
  return h;
}

void put_u64(std::string& out, uint64_t v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

struct Reader {
  std::string_view in;
  size_t at = 0;
  bool u64(uint64_t& v) {
    if (in.size() - at < sizeof v) return false;
    std::memcpy(&v, in.data() + at, sizeof v);
    at += sizeof v;
    return true;
  }
  bool bytes(size_t n, std::string_view& out) {
    if (in.size() - at < n) return false;
    out = in.substr(at, n);
    at += n;
    return true;
  }
};

}  // namespace

std::string fnv1a64_hex(std::string_view bytes) {
  static const char* hex = "0123456789abcdef";
  uint64_t h = fnv1a(bytes);
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) s[static_cast<size_t>(i)] = hex[h & 0xF];
  return s;
}

std::optional<std::vector<Document>> read_token_cache(const std::string& path,
                                                      const std::string& key) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  const std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const size_t magic = sizeof kMagic - 1;
  if (data.size() < magic + 8 || data.compare(0, magic, kMagic) != 0) return std::nullopt;
  uint64_t stored = 0;
  std::memcpy(&stored, data.data() + data.size() - 8, 8);
  if (fnv1a(std::string_view(data).substr(0, data.size() - 8)) != stored) return std::nullopt;
  Reader r{std::string_view(data).substr(0, data.size() - 8), magic};
  uint64_t n = 0, count = 0;
  std::string_view k;
  if (!r.u64(n) || !r.bytes(n, k) || k != key || !r.u64(count)) return std::nullopt;
  std::vector<Document> docs;
  for (uint64_t i = 0; i < count; ++i) {
    Document d;
    std::string_view src, ids;
    uint64_t tokens = 0;
    if (!r.u64(n) || !r.bytes(n, src) || !r.u64(tokens) || tokens > r.in.size() / sizeof(Token) ||
        !r.bytes(tokens * sizeof(Token), ids))
      return std::nullopt;
    d.source = std::string(src);
    d.tokens.resize(tokens);
    if (tokens) std::memcpy(d.tokens.data(), ids.data(), ids.size());
    docs.push_back(std::move(d));
  }
  if (r.at != r.in.size()) return std::nullopt;
  return docs;
}

void write_token_cache(const std::string& path, const std::string& key,
                       const std::vector<Document>& docs) {
  std::string out(kMagic, sizeof kMagic - 1);
  put_u64(out, key.size());
  out += key;
  put_u64(out, docs.size());
  for (const auto& d : docs) {
    put_u64(out, d.source.size());
    out += d.source;
    put_u64(out, d.tokens.size());
    out.append(reinterpret_cast<const char*>(d.tokens.data()), d.tokens.size() * sizeof(Token));
  }
  put_u64(out, fnv1a(out));
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return;
    f.write(out.data(), static_cast<std::streamsize>(out.size()));
    if (!f) {
      f.close();
      std::filesystem::remove(tmp, ec);
      return;
    }
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) std::filesystem::remove(tmp, ec);
}

}  // namespace ctx::data
