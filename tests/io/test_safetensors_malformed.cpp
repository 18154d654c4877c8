// The safetensors header parser against malformed files: each case gets its own one-line error
// (through both the pure parser and SafetensorsFile), and random corruption never crashes.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "io/safetensors_file.h"
#include "io/safetensors_format.h"
#include "io/safetensors_writer.h"
#include "safetensors_test_util.h"

using ctx::io::Dtype;
using ctx::io::parse_safetensors_header;
using ctx::io::SafetensorsError;
using ctx::io::SafetensorsFile;
using st_test::st_bytes;

namespace {

// The parser's error for `bytes` (named "model.safetensors"), or "" when it parses.
std::string parse_error(const std::string& bytes) {
  try {
    parse_safetensors_header(bytes.data(), bytes.size(), bytes.size(), "model.safetensors");
  } catch (const SafetensorsError& e) {
    return e.what();
  }
  return "";
}

// Expects the same one-line error from the parser and from opening the bytes as a file.
void expect_error(const std::string& bytes, const std::string& needle) {
  const std::string msg = parse_error(bytes);
  EXPECT_NE(msg.find(needle), std::string::npos) << "message: " << msg << "\nwanted: " << needle;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  EXPECT_EQ(msg.rfind("model.safetensors: ", 0), 0u) << msg;

  const auto path = st_test::write_file(st_test::fresh_dir() / "model.safetensors", bytes);
  try {
    SafetensorsFile f(path);
    ADD_FAILURE() << "SafetensorsFile opened a malformed file; wanted: " << needle;
  } catch (const SafetensorsError& e) {
    const std::string file_msg = e.what();
    EXPECT_NE(file_msg.find(needle), std::string::npos) << file_msg;
    EXPECT_EQ(file_msg.rfind(path + ": ", 0), 0u) << file_msg;
  }
}

const std::string kNorm = R"("model.norm.weight":{"dtype":"F32","shape":[64],"data_offsets":)";

}  // namespace

TEST(SafetensorsMalformed, TruncatedFiles) {
  expect_error("", "truncated: the file has 0 bytes");
  expect_error(std::string("\x10\0\0", 3), "truncated: the file has 3 bytes");
  // A valid file cut inside its header: the length now runs past the end.
  const std::string whole = st_bytes(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})", 4);
  expect_error(whole.substr(0, 20), "runs past the end of the file (20 bytes)");
  // Cut inside its data: the offsets run past the end.
  expect_error(whole.substr(0, whole.size() - 1), "run past the end of the data section (3 bytes)");
}

TEST(SafetensorsMalformed, HeaderLengthPastTheEnd) {
  expect_error(st_test::le64(1000) + "{}",
               "header length 1000 runs past the end of the file (10 bytes)");
  expect_error(st_test::le64(~0ull) + "{}", "exceeds the 100000000-byte limit");
  expect_error(st_test::le64(200'000'000) + "{}", "exceeds the 100000000-byte limit");
}

TEST(SafetensorsMalformed, HeaderNotJson) {
  expect_error(st_bytes("{not json", 0), "header: not valid JSON");
  expect_error(st_bytes("", 0), "header: not valid JSON");
  expect_error(st_bytes(R"({"a":1,"a":2})", 0), "duplicate key 'a'");
  expect_error(st_bytes(std::string(200, '[') + std::string(200, ']'), 0), "nested deeper");
  expect_error(st_bytes("{\"a\xff\":1}", 0), "not valid UTF-8 (byte 3 of the header)");
  expect_error(st_bytes("{\"\xc0\xaf\":1}", 0), "not valid UTF-8");  // overlong '/'
}

TEST(SafetensorsMalformed, HeaderNotAnObject) {
  expect_error(st_bytes("[1, 2]", 0), "header is [1,2], not a JSON object");
  expect_error(st_bytes("\"text\"", 0), "not a JSON object");
  expect_error(st_bytes(R"({"t":[1]})", 0), "tensor 't': entry is [1], not an object");
}

TEST(SafetensorsMalformed, EntryKeys) {
  expect_error(st_bytes(R"({"t":{"dtype":"F32","shape":[1]}})", 4),
               "tensor 't': missing 'data_offsets'");
  expect_error(st_bytes(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}})", 4),
               "tensor 't': unexpected key 'x'");
  expect_error(st_bytes(R"({"t":{"dtype":4,"shape":[1],"data_offsets":[0,4]}})", 4),
               "dtype is 4, not a string");
  expect_error(st_bytes(R"({"t":{"dtype":"F32","shape":1,"data_offsets":[0,4]}})", 4),
               "shape is 1, not an array");
  expect_error(st_bytes(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4),
               "data_offsets is [0], not an array of two offsets");
  expect_error(st_bytes(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,-4]}})", 4),
               "data_offsets [0,-4] are not non-negative integers");
}

TEST(SafetensorsMalformed, OffsetsPastTheEnd) {
  expect_error(st_bytes("{" + kNorm + "[0,256]}}", 100),
               "tensor 'model.norm.weight': data_offsets [0, 256] run past the end of the data "
               "section (100 bytes)");
}

TEST(SafetensorsMalformed, BeginAfterEnd) {
  expect_error(st_bytes(R"({"t":{"dtype":"U8","shape":[0],"data_offsets":[8,4]}})", 16),
               "tensor 't': data_offsets [8, 4] begin after they end");
}

TEST(SafetensorsMalformed, BytesDisagreeWithDtypeTimesShape) {
  const std::string bytes = st_bytes("{" + kNorm + "[0,100]}}", 100);
  EXPECT_EQ(parse_error(bytes),
            "model.safetensors: tensor 'model.norm.weight': data_offsets [0, 100] hold 100 bytes "
            "but F32 [64] needs 256");
  expect_error(bytes, "hold 100 bytes but F32 [64] needs 256");
}

TEST(SafetensorsMalformed, OverlappingTensors) {
  expect_error(st_bytes(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                        R"("b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
                        24),
               "tensors 'a' [0, 16] and 'b' [8, 24] overlap");
  // Identical ranges, and a small tensor inside a big one after another that ends earlier.
  expect_error(st_bytes(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                        R"("b":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})",
                        4),
               "overlap");
  expect_error(st_bytes(R"({"big":{"dtype":"U8","shape":[10],"data_offsets":[0,10]},)"
                        R"("mid":{"dtype":"U8","shape":[2],"data_offsets":[1,3]},)"
                        R"("in":{"dtype":"U8","shape":[2],"data_offsets":[5,7]}})",
                        10),
               "overlap");
}

TEST(SafetensorsMalformed, UnknownDtype) {
  expect_error(st_bytes(R"({"t":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}})", 4),
               "tensor 't': unknown dtype 'F8_E4M3' (CtxLab reads F64, F32, F16, BF16, I64, I32, "
               "I16, I8, U8, BOOL)");
  expect_error(st_bytes(R"({"t":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}})", 4),
               "unknown dtype 'f32'");
}

TEST(SafetensorsMalformed, NegativeOrNonIntegerShape) {
  expect_error(st_bytes(R"({"t":{"dtype":"F32","shape":[2,-1],"data_offsets":[0,0]}})", 0),
               "shape [2,-1] has a negative dimension");
  expect_error(st_bytes(R"({"t":{"dtype":"F32","shape":[2.5],"data_offsets":[0,0]}})", 0),
               "holds 2.5, not a non-negative integer");
  expect_error(st_bytes(R"({"t":{"dtype":"F32","shape":["2"],"data_offsets":[0,0]}})", 0),
               "not a non-negative integer");
}

TEST(SafetensorsMalformed, HugeShapeThatWouldOverflow) {
  expect_error(
      st_bytes(R"({"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", 0),
      "F32 [4294967296, 4294967296] needs more bytes than 64 bits can count");
  // numel fits but numel x 8 does not
  expect_error(
      st_bytes(R"({"t":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,0]}})", 0),
      "needs more bytes than 64 bits can count");
  expect_error(
      st_bytes(R"({"t":{"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,0]}})", 0),
      "overflows 64 bits");
  expect_error(st_bytes(R"({"t":{"dtype":"U8","shape":[1e30],"data_offsets":[0,0]}})", 0),
               "not a non-negative integer");
}

TEST(SafetensorsMalformed, Metadata) {
  expect_error(st_bytes(R"({"__metadata__":{"format":"pt","step":1}})", 0),
               "__metadata__ value for 'step' is 1, not a string");
  expect_error(st_bytes(R"({"__metadata__":["pt"]})", 0),
               "__metadata__ is [\"pt\"], not an object");
  expect_error(st_bytes(R"({"__metadata__":{"a":{"b":"c"}}})", 0), "not a string");
}

TEST(SafetensorsMalformed, NamesInMessagesStayOnOneLine) {
  expect_error(st_bytes(R"({"a\nb\u0000c'":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}})", 1),
               "tensor 'a\\x0ab\\x00c\\x27': unknown dtype 'F8'");
  const std::string long_name(1000, 'n');
  const std::string msg = parse_error(
      st_bytes("{\"" + long_name + R"(":{"dtype":"X","shape":[],"data_offsets":[0,0]}})", 0));
  EXPECT_LT(msg.size(), 400u) << msg;
}

TEST(SafetensorsMalformed, ValidEdgeCasesParse) {
  auto parse = [](const std::string& b) {
    return parse_safetensors_header(b.data(), b.size(), b.size(), "x.safetensors");
  };
  EXPECT_TRUE(parse(st_bytes("{}      ", 0)).tensors.empty());
  // A scalar, two empty tensors at one offset, gaps between tensors, leading whitespace.
  const auto h = parse(st_bytes(R"(  {"s":{"dtype":"F32","shape":[],"data_offsets":[8,12]},)"
                                R"("e1":{"dtype":"F16","shape":[0,3],"data_offsets":[4,4]},)"
                                R"("e2":{"dtype":"BOOL","shape":[0],"data_offsets":[4,4]},)"
                                R"("z":{"dtype":"I64","shape":[1],"data_offsets":[16,24]}})",
                                30));
  ASSERT_EQ(h.tensors.size(), 4u);
  EXPECT_EQ(h.tensors[0].begin, 4u);
  EXPECT_EQ(h.tensors[2].name, "s");
  EXPECT_EQ(h.tensors[2].numel(), 1u);
  EXPECT_EQ(h.tensors[3].name, "z");
  EXPECT_EQ(h.data_size, 30u);
}

TEST(SafetensorsMalformed, PartialBuffersAreRefusedNotOverread) {
  const std::string b = st_bytes(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})", 4);
  EXPECT_THROW(parse_safetensors_header(b.data(), 12, b.size(), "x"), SafetensorsError);
  EXPECT_THROW(parse_safetensors_header(b.data(), 4, b.size(), "x"), SafetensorsError);
  EXPECT_THROW(parse_safetensors_header(nullptr, 0, b.size(), "x"), SafetensorsError);
  EXPECT_THROW(parse_safetensors_header(b.data(), b.size(), b.size() - 1, "x"), SafetensorsError);
  // The header alone is enough when the file size is told.
  const size_t header_end = 8 + (b.size() - 8 - 4);
  EXPECT_EQ(parse_safetensors_header(b.data(), header_end, b.size(), "x").tensors.size(), 1u);
  EXPECT_EQ(ctx::io::safetensors_header_length(b.data(), 8, b.size(), "x"), header_end - 8);
}

// A small in-process fuzz: flipped, inserted and truncated bytes of a valid file either parse or
// throw SafetensorsError; nothing else escapes and nothing reads out of bounds (run under ASan).
TEST(SafetensorsMalformed, RandomCorruptionNeverCrashes) {
  float values[6] = {1, 2, 3, 4, 5, 6};
  const auto path = (st_test::fresh_dir() / "ok.safetensors").string();
  ctx::io::write_safetensors(path,
                             {{"w", Dtype::F32, {2, 3}, values, sizeof values},
                              {"b", Dtype::BF16, {2}, values, 4},
                              {"i", Dtype::U8, {3}, values, 3}},
                             {{"format", "pt"}});
  const std::string good = st_test::read_file(path);
  std::mt19937 rng(7);
  int parsed = 0, refused = 0;
  for (int round = 0; round < 4000; ++round) {
    std::string b = good;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !b.empty(); ++e) {
      const size_t at = rng() % b.size();
      switch (rng() % 4) {
        case 0:
          b[at] = static_cast<char>(rng());
          break;
        case 1:
          b.resize(at);
          break;
        case 2:
          b.insert(at, 1, "{}[],:\"0123456789-eE.\\ "[rng() % 24]);
          break;
        default:
          b.erase(at, 1);
          break;
      }
    }
    try {
      parse_safetensors_header(b.data(), b.size(), b.size(), "fuzz");
      ++parsed;
    } catch (const SafetensorsError& e) {
      ++refused;
      ASSERT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  }
  EXPECT_GT(refused, 1000);
  EXPECT_GT(parsed, 0);  // edits inside the data section leave the header valid
}
