#include "attn/data/text_dataset.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "data/text_files.h"
#include "io/temp_dir.h"
#include "support/test_util.h"

namespace attn::data {
namespace {

using attn::testing::expect_error;
using attn::testing::TempDir;
using attn::testing::write_gz;
using attn::testing::write_text;

struct Ex {
  std::string text, label;
  bool operator==(const Ex&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Ex& e) { return os << "{'" << e.text << "', '" << e.label << "'}"; }

std::vector<Ex> plain(const std::vector<TextExample>& examples) {
  std::vector<Ex> out;
  for (const auto& e : examples) out.push_back({e.text, e.label});
  return out;
}

std::vector<Ex> read(const std::string& path, const TextReadOptions& options = {}, TextReadReport* report = nullptr) {
  return plain(read_text_dataset(path, options, report));
}

TEST(TextDataset, CsvQuotingAsInAgNews) {
  TempDir dir;
  const std::string path = dir.file("news.csv");
  // BOM, CRLF, "" escapes, a comma and a line break inside quotes, an unquoted row, a backslash kept literally.
  write_text(path,
             "\xEF\xBB\xBF\"3\",\"Fears for T N pension\",\"Unions said \"\"no\"\", today\"\r\n"
             "\"1\",\"Two\r\nlines\",\"desc\\ with backslash\"\r\n"
             "2,plain title,plain desc\r\n"
             "\"4\",\"\",\"only a description\"");
  const auto examples = read_text_dataset(path, {});
  ASSERT_EQ(plain(examples), (std::vector<Ex>{{"Fears for T N pension Unions said \"no\", today", "3"},
                                              {"Two\nlines desc\\ with backslash", "1"},
                                              {"plain title plain desc", "2"},
                                              {"only a description", "4"}}));
  EXPECT_EQ(examples[0].where, path + ":1");
  EXPECT_EQ(examples[1].where, path + ":2");
  EXPECT_EQ(examples[2].where, path + ":4");  // the record before it spans lines 2 and 3
}

TEST(TextDataset, CsvColumnsByNameAndByNumber) {
  TempDir dir;
  const std::string path = dir.file("d.csv");
  write_text(path, "ID,Title,Summary,Topic\n7,Hello,world here,greet\n8,Bye,see you,leave\n");
  TextReadOptions by_name;
  by_name.label_column = "topic";  // case-insensitive
  by_name.text_columns = {"summary", "TITLE"};
  EXPECT_EQ(read(path, by_name), (std::vector<Ex>{{"world here Hello", "greet"}, {"see you Bye", "leave"}}));

  TextReadOptions by_number;
  by_number.label_column = "4";
  by_number.text_columns = {"2"};
  by_number.header = true;
  EXPECT_EQ(read(path, by_number), (std::vector<Ex>{{"Hello", "greet"}, {"Bye", "leave"}}));

  // Auto: no known label name, so the label must be named; with one, the id column is left out of the text.
  expect_error([&] { read(path); }, {"d.csv:1", "no label column", "ID, Title, Summary, Topic"});
  TextReadOptions label_only;
  label_only.label_column = "Topic";
  EXPECT_EQ(read(path, label_only), (std::vector<Ex>{{"Hello world here", "greet"}, {"Bye see you", "leave"}}));
}

TEST(TextDataset, HeaderDetection) {
  TempDir dir;
  const std::string sst = dir.file("sst.tsv");
  write_text(sst, "sentence\tlabel\nhide new secretions \t0\nit 's a charming journey \t1\n");
  EXPECT_EQ(read(sst), (std::vector<Ex>{{"hide new secretions", "0"}, {"it 's a charming journey", "1"}}));

  // No header: the label is the column without spaces (first or second).
  const std::string first = dir.file("first.tsv"), second = dir.file("second.tsv");
  write_text(first, "pos\ta fine film\nneg\tdull\n");
  write_text(second, "a fine film\tpos\nbad\tneg\n");
  EXPECT_EQ(read(first), (std::vector<Ex>{{"a fine film", "pos"}, {"dull", "neg"}}));
  EXPECT_EQ(read(second), (std::vector<Ex>{{"a fine film", "pos"}, {"bad", "neg"}}));

  // A known name repeated in row 2 is data, not a header.
  const std::string repeated = dir.file("repeated.csv");
  write_text(repeated, "label,some text\nlabel,more text\n");
  EXPECT_EQ(read(repeated), (std::vector<Ex>{{"some text", "label"}, {"more text", "label"}}));

  const std::string yes_no = dir.file("yes_no.csv");
  write_text(yes_no, "y,yes it is\nn,no it is not\n");
  EXPECT_EQ(read(yes_no), (std::vector<Ex>{{"yes it is", "y"}, {"no it is not", "n"}}));

  // Forced off: the first row is an example.
  const std::string looks = dir.file("looks.csv");
  write_text(looks, "text,label\nhello there,x\n");
  TextReadOptions no_header;
  no_header.header = false;
  no_header.label_column = "2";
  EXPECT_EQ(read(looks, no_header), (std::vector<Ex>{{"text", "label"}, {"hello there", "x"}}));
  EXPECT_EQ(read(looks), (std::vector<Ex>{{"hello there", "x"}}));
}

TEST(TextDataset, TsvQuotesTabsAndBlankLines) {
  TempDir dir;
  const std::string path = dir.file("t.tsv");
  write_text(path,
             "label\ttext\n"
             "\n"
             "a\t\"fully \"\"quoted\"\" text\"\n"
             "b\t\"half\" quoted \"text\"\n"
             "   \n"
             "c\ttext with\ta tab\n"
             " d \t  padded  \r\n");
  const auto examples = read_text_dataset(path, {});
  EXPECT_EQ(plain(examples), (std::vector<Ex>{{"fully \"quoted\" text", "a"},
                                              {"\"half\" quoted \"text\"", "b"},
                                              {"text with\ta tab", "c"},
                                              {"padded", "d"}}));
  EXPECT_EQ(examples[2].where, path + ":6");
}

TEST(TextDataset, ChnSentiCorpLayouts) {
  TempDir dir;
  const std::string dev = dir.file("dev.tsv"), test = dir.file("test.tsv");
  write_text(dev, "qid\tlabel\ttext_a\n0\t1\t這間酒店環境和服務態度亦算不錯\n1\t0\t房间太小。\n");
  write_text(test, "qid\ttext_a\n0\t这个宾馆比较陈旧了\n");
  EXPECT_EQ(read(dev), (std::vector<Ex>{{"這間酒店環境和服務態度亦算不錯", "1"}, {"房间太小。", "0"}}));
  TextReadOptions predict;
  predict.require_label = false;
  EXPECT_EQ(read(test, predict), (std::vector<Ex>{{"这个宾馆比较陈旧了", ""}}));
  expect_error([&] { read(test); }, {"test.tsv:1", "no label column", "qid, text_a"});
}

TEST(TextDataset, FastText) {
  TempDir dir;
  const std::string path = dir.file("train.txt");
  write_text(path, "__label__pos a great film\n\n__label__neg   __label__extra  dull  \n__label__0 \t tabbed\n");
  TextReadReport report;
  EXPECT_EQ(read(path, {}, &report), (std::vector<Ex>{{"a great film", "pos"}, {"dull", "neg"}, {"tabbed", "0"}}));
  EXPECT_EQ(report.examples, 3u);

  const std::string unlabeled = dir.file("bad.txt");
  write_text(unlabeled, "__label__a fine\nno label here\n");
  expect_error([&] { read(unlabeled); }, {"bad.txt:2", "no label", "__label__"});
  TextReadOptions ft;
  ft.format = TextFormat::FastText;
  ft.require_label = false;
  EXPECT_EQ(read(unlabeled, ft), (std::vector<Ex>{{"fine", "a"}, {"no label here", ""}}));

  const std::string custom = dir.file("custom.txt");
  write_text(custom, "#x one\n#y two\n");
  TextReadOptions prefix;
  prefix.label_prefix = "#";
  EXPECT_EQ(read(custom, prefix), (std::vector<Ex>{{"one", "x"}, {"two", "y"}}));
}

TEST(TextDataset, JsonLines) {
  TempDir dir;
  const std::string path = dir.file("d.jsonl");
  write_text(path,
             "{\"text\": \"good\", \"label\": \"pos\"}\n"
             "\n"
             "{\"text\": \"bad\", \"label\": 0}\n"
             "{\"sentence\": \"fallback key\", \"sentiment\": 1.5, \"id\": 3}\n"
             "{\"text\": [\"tok\", \"ens\"], \"label\": [\"first\", \"second\"]}\n");
  const auto examples = read_text_dataset(path, {});
  EXPECT_EQ(plain(examples),
            (std::vector<Ex>{{"good", "pos"}, {"bad", "0"}, {"fallback key", "1.5"}, {"tok ens", "first"}}));
  EXPECT_EQ(examples[1].where, path + ":3");

  const std::string keyed = dir.file("k.json");
  write_text(keyed, "{\"body\": \"b\", \"title\": \"t\", \"y\": \"z\", \"tag\": \"q\"}\n");
  TextReadOptions keys;
  keys.json_label_key = "tag";
  keys.text_columns = {"title", "body"};
  EXPECT_EQ(read(keyed, keys), (std::vector<Ex>{{"t b", "q"}}));

  const std::string bad = dir.file("bad.jsonl");
  write_text(bad, "{\"text\": \"ok\", \"label\": 1}\n{\"text\": \"no label\"}\n");
  expect_error([&] { read(bad); }, {"bad.jsonl:2", "missing label", "the object has: text"});
  write_text(bad, "{\"text\": \"ok\", \"label\": 1}\n{\"text\": \"broken\", \n");
  expect_error([&] { read(bad); }, {"bad.jsonl:2", "syntax error"});
  write_text(bad, "[1, 2]\n");
  expect_error([&] { read(bad); }, {"bad.jsonl:1", "expected a JSON object"});
  write_text(bad, "{\"label\": 1}\n");
  expect_error([&] { read(bad); }, {"bad.jsonl:1", "no text", "the object has: label"});
}

TEST(TextDataset, Folder) {
  TempDir dir;
  const std::filesystem::path root = dir.file("imdb");
  std::filesystem::create_directories(root / "pos");
  std::filesystem::create_directories(root / "neg");
  std::filesystem::create_directories(root / ".cache");
  write_text((root / "pos" / "1_9.txt").string(), "Great<br />film.");
  write_text((root / "pos" / "0_10.txt").string(), "\xEF\xBB\xBF  Loved\tit\n");
  write_text((root / "pos" / ".hidden.txt").string(), "ignored");
  write_text((root / "neg" / "0_2.txt").string(), "Dull.");
  write_text((root / ".cache" / "x.txt").string(), "ignored");
  write_text((root / "README").string(), "top-level files are not examples");
  const auto examples = read_text_dataset(root.string(), {});
  EXPECT_EQ(plain(examples), (std::vector<Ex>{{"Dull.", "neg"}, {"Loved\tit", "pos"}, {"Great<br />film.", "pos"}}));
  EXPECT_EQ(examples[0].where, (root / "neg" / "0_2.txt").string());

  write_text((root / "neg" / "1_1.txt").string(), "bad \xC3\x28 byte");
  expect_error([&] { read(root.string()); }, {"1_1.txt", "invalid UTF-8"});
  TextReadOptions skip;
  skip.skip_bad = true;
  TextReadReport report;
  EXPECT_EQ(read(root.string(), skip, &report).size(), 3u);
  EXPECT_EQ(report.skipped, 1u);

  write_text((root / "neg" / "2_1.bin").string(), std::string("\x89PNG\0\0", 6));
  expect_error([&] { read(root.string(), skip); }, {"2_1.bin", "NUL byte"});

  const std::string empty = dir.file("empty");
  std::filesystem::create_directories(empty);
  expect_error([&] { read(empty); }, {"no label folders"});
  TextReadOptions folder;
  folder.format = TextFormat::Folder;
  expect_error([&] { read(dir.file("nope"), folder); }, {"nope", "not a directory"});
}

TEST(TextDataset, AutoFormatFromNameAndContent) {
  TempDir dir;
  const std::string ft = dir.file("a.txt"), lines = dir.file("b.txt");
  write_text(ft, "\n__label__x hi\n");
  write_text(lines, "just text\nmore text\n");
  TextExampleStream s1(ft, {});
  EXPECT_EQ(s1.format(), TextFormat::FastText);
  TextReadOptions predict;
  predict.require_label = false;
  TextExampleStream s2(lines, predict);
  EXPECT_EQ(s2.format(), TextFormat::Tsv);
  EXPECT_EQ(read(lines, predict), (std::vector<Ex>{{"just text", ""}, {"more text", ""}}));
  expect_error([&] { read(lines); }, {"b.txt:1", "single column"});

  // The extension decides, looking through .gz: a .csv is never taken for fastText.
  const std::string csv = dir.file("c.csv");
  write_text(csv, "__label__x,hello there\n");
  EXPECT_EQ(TextExampleStream(csv, {}).format(), TextFormat::Csv);
  write_gz(dir.file("d.JSONL.gz"), "{\"text\": \"t\", \"label\": \"l\"}\n");
  EXPECT_EQ(TextExampleStream(dir.file("d.JSONL.gz"), {}).format(), TextFormat::Jsonl);

  EXPECT_EQ(parse_text_format("FastText"), TextFormat::FastText);
  expect_error([] { parse_text_format("xml"); }, {"unknown text format 'xml'", "csv"});
}

// Input answered line by line keeps its blank lines as empty examples in their places, in every line format,
// before the first record, between records and at the end; the line numbers say where each came from.
TEST(TextDataset, KeepBlankLinesInTheirPlaces) {
  TempDir dir;
  TextReadOptions keep;
  keep.require_label = false;
  keep.keep_blank = true;
  struct Case {
    const char* name;
    std::string body;
    std::vector<std::string> texts;  // "" for a blank line
  };
  const std::vector<Case> cases = {
      {"plain.txt", "\n\nfirst text\n\nsecond\nthird\n\n", {"", "", "first text", "", "second", "third", ""}},
      {"labelled.ft", "\n__label__a one\n\n\n__label__b two\n", {"", "one", "", "", "two"}},
      {"table.tsv", "text\n\nalpha\n \nbeta\n", {"", "alpha", "", "beta"}},
      {"table.csv", "text\nalpha\n\n\"multi\n\nline\"\n\n", {"alpha", "", "multi\n\nline", ""}},
      {"rows.jsonl", "{\"text\": \"j1\"}\n\n{\"text\": \"j2\"}\n", {"j1", "", "j2"}},
  };
  for (const auto& c : cases) {
    const std::string path = dir.file(c.name);
    write_text(path, c.body);
    TextExampleStream stream(path, keep);
    std::vector<std::string> texts;
    std::vector<int64_t> lines;
    TextExample e;
    while (stream.next(e)) texts.push_back(e.text), lines.push_back(e.line);
    EXPECT_EQ(texts, c.texts) << c.name;
    EXPECT_TRUE(std::is_sorted(lines.begin(), lines.end())) << c.name;
    TextReadOptions skip = keep;
    skip.keep_blank = false;
    EXPECT_EQ(read(path, skip).size(),
              size_t(std::count_if(c.texts.begin(), c.texts.end(), [](const auto& t) { return !t.empty(); })))
        << c.name << ": without keep_blank, blank lines are skipped";
  }
}

TEST(TextDataset, GzipInput) {
  TempDir dir;
  const std::string content = "\"1\",\"title\",\"desc, with comma\"\n\"2\",\"t2\",\"d2\"\n";
  write_text(dir.file("plain.csv"), content);
  write_gz(dir.file("packed.csv.gz"), content);
  const auto want = read(dir.file("plain.csv"));
  ASSERT_EQ(want.size(), 2u);
  EXPECT_EQ(read(dir.file("packed.csv.gz")), want);

  // A larger compressed file across many read chunks, then cut short.
  std::string big;
  for (int i = 0; i < 100000; ++i)
    big += "__label__" + std::to_string(i % 7) + " example number " + std::to_string(i) + "\n";
  write_gz(dir.file("big.txt.gz"), big);
  const auto examples = read(dir.file("big.txt.gz"));
  ASSERT_EQ(examples.size(), 100000u);
  EXPECT_EQ(examples[99999], (Ex{"example number 99999", "4"}));

  std::string bytes;
  {
    std::ifstream f(dir.file("big.txt.gz"), std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(f), {});
  }
  write_text(dir.file("cut.txt.gz"), bytes.substr(0, bytes.size() / 2));
  expect_error([&] { read(dir.file("cut.txt.gz")); }, {"cut.txt.gz", "truncated"});
}

TEST(TextDataset, Errors) {
  TempDir dir;
  const std::string path = dir.file("e.csv");
  expect_error([&] { read(dir.file("missing.csv")); }, {"missing.csv", "no such file"});

  write_text(path, "1,fine\n2,\"never closed\n3,more\n4,rows\n");
  expect_error([&] { read(path); }, {"e.csv:2", "unterminated quoted field"});

  write_text(path, "1,a,b\n2,c\n");
  expect_error([&] { read(path); }, {"e.csv:2", "expected 3 columns", "found 2"});

  write_text(path, "label,text\n1,ok\n,no label\n");
  expect_error([&] { read(path); }, {"e.csv:3", "missing label", "'label'"});

  write_text(path, "label,text\n1,bad \xFF byte\n");
  expect_error([&] { read(path); }, {"e.csv:2", "invalid UTF-8", "0xFF", "column 2"});

  TextReadOptions unknown;
  unknown.label_column = "labl";
  expect_error([&] { read(path, unknown); }, {"e.csv:1", "unknown label column 'labl'", "label, text"});
  TextReadOptions out_of_range;
  out_of_range.text_columns = {"5"};
  expect_error([&] { read(path, out_of_range); }, {"text column 5 is out of range", "2 columns"});
  TextReadOptions forced;
  forced.header = false;
  forced.label_column = "label";
  expect_error([&] { read(path, forced); }, {"given by name", "no header"});

  // NUL bytes mean a binary file, even when bad rows are skipped.
  write_text(path, std::string("label,text\n1,a\0b\n", 17));
  TextReadOptions skip;
  skip.skip_bad = true;
  expect_error([&] { read(path, skip); }, {"e.csv:2", "NUL byte", "binary"});

  write_text(path, std::string("\xFF\xFE"
                               "l\0a\0",
                               6));
  expect_error([&] { read(path); }, {"UTF-16"});
  const std::string jsonl = dir.file("e.jsonl");
  write_text(jsonl, "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"\xC0\xAF\", \"label\": 1}\n");
  expect_error([&] { read(jsonl); }, {"e.jsonl:2", "invalid UTF-8", "0xC0"});
  std::filesystem::create_directories(dir.file("sub"));
  expect_error([&] { (void)TextExampleStream(dir.file("sub"), {}); }, {"sub", "is a directory"});
}

TEST(TextDataset, SkipBadCountsAndKeepsTheFirstProblems) {
  TempDir dir;
  const std::string path = dir.file("s.tsv");
  std::string content = "label\ttext\n";
  for (int i = 0; i < 10; ++i) content += "x\tgood " + std::to_string(i) + "\n";
  for (int i = 0; i < 4; ++i) content += "\tno label\n";
  for (int i = 0; i < 3; ++i) content += "y\tbad \xED\xA0\x80 surrogate\n";
  content += "y\tlast\n";
  write_text(path, content);
  TextReadOptions skip;
  skip.skip_bad = true;
  TextReadReport report;
  const auto examples = read(path, skip, &report);
  EXPECT_EQ(examples.size(), 11u);
  EXPECT_EQ(examples.back(), (Ex{"last", "y"}));
  EXPECT_EQ(report.examples, 11u);
  EXPECT_EQ(report.skipped, 7u);
  ASSERT_EQ(report.first_problems.size(), 5u);
  EXPECT_NE(report.first_problems[0].find("s.tsv:12: missing label"), std::string::npos) << report.first_problems[0];
  EXPECT_NE(report.first_problems[4].find("s.tsv:16: invalid UTF-8"), std::string::npos) << report.first_problems[4];

  // An unterminated quote swallows the rest of the file: one skipped row.
  const std::string csv = dir.file("q.csv");
  write_text(csv, "1,a\n2,\"open\n3,b\n");
  EXPECT_EQ(read(csv, skip, &report), (std::vector<Ex>{{"a", "1"}}));
  EXPECT_EQ(report.skipped, 1u);
}

TEST(TextDataset, VeryLongLines) {
  TempDir dir;
  std::string text(12 << 20, 'a');
  for (size_t i = 0; i < text.size(); i += 7) text[i] = ' ';
  text.front() = text.back() = 'z';
  write_text(dir.file("long.tsv"), "1\t" + text + "\n0\tshort text\n");
  auto examples = read(dir.file("long.tsv"));
  ASSERT_EQ(examples.size(), 2u);
  EXPECT_EQ(examples[0].label, "1");
  EXPECT_EQ(examples[0].text, text);
  write_text(dir.file("long.csv"), "\"1\",\"" + text + "\"\n\"0\",\"short text\"\n");
  examples = read(dir.file("long.csv"));
  ASSERT_EQ(examples.size(), 2u);
  EXPECT_EQ(examples[0].text, text);
}

// Many lines of random lengths (chunk boundaries fall everywhere, CRLF or LF), checked line by line.
TEST(TextDataset, RandomLinesAcrossChunkBoundaries) {
  TempDir dir;
  std::string content;
  std::vector<Ex> want;
  for (int i = 0; i < 20000; ++i) {
    const auto len = static_cast<size_t>(attn::testing::random_int(0, 120));
    std::string text(len, 'x');
    for (auto& c : text) c = static_cast<char>('a' + attn::testing::random_int(0, 25));
    text = "w" + text;
    const std::string label = std::to_string(attn::testing::random_int(0, 3));
    content += label + "\t" + text + (attn::testing::random_int(0, 1) ? "\r\n" : "\n");
    want.push_back({text, label});
  }
  write_text(dir.file("r.tsv"), content);
  write_gz(dir.file("r.tsv.gz"), content);
  EXPECT_EQ(read(dir.file("r.tsv")), want);
  EXPECT_EQ(read(dir.file("r.tsv.gz")), want);
}

TEST(TextDataset, StreamMatchesWholeRead) {
  TempDir dir;
  const std::string path = dir.file("s.jsonl");
  write_text(path, "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\"}\n{\"text\": \"c\", \"label\": 2}\n");
  TextReadOptions predict;
  predict.require_label = false;
  TextExampleStream stream(path, predict);
  TextExample e;
  std::vector<TextExample> got;
  while (stream.next(e)) got.push_back(e);
  EXPECT_FALSE(stream.next(e));
  EXPECT_EQ(plain(got), read(path, predict));
  EXPECT_EQ(stream.report().examples, 3u);
  EXPECT_EQ(got[1].where, path + ":2");

  TextReadOptions folder;
  folder.format = TextFormat::Folder;
  expect_error([&] { (void)TextExampleStream(path, folder); }, {"cannot be streamed"});
}

}  // namespace
}  // namespace attn::data
