// Safetensors header parsing and validation. Assumes nothing about the bytes it is given: every
// length, offset and product is checked before use, and every failure is one SafetensorsError line.
#include "io/safetensors_format.h"

#include <algorithm>
#include <cstring>

#include "config/json_strict.h"

namespace ctx::io {

namespace {

using nlohmann::json;

struct DtypeRow {
  Dtype dtype;
  const char* name;
  size_t size;
};

constexpr DtypeRow kDtypes[] = {
    {Dtype::F64, "F64", 8},   {Dtype::F32, "F32", 4}, {Dtype::F16, "F16", 2},
    {Dtype::BF16, "BF16", 2}, {Dtype::I64, "I64", 8}, {Dtype::I32, "I32", 4},
    {Dtype::I16, "I16", 2},   {Dtype::I8, "I8", 1},   {Dtype::U8, "U8", 1},
    {Dtype::BOOL, "BOOL", 1},
};

const DtypeRow& row(Dtype dtype) {
  for (const auto& r : kDtypes) {
    if (r.dtype == dtype) return r;
  }
  throw std::invalid_argument("unknown ctx::io::Dtype value");
}

[[noreturn]] void fail(const std::string& what, const std::string& problem) {
  throw SafetensorsError(what + ": " + problem);
}

// "[0, 100]" for messages.
std::string pair_string(uint64_t a, uint64_t b) {
  return "[" + std::to_string(a) + ", " + std::to_string(b) + "]";
}

// A JSON value shown in a message: short, on one line.
std::string brief(const json& v) {
  std::string s = v.dump(-1, ' ', /*ensure_ascii=*/true, json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

uint64_t read_le64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// A non-negative integer JSON number, or nullopt.
std::optional<uint64_t> as_count(const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0)
    return static_cast<uint64_t>(v.get<int64_t>());
  return std::nullopt;
}

std::vector<int64_t> parse_shape(const json& v, const std::string& where) {
  if (!v.is_array()) fail(where, "shape is " + brief(v) + ", not an array");
  std::vector<int64_t> shape;
  shape.reserve(v.size());
  for (const auto& d : v) {
    if (d.is_number_integer() && !d.is_number_unsigned() && d.get<int64_t>() < 0) {
      fail(where, "shape " + brief(v) + " has a negative dimension");
    }
    auto n = as_count(d);
    if (!n)
      fail(where, "shape " + brief(v) + " holds " + brief(d) + ", not a non-negative integer");
    if (*n > static_cast<uint64_t>(INT64_MAX))
      fail(where, "shape " + brief(v) + " overflows 64 bits");
    shape.push_back(static_cast<int64_t>(*n));
  }
  return shape;
}

std::pair<uint64_t, uint64_t> parse_offsets(const json& v, const std::string& where) {
  if (!v.is_array() || v.size() != 2) {
    fail(where, "data_offsets is " + brief(v) + ", not an array of two offsets");
  }
  auto a = as_count(v[0]), b = as_count(v[1]);
  if (!a || !b) fail(where, "data_offsets " + brief(v) + " are not non-negative integers");
  return {*a, *b};
}

Dtype parse_dtype_entry(const json& v, const std::string& where) {
  if (!v.is_string()) fail(where, "dtype is " + brief(v) + ", not a string");
  auto d = parse_dtype(v.get_ref<const std::string&>());
  if (!d) {
    fail(where, "unknown dtype " + quote_name(v.get_ref<const std::string&>()) + " (CtxLab reads " +
                    known_dtypes() + ")");
  }
  return *d;
}

TensorInfo parse_entry(const std::string& name, const json& v, uint64_t data_size,
                       const std::string& what) {
  const std::string where = what + ": tensor " + quote_name(name);
  if (!v.is_object()) fail(where, "entry is " + brief(v) + ", not an object");
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    if (!v.contains(key)) fail(where, std::string("missing '") + key + "'");
  }
  if (v.size() != 3) {
    for (const auto& [key, _] : v.items()) {
      if (key != "dtype" && key != "shape" && key != "data_offsets") {
        fail(where, "unexpected key " + quote_name(key));
      }
    }
  }
  TensorInfo t;
  t.name = name;
  t.dtype = parse_dtype_entry(v["dtype"], where);
  t.shape = parse_shape(v["shape"], where);
  auto needed = tensor_nbytes(t.dtype, t.shape);
  if (!needed) {
    fail(where, std::string(dtype_name(t.dtype)) + " " + shape_string(t.shape) +
                    " needs more bytes than 64 bits can count");
  }
  std::tie(t.begin, t.end) = parse_offsets(v["data_offsets"], where);
  const std::string offsets = "data_offsets " + pair_string(t.begin, t.end);
  if (t.begin > t.end) fail(where, offsets + " begin after they end");
  if (t.end > data_size) {
    fail(where, offsets + " run past the end of the data section (" + std::to_string(data_size) +
                    " bytes)");
  }
  if (t.nbytes() != *needed) {
    fail(where, offsets + " hold " + std::to_string(t.nbytes()) + " bytes but " +
                    dtype_name(t.dtype) + " " + shape_string(t.shape) + " needs " +
                    std::to_string(*needed));
  }
  return t;
}

std::map<std::string, std::string> parse_metadata(const json& v, const std::string& what) {
  if (!v.is_object()) fail(what, "__metadata__ is " + brief(v) + ", not an object of strings");
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : v.items()) {
    if (!value.is_string()) {
      fail(what,
           "__metadata__ value for " + quote_name(key) + " is " + brief(value) + ", not a string");
    }
    out[key] = value.get<std::string>();
  }
  return out;
}

// Sorted by begin (then end), each non-empty tensor must start at or after the previous one's end.
void check_no_overlap(std::vector<TensorInfo>& tensors, const std::string& what) {
  std::sort(tensors.begin(), tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  const TensorInfo* last = nullptr;  // the non-empty tensor reaching furthest so far
  for (const auto& t : tensors) {
    if (t.begin == t.end) continue;
    if (last && t.begin < last->end) {
      fail(what, "tensors " + quote_name(last->name) + " " + pair_string(last->begin, last->end) +
                     " and " + quote_name(t.name) + " " + pair_string(t.begin, t.end) + " overlap");
    }
    if (!last || t.end > last->end) last = &t;
  }
}

}  // namespace

size_t dtype_size(Dtype dtype) {
  return row(dtype).size;
}

const char* dtype_name(Dtype dtype) {
  return row(dtype).name;
}

std::optional<Dtype> parse_dtype(std::string_view s) {
  for (const auto& r : kDtypes) {
    if (s == r.name) return r.dtype;
  }
  return std::nullopt;
}

std::string known_dtypes() {
  std::string out;
  for (const auto& r : kDtypes) out += (out.empty() ? "" : ", ") + std::string(r.name);
  return out;
}

uint64_t TensorInfo::numel() const {
  uint64_t n = 1;
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  return n;
}

std::optional<uint64_t> tensor_nbytes(Dtype dtype, const std::vector<int64_t>& shape) {
  uint64_t n = dtype_size(dtype);
  for (int64_t d : shape) {
    if (d < 0) return std::nullopt;
    if (__builtin_mul_overflow(n, static_cast<uint64_t>(d), &n)) return std::nullopt;
  }
  // Checked left to right like the reference: [2^40, 2^40, 0] overflows before the 0 is reached
  // and is refused, which no real tensor needs.
  return n;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string quote_name(std::string_view name) {
  static const char* hex = "0123456789abcdef";
  std::string out = "'";
  const size_t cap = 120;
  for (size_t i = 0; i < name.size() && i < cap; ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7f || c == '\\' || c == '\'') {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (name.size() > cap) out += "...";
  return out + "'";
}

bool valid_utf8(std::string_view s, size_t* bad_at) {
  size_t i = 0;
  auto bad = [&](size_t at) {
    if (bad_at) *bad_at = at;
    return false;
  };
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07;
    } else {
      return bad(i);
    }
    if (s.size() - i < len) return bad(i);
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return bad(i);
      cp = (cp << 6) | (cc & 0x3F);
    }
    static const uint32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return bad(i);
    i += len;
  }
  return true;
}

uint64_t safetensors_header_length(const void* bytes, size_t size, uint64_t file_size,
                                   const std::string& what) {
  if (file_size < 8) {
    fail(what, "truncated: the file has " + std::to_string(file_size) +
                   " bytes, fewer than the 8-byte header length");
  }
  if (size < 8 || bytes == nullptr) fail(what, "fewer than 8 bytes given to the header parser");
  const uint64_t n = read_le64(static_cast<const unsigned char*>(bytes));
  if (n > kMaxSafetensorsHeader) {
    fail(what, "header length " + std::to_string(n) + " exceeds the " +
                   std::to_string(kMaxSafetensorsHeader) + "-byte limit");
  }
  if (n > file_size - 8) {
    fail(what, "header length " + std::to_string(n) + " runs past the end of the file (" +
                   std::to_string(file_size) + " bytes)");
  }
  return n;
}

SafetensorsHeader parse_safetensors_header(const void* bytes, size_t size, uint64_t file_size,
                                           const std::string& what) {
  if (size > file_size) fail(what, "more bytes given than the file size");
  SafetensorsHeader h;
  h.header_size = safetensors_header_length(bytes, size, file_size, what);
  if (size - 8 < h.header_size) fail(what, "the header parser was given only part of the header");
  h.data_offset = 8 + h.header_size;
  h.data_size = file_size - h.data_offset;

  const std::string_view text(static_cast<const char*>(bytes) + 8, h.header_size);
  size_t bad_at = 0;
  if (!valid_utf8(text, &bad_at)) {
    fail(what, "header is not valid UTF-8 (byte " + std::to_string(bad_at) + " of the header)");
  }
  json j;
  try {
    j = parse_json_strict(text, what + ": header");
  } catch (const JsonError& e) {
    throw SafetensorsError(e.what());
  }
  if (!j.is_object()) fail(what, "header is " + brief(j) + ", not a JSON object");

  for (const auto& [name, value] : j.items()) {
    if (name == "__metadata__") {
      h.metadata = parse_metadata(value, what);
    } else {
      h.tensors.push_back(parse_entry(name, value, h.data_size, what));
    }
  }
  check_no_overlap(h.tensors, what);
  return h;
}

}  // namespace ctx::io
