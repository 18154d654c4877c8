// load_corpus on generated fixtures: each text split, nested folders, JSONL, and the error
// messages.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "data/corpus.h"

namespace fs = std::filesystem;
using ctx::data::ByteTokenizer;
using ctx::data::Corpus;
using ctx::data::CorpusOptions;
using ctx::data::DataError;
using ctx::data::load_corpus;

namespace {

// A fresh folder per test, so tests can run in any order or in parallel (ctest -j).
fs::path fresh_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const fs::path dir = fs::path(CTXLAB_TEST_TMP) / "data" /
                       (std::string(info->test_suite_name()) + "." + info->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string write(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
  return path.string();
}

std::string text(const ctx::data::Document& d) {
  return ByteTokenizer::decode(d.tokens);
}

CorpusOptions split(const std::string& how) {
  CorpusOptions opt;
  opt.split = how;
  return opt;
}

// The message must contain `needle`; a DataError of any other wording is a failure.
void expect_error(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no DataError; expected one containing: " << needle;
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
        << "message: " << e.what() << "\nexpected to contain: " << needle;
  }
}

const std::string kThreeParagraphs = "first line\nsecond line\n\n\n  \nthird\r\n\nfourth\nfifth";

}  // namespace

TEST(LoadCorpus, TextFileSplitFileIsOneDocument) {
  const std::string path = write(fresh_dir() / "a.txt", kThreeParagraphs);
  const Corpus c = load_corpus(path, split("file"));
  EXPECT_EQ(c.spec, path);
  ASSERT_EQ(c.docs.size(), 1u);
  EXPECT_EQ(text(c.docs[0]), kThreeParagraphs);
  EXPECT_EQ(c.docs[0].source, path);
  EXPECT_EQ(c.total_tokens(), static_cast<int64_t>(kThreeParagraphs.size()));
}

TEST(LoadCorpus, TextFileSplitBlankLines) {
  const std::string path = write(fresh_dir() / "a.txt", kThreeParagraphs);
  const Corpus c = load_corpus(path, split("blank_lines"));
  ASSERT_EQ(c.docs.size(), 3u);
  EXPECT_EQ(text(c.docs[0]), "first line\nsecond line");
  EXPECT_EQ(text(c.docs[1]), "third");
  EXPECT_EQ(text(c.docs[2]), "fourth\nfifth");
  EXPECT_EQ(c.docs[0].source.rfind(path, 0), 0u);
}

TEST(LoadCorpus, TextFileSplitLines) {
  const std::string path = write(fresh_dir() / "a.txt", kThreeParagraphs);
  const Corpus c = load_corpus(path, split("lines"));
  ASSERT_EQ(c.docs.size(), 5u);
  EXPECT_EQ(text(c.docs[0]), "first line");
  EXPECT_EQ(text(c.docs[1]), "second line");
  EXPECT_EQ(text(c.docs[2]), "third");  // CR of a CRLF line ending is not text
  EXPECT_EQ(text(c.docs[4]), "fifth");
  EXPECT_EQ(c.docs[2].source, path + ":6");
}

TEST(LoadCorpus, BinaryBytesSurviveLoading) {
  const std::string bytes("\x00\xFF\xC3\x28 ok", 7);
  const std::string path = write(fresh_dir() / "bin.dat", bytes);
  const Corpus c = load_corpus(path);
  ASSERT_EQ(c.docs.size(), 1u);
  EXPECT_EQ(text(c.docs[0]), bytes);
}

TEST(LoadCorpus, UnknownSplitIsNamed) {
  const std::string path = write(fresh_dir() / "a.txt", "hello");
  expect_error([&] { load_corpus(path, split("sentences")); }, "'sentences'");
}

TEST(LoadCorpus, FolderIsRecursiveSortedAndSkipsHidden) {
  const fs::path dir = fresh_dir() / "corpus";
  write(dir / "b.txt", "bee");
  write(dir / "a.txt", "ay");
  write(dir / "sub" / "c.txt", "sea");
  write(dir / "sub" / "deeper" / "d.md", "dee");
  write(dir / "a_after" / "e.txt", "ee");
  write(dir / "sub-2" / "f.txt", "eff");  // after sub/: a folder's files stay together
  write(dir / ".hidden.txt", "hidden file");
  write(dir / ".git" / "config", "hidden folder");
  write(dir / "sub" / ".cache" / "x.txt", "hidden nested folder");
  fs::create_directories(dir / "empty_sub");
  const Corpus c = load_corpus(dir.string());
  std::vector<std::string> texts, sources;
  for (const auto& d : c.docs) {
    texts.push_back(text(d));
    sources.push_back(fs::path(d.source).lexically_relative(dir).generic_string());
  }
  EXPECT_EQ(texts, (std::vector<std::string>{"ay", "ee", "bee", "sea", "dee", "eff"}));
  EXPECT_EQ(sources, (std::vector<std::string>{"a.txt", "a_after/e.txt", "b.txt", "sub/c.txt",
                                               "sub/deeper/d.md", "sub-2/f.txt"}));
}

TEST(LoadCorpus, FolderAppliesSplitAndReadsJsonlAsJsonl) {
  const fs::path dir = fresh_dir() / "corpus";
  write(dir / "a.txt", "one\n\ntwo\n");
  write(dir / "b.jsonl", "{\"text\": \"three\"}\n{\"text\": \"four\"}\n");
  write(dir / "c.ndjson", "{\"text\": \"five\"}\n");
  const Corpus c = load_corpus(dir.string(), split("blank_lines"));
  std::vector<std::string> texts;
  for (const auto& d : c.docs) texts.push_back(text(d));
  EXPECT_EQ(texts, (std::vector<std::string>{"one", "two", "three", "four", "five"}));
  EXPECT_EQ(c.docs[3].source, (dir / "b.jsonl").string() + ":2");
}

TEST(LoadCorpus, JsonlOneDocumentPerNonBlankLine) {
  const std::string path = write(
      fresh_dir() / "data.jsonl",
      "\xEF\xBB\xBF{\"text\": \"alpha\", \"id\": 1}\n\n   \n{\"text\": \"b\\u00e9ta\\nline\"}\r\n"
      "{\"meta\": {\"x\": 2}, \"text\": \"\"}\n{\"text\": \"gamma\"}");
  const Corpus c = load_corpus(path);
  ASSERT_EQ(c.docs.size(), 3u);  // the empty text is dropped
  EXPECT_EQ(text(c.docs[0]), "alpha");
  EXPECT_EQ(text(c.docs[1]), "b\xC3\xA9ta\nline");
  EXPECT_EQ(text(c.docs[2]), "gamma");
  EXPECT_EQ(c.docs[0].source, path + ":1");
  EXPECT_EQ(c.docs[1].source, path + ":4");
  EXPECT_EQ(c.docs[2].source, path + ":6");
}

TEST(LoadCorpus, JsonlBadLineNamesFileAndLine) {
  const std::string path =
      write(fresh_dir() / "data.jsonl",
            "{\"text\": \"ok\"}\n\n{\"text\": \"unterminated}\n{\"text\": \"x\"}\n");
  expect_error([&] { load_corpus(path); }, path + ":3: line is not valid JSON");
}

TEST(LoadCorpus, JsonlMissingOrNonStringText) {
  const fs::path dir = fresh_dir();
  const std::string missing = write(dir / "m.jsonl", "{\"text\": \"ok\"}\n{\"body\": \"no\"}\n");
  expect_error([&] { load_corpus(missing); }, missing + ":2: no string field \"text\"");
  const std::string number = write(dir / "n.jsonl", "{\"text\": 17}\n");
  expect_error([&] { load_corpus(number); }, number + ":1: no string field \"text\"");
  const std::string array = write(dir / "a.jsonl", "[\"text\"]\n");
  expect_error([&] { load_corpus(array); }, array + ":1: line is not a JSON object");
}

TEST(LoadCorpus, JsonlErrorInsideAFolderNamesTheFile) {
  const fs::path dir = fresh_dir() / "corpus";
  write(dir / "a.txt", "fine");
  const std::string bad = write(dir / "sub" / "b.jsonl", "{\"text\": \"ok\"}\nnot json\n");
  expect_error([&] { load_corpus(dir.string()); }, bad + ":2: line is not valid JSON");
}

TEST(LoadCorpus, EmptyCorporaAreErrors) {
  const fs::path dir = fresh_dir();
  const std::string empty_file = write(dir / "empty.txt", "");
  expect_error([&] { load_corpus(empty_file); }, "corpus '" + empty_file + "' is empty");
  const std::string blank_lines = write(dir / "blank.txt", "\n \n\t\n");
  expect_error([&] { load_corpus(blank_lines, split("lines")); },
               "corpus '" + blank_lines + "' is empty");
  const std::string blank_jsonl = write(dir / "blank.jsonl", "\n   \n\n");
  expect_error([&] { load_corpus(blank_jsonl); }, "corpus '" + blank_jsonl + "' is empty");
  const fs::path folder = dir / "folder";
  write(folder / "sub" / "nothing.txt", "");
  write(folder / ".hidden", "only hidden content");
  expect_error([&] { load_corpus(folder.string()); }, "corpus '" + folder.string() + "' is empty");
}

TEST(LoadCorpus, MissingPathIsNamed) {
  const std::string path = (fresh_dir() / "nope" / "missing.txt").string();
  expect_error([&] { load_corpus(path); }, "corpus '" + path + "' does not exist");
}

TEST(LoadCorpus, UnresolvablePathIsNamed) {
  // A symlink to itself exists but cannot be opened, even by root (unlike a chmod 000 file).
  const fs::path link = fresh_dir() / "loop.txt";
  fs::create_symlink(link.filename(), link);
  expect_error([&] { load_corpus(link.string()); }, "cannot read '" + link.string() + "'");
}

TEST(LoadCorpus, UnreadableFileIsNamed) {
  const std::string path = write(fresh_dir() / "secret.txt", "hidden");
  fs::permissions(path, fs::perms::none);
  if (std::ifstream(path).good()) {
    fs::permissions(path, fs::perms::owner_all);
    GTEST_SKIP() << "running with permission to read anything (root?)";
  }
  expect_error([&] { load_corpus(path); }, "cannot read '" + path + "'");
  fs::permissions(path, fs::perms::owner_all);
}

TEST(LoadCorpus, MinDocTokensDropsShortDocuments) {
  const std::string path = write(fresh_dir() / "a.txt", "tiny\nthis one is long enough\nno\n");
  CorpusOptions opt = split("lines");
  opt.min_doc_tokens = 5;
  const Corpus c = load_corpus(path, opt);
  ASSERT_EQ(c.docs.size(), 1u);
  EXPECT_EQ(text(c.docs[0]), "this one is long enough");
  opt.min_doc_tokens = 100;
  expect_error([&] { load_corpus(path, opt); }, "shorter than 100 tokens");
}

TEST(LoadCorpus, BuiltinLongrange) {
  CorpusOptions opt;
  opt.seed = 7;
  opt.builtin_docs = 5;
  opt.builtin_doc_tokens = 300;
  const Corpus c = load_corpus("builtin:longrange", opt);
  ASSERT_EQ(c.docs.size(), 5u);
  EXPECT_EQ(c.docs[3].source, "builtin:longrange#3");
  for (const auto& d : c.docs) EXPECT_NEAR(static_cast<double>(d.tokens.size()), 300.0, 8.0);
  opt.seed = 8;
  EXPECT_NE(load_corpus("builtin:longrange", opt).docs[0].tokens, c.docs[0].tokens);
}

TEST(LoadCorpus, UnknownBuiltinListsTheKnownOnes) {
  expect_error([] { load_corpus("builtin:wikitext"); },
               "unknown built-in corpus 'builtin:wikitext' (known: builtin:longrange)");
}
