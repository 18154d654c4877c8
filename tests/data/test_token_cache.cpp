// The token cache: a corpus tokenized by a real tokenizer is read back on the next load with the
// same ids; a changed file, another tokenizer, a damaged or foreign cache file all mean
// tokenizing again, never trusting the bytes.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "data/corpus.h"
#include "data/token_cache.h"

namespace fs = std::filesystem;
using namespace ctx::data;

namespace {

// A stand-in for a real tokenizer: one id per byte, shifted, counting its calls.
class CountingTokenizer : public Tokenizer {
 public:
  explicit CountingTokenizer(std::string fp) : fp_(std::move(fp)) {}
  std::vector<Token> encode(std::string_view text, bool) const override {
    ++calls;
    std::vector<Token> out;
    for (unsigned char c : text) out.push_back(static_cast<Token>(c) + 1);
    return out;
  }
  std::string decode(const std::vector<Token>&, bool) const override { return ""; }
  std::string piece(Token) const override { return ""; }
  std::string token_text(Token) const override { return ""; }
  int64_t vocab_size() const override { return 257; }
  Token bos_id() const override { return 0; }
  Token eos_id() const override { return -1; }
  std::string kind() const override { return "bpe"; }
  std::string fingerprint() const override { return fp_; }
  mutable std::atomic<int> calls{0};

 private:
  std::string fp_;
};

fs::path scratch(const std::string& name) {
  auto d = fs::path(CTXLAB_TEST_TMP) / ("token-cache-" + std::to_string(getpid())) / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

}  // namespace

TEST(TokenCache, SecondLoadReadsTheSameIdsBack) {
  auto d = scratch("reuse");
  fs::create_directories(d / "corpus");
  std::ofstream(d / "corpus" / "a.txt") << "first document\n";
  std::ofstream(d / "corpus" / "b.txt") << "second one";
  auto tok = std::make_shared<CountingTokenizer>("tok-1");
  CorpusOptions o;
  o.tokenizer = tok;
  o.cache_dir = (d / "cache").string();
  auto first = load_corpus((d / "corpus").string(), o);
  EXPECT_FALSE(first.from_cache);
  EXPECT_EQ(tok->calls, 2);
  auto second = load_corpus((d / "corpus").string(), o);
  EXPECT_TRUE(second.from_cache);
  EXPECT_EQ(tok->calls, 2);  // not tokenized again
  ASSERT_EQ(second.docs.size(), first.docs.size());
  for (size_t i = 0; i < first.docs.size(); ++i) {
    EXPECT_EQ(second.docs[i].tokens, first.docs[i].tokens);
    EXPECT_EQ(second.docs[i].source, first.docs[i].source);
  }
  EXPECT_EQ(first.docs[0].tokens.front(), 'f' + 1);

  // Another tokenizer, or a file that changed, is a new key.
  auto other = std::make_shared<CountingTokenizer>("tok-2");
  o.tokenizer = other;
  EXPECT_FALSE(load_corpus((d / "corpus").string(), o).from_cache);
  o.tokenizer = tok;
  std::ofstream(d / "corpus" / "b.txt") << "second one, longer now";
  auto changed = load_corpus((d / "corpus").string(), o);
  EXPECT_FALSE(changed.from_cache);
  EXPECT_EQ(changed.docs[1].tokens.size(), std::string("second one, longer now").size());
}

TEST(TokenCache, DamagedOrForeignFilesAreIgnored) {
  auto d = scratch("damage");
  const std::vector<Document> docs = {{"x", {1, 2, 3}}, {"y", {4}}};
  const auto path = (d / "c.tok").string();
  write_token_cache(path, "key", docs);
  ASSERT_TRUE(read_token_cache(path, "key").has_value());
  EXPECT_FALSE(read_token_cache(path, "other key").has_value());
  // One flipped bit anywhere is caught by the checksum.
  const auto size = fs::file_size(path);
  for (uint64_t at : {uint64_t{9}, size / 2, size - 9}) {
    write_token_cache(path, "key", docs);
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(at));
    char c = 0;
    f.read(&c, 1);
    c ^= 0x10;
    f.seekp(static_cast<std::streamoff>(at));
    f.write(&c, 1);
    f.close();
    EXPECT_FALSE(read_token_cache(path, "key").has_value()) << at;
  }
  fs::resize_file(path, size / 2);
  EXPECT_FALSE(read_token_cache(path, "key").has_value());
  std::ofstream(path) << "not a cache";
  EXPECT_FALSE(read_token_cache(path, "key").has_value());
  EXPECT_FALSE(read_token_cache((d / "missing.tok").string(), "key").has_value());
}
