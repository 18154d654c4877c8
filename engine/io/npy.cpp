// .npy: magic "\x93NUMPY", version, header length, a Python dict literal padded with spaces to a
// multiple of 64 bytes and ended by '\n', then the raw data.
#include "io/npy.h"

#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include "io/atomic_file.h"

namespace ctx::io {

void write_npy_f32(const std::string& path, const std::vector<int64_t>& shape, const float* data) {
  std::ostringstream dict;
  dict << "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  int64_t n = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    dict << shape[i] << (shape.size() == 1 ? "," : i + 1 < shape.size() ? ", " : "");
    n *= shape[i];
  }
  dict << "), }";
  std::string header = dict.str();
  const size_t prefix = 10;  // magic (6) + version (2) + length (2)
  header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  const auto len = static_cast<uint16_t>(header.size());
  out += static_cast<char>(len & 0xFF);
  out += static_cast<char>(len >> 8);
  out += header;
  out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n) * sizeof(float));
  write_text_atomic(path, out);
}

NpyArray read_npy_f32(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw NpyError(path + ": cannot open");
  const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
    throw NpyError(path + ": not a .npy file");
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t hlen = 0, start = 0;
  if (major == 1) {
    hlen = static_cast<unsigned char>(bytes[8]) |
           (static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8);
    start = 10;
  } else {
    if (bytes.size() < 12) throw NpyError(path + ": truncated header");
    uint32_t l = 0;
    std::memcpy(&l, bytes.data() + 8, 4);
    hlen = l;
    start = 12;
  }
  if (bytes.size() < start + hlen) throw NpyError(path + ": truncated header");
  const std::string header = bytes.substr(start, hlen);
  if (header.find("'<f4'") == std::string::npos) throw NpyError(path + ": not float32 ('<f4')");
  if (header.find("'fortran_order': False") == std::string::npos)
    throw NpyError(path + ": not C order");
  NpyArray a;
  const auto open = header.find("'shape': (");
  const auto close = header.find(')', open);
  if (open == std::string::npos || close == std::string::npos) throw NpyError(path + ": no shape");
  std::stringstream dims(header.substr(open + 10, close - open - 10));
  std::string item;
  int64_t n = 1;
  while (std::getline(dims, item, ',')) {
    if (item.find_first_not_of(' ') == std::string::npos) continue;
    a.shape.push_back(std::stoll(item));
    n *= a.shape.back();
  }
  const size_t data_at = start + hlen;
  if (bytes.size() - data_at != static_cast<size_t>(n) * sizeof(float))
    throw NpyError(path + ": data size does not match the shape");
  a.data.resize(static_cast<size_t>(n));
  std::memcpy(a.data.data(), bytes.data() + data_at, a.data.size() * sizeof(float));
  return a;
}

}  // namespace ctx::io
