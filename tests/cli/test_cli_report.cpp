// ctxlab-cli report on a small fixture store: index.html names the study's runs (and no other) and
// its stored check outcomes (and no other study's), every inline SVG is well-formed XML, the page
// references nothing outside itself, the store is left byte-identical, and an unknown study exits
// 2 with one line and writes nothing. The SVG helpers escape what they are given, and the XML check
// itself rejects malformed input.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <regex>

#include "cli_runner.h"
#include "report/svg_plot.h"
#include "store/file_tree.h"
#include "store/run_store.h"
#include "xml_check.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path dir() {
  auto d = fs::path(CTXLAB_TEST_TMP) / ("cli-report-" + std::to_string(getpid()));
  fs::create_directories(d);
  return d;
}

cli_test::Result cli(const std::string& args) { return cli_test::run_cli(args, dir()); }

void eval(ctx::store::RunStore& db, int64_t run, const std::string& task, const std::string& mode,
          double x, double y, const std::string& metric, double value, const json& extra = {}) {
  ctx::store::EvalRecord e;
  e.task = task;
  e.mode = mode;
  e.x = x;
  e.y = y;
  e.metric = metric;
  e.value = value;
  e.extra_json = extra.is_null() ? "{}" : extra.dump();
  db.record_eval(run, e);
}

// Two runs of study "demo" with perplexity, retrieval and RULER records, one run outside it.
fs::path fixture_store() {
  const auto p = dir() / "report.db";
  for (auto s : {"", "-wal", "-shm"}) fs::remove(p.string() + s);
  ctx::store::RunStore db(p.string());
  const int64_t study = db.create_study("demo", "base against YaRN <x4> & more");
  const auto add = [&](const std::string& name, const json& config, std::optional<int64_t> s) {
    ctx::store::NewRun r;
    r.name = name;
    r.config_json = config.dump();
    r.method = "rope";
    r.study = s;
    r.status = ctx::store::RunStatus::Finished;
    return db.create_run(r);
  };
  const int64_t base = add("base-run", {{"train", {{"seq_len", 128}}}, {"rope_scaling", nullptr}}, study);
  const int64_t yarn = add("yarn-run", {{"train", {{"seq_len", 128}}}, {"rope_scaling", {{"rope_type", "yarn"}, {"factor", 4}}}}, study);
  // The study's check outcomes sit on its base, here a run reused from outside the study; a check
  // of another study on the same run stays out of the page.
  const int64_t outsider = add("outsider-run", json::object(), std::nullopt);
  eval(db, outsider, "study_check", "demo", 0, -1, "held", 1,
       {{"description", "yarn ppl at 1024 at most base's"}, {"detail", "2.5 <= 4.5"}, {"study_id", study}});
  eval(db, outsider, "study_check", "demo", 1, -1, "held", 0,
       {{"description", "passkey at 1024 at least 0.9"}, {"detail", "0.5 < 0.9"}, {"study_id", study}});
  eval(db, outsider, "study_check", "other", 0, -1, "held", 1,
       {{"description", "a check of another study"}, {"detail", ""}, {"study_id", study + 1}});
  for (int64_t run : {base, yarn}) {
    const double k = run == base ? 1.0 : 0.5;
    for (double L : {128.0, 256.0, 512.0, 1024.0}) {
      eval(db, run, "ppl", "nonoverlap", L, 0, "ppl", 3 + k * L / 256);
      eval(db, run, "ppl", "longdoc", L, 0, "ppl", 2.5 + k * L / 512);
      eval(db, run, "passkey", "greedy", L, -1, "accuracy", 1 - k * L / 2048);
      for (double d : {0.0, 50.0, 100.0}) eval(db, run, "needle", "greedy", L, d, "accuracy", 0.5);
      eval(db, run, "kvretrieval", "greedy", L, 0.25, "accuracy", 0.25);
      for (const std::string task : {"niah_single_1", "vt"})
        eval(db, run, "ruler/" + task, "greedy", L, task == "vt" ? -1.0 : 0.5, "accuracy", 1 - k * L / 1024,
             {{"samples", 4}, {"score_sum", 2}, {"examples", json::array()}});
    }
    eval(db, run, "ruler", "effective_length", 0, -1, "effective_length", run == base ? 256 : 1024,
         {{"threshold", 0.8}, {"reference_length", 128}, {"reference_score", 0.9},
          {"averages", {{"128", 0.9}, {"256", 0.85}, {"512", 0.6}, {"1024", 0.3}}}});
  }
  return p;
}

std::vector<std::string> svgs_in(const std::string& html) {
  std::vector<std::string> out;
  for (size_t at = html.find("<svg"); at != std::string::npos; at = html.find("<svg", at + 1)) {
    const size_t end = html.find("</svg>", at);
    if (end == std::string::npos) {
      out.push_back(html.substr(at));
      break;
    }
    out.push_back(html.substr(at, end + 6 - at));
  }
  return out;
}

}  // namespace

TEST(Report, XmlCheckRejectsMalformedInput) {
  EXPECT_EQ(xml_check::error("<svg a=\"1\"><g><text>x &amp; y</text></g></svg>"), "");
  for (const std::string bad :
       {"<svg><g></svg>", "<svg a=1></svg>", "<svg a=\"1\" a=\"2\"/>", "<svg>x & y</svg>",
        "<svg></svg><svg/>", "<svg><text>1 < 2</text></svg>", "text<svg/>", "<svg a=\"<\"/>"})
    EXPECT_NE(xml_check::error(bad), "") << bad;
}

TEST(Report, SvgHelpersEscapeTheirTextAndDrawEmptyCells) {
  ctx::report::LinePlot p;
  p.title = "ppl <by> length & \"mode\"";
  p.log_x = p.log_y = true;
  p.series = {{"run <1> & co", {128, 256, 512}, {3, 2.5, NAN}}, {"run 2", {128, 1024}, {4, 0}}};
  const auto line = ctx::report::line_plot_svg(p);
  EXPECT_EQ(xml_check::error(line), "") << line;
  EXPECT_NE(line.find("run &lt;1&gt; &amp; co"), std::string::npos);
  EXPECT_NE(line.find(">1024<"), std::string::npos) << "the data's lengths are the ticks";
  ctx::report::Heatmap h;
  h.title = "needle <grid>";
  h.columns = {"128", "256"};
  h.rows = {"0", "50"};
  h.values = {{0.25, NAN}, {1.0, 0.5}};
  const auto heat = ctx::report::heatmap_svg(h);
  EXPECT_EQ(xml_check::error(heat), "") << heat;
  EXPECT_NE(heat.find("#f4f4f4"), std::string::npos) << "the missing cell is drawn empty";
  EXPECT_EQ(xml_check::error(ctx::report::line_plot_svg({})), "");
  EXPECT_EQ(ctx::report::xml_escape(std::string("a\xff") + "b"), "a\xEF\xBF\xBD" "b");
}

TEST(Report, StudyPageIsSelfContainedAndNamesItsRuns) {
  const auto db = fixture_store();
  const auto before = cli_test::slurp(db);
  const auto out = dir() / "out";
  ctx::remove_tree(out);
  auto r = cli("report --study demo --out " + out.string() + " --db " + db.string() + " --json");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(cli_test::last_json_line(r.out)["written"], (out / "index.html").string());
  EXPECT_EQ(cli_test::slurp(db), before) << "the store was changed";
  const std::string html = cli_test::slurp(out / "index.html");
  EXPECT_NE(html.find("#1 base-run"), std::string::npos);
  EXPECT_NE(html.find("#2 yarn-run"), std::string::npos);
  EXPECT_EQ(html.find("outsider-run"), std::string::npos);
  EXPECT_NE(html.find("YaRN &lt;x4&gt; &amp; more"), std::string::npos);
  // The checks `study run` stored, held or not, and only this study's.
  EXPECT_NE(html.find("1 of 2 checks held"), std::string::npos);
  EXPECT_NE(html.find("yarn ppl at 1024 at most base&#39;s"), std::string::npos);
  EXPECT_NE(html.find("did not hold"), std::string::npos);
  EXPECT_EQ(html.find("a check of another study"), std::string::npos);
  // Config differences name the key that differs and not the ones that agree.
  EXPECT_NE(html.find("rope_scaling.factor"), std::string::npos);
  EXPECT_EQ(html.find("<td>train.seq_len</td>"), std::string::npos);
  for (const std::string section : {"perplexity (nonoverlap)", "perplexity (longdoc)", "passkey",
                                    "needle accuracy", "kvretrieval accuracy", "Effective length",
                                    "score by task and length", "needle tasks by depth"})
    EXPECT_NE(html.find(section), std::string::npos) << section;
  const auto svgs = svgs_in(html);
  EXPECT_GE(svgs.size(), 10u);
  for (const auto& svg : svgs) EXPECT_EQ(xml_check::error(svg), "") << svg.substr(0, 200);
  // Nothing is loaded from elsewhere: no scripts, links, images or URLs but the SVG namespace.
  for (const std::string ref : {"<script", "<link", "<img", "src=", "href=", "url(", "@import"})
    EXPECT_EQ(html.find(ref), std::string::npos) << ref;
  const std::string without_ns =
      std::regex_replace(html, std::regex("xmlns=\"http://www\\.w3\\.org/2000/svg\""), "");
  EXPECT_EQ(without_ns.find("http"), std::string::npos);
  EXPECT_EQ(without_ns.find("//"), std::string::npos);
}

TEST(Report, UnknownStudyExitsTwoAndWritesNothing) {
  const auto db = fixture_store();
  const auto before = cli_test::slurp(db);
  const auto out = dir() / "nothing";
  ctx::remove_tree(out);
  auto r = cli("report --study nope --out " + out.string() + " --db " + db.string());
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err.rfind("error: study 'nope': no such study (known: demo)", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_EQ(cli_test::slurp(db), before);
}
