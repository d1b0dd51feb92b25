#include "report/document.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "support/output_checks.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace whittle::report {
namespace {

const std::filesystem::path kFixtures = WHITTLE_TEST_FIXTURES;

using test_support::contains;
using test_support::expect_contains_all;
using test_support::expect_contains_none;

TEST(Document, HtmlEscapesEveryTextAndMarkdownEscapesTableCells) {
  Document document{"<Lab> & \"friends\"",
                    {{"A & B", {Paragraph{"1 < 2 > 0 'quoted'"}, Table{{"a|b", "c"}, {{"x|y", "line\nbreak"}}},
                                BulletList{{"<li>"}}, CodeBlock{"q.toml", "toml", "width = 8 # <b>"}}}}};
  std::string html = to_html(document);
  expect_contains_all(html, {"<title>&lt;Lab&gt; &amp; &quot;friends&quot;</title>", "<h2>A &amp; B</h2>",
                             "<p>1 &lt; 2 &gt; 0 &#39;quoted&#39;</p>", "<th>a|b</th>", "<li>&lt;li&gt;</li>",
                             "width = 8 # &lt;b&gt;"});
  EXPECT_FALSE(contains(html, "<b>"));

  std::string markdown = to_markdown(document);
  expect_contains_all(markdown,
                      {"| a\\|b | c |\n| --- | --- |\n| x\\|y | line break |\n", "```toml\nwidth = 8 # <b>\n```\n"});
}

TEST(Document, CodeFencesAreLongerThanAnyBacktickRunInTheCode) {
  Document document{"t", {{"s", {CodeBlock{"", "", "a ```` b"}}}}};
  EXPECT_TRUE(contains(to_markdown(document), "`````\na ```` b\n`````\n"));
}

TEST(SvgInlining, DropsThePrologAndNamespacesAndPrefixesIdsWithTheirReferences) {
  std::string svg = svg_for_inlining(read_file(kFixtures / "report" / "referencing.svg"), "f1-", "referencing.svg");
  EXPECT_TRUE(svg.starts_with("<svg"));
  EXPECT_TRUE(svg.ends_with("</svg>"));
  expect_contains_none(svg, {"<?xml", "<!--", "xmlns", "http://"});
  expect_contains_all(svg, {
                               "id='f1-gpPt5'",
                               "xlink:href='#f1-gpPt5' id='f1-gpPt6'",
                               "xlink:href='#f1-gpPt6'",
                               "id=\"f1-plotArea\"",
                               "clip-path=\"url(#f1-plotArea)\"",
                               "id=\"f1-gnuplot_canvas\"",
                               "fill=\"#ff0000\"",                          // a colour, not an id
                               "accuracy &amp; size (#gpPt5 in text stays)",  // text content untouched
                           });
}

TEST(SvgInlining, RejectsTextThatIsNoSvgOrThatLoadsSomethingFromOutside) {
  auto error_of = [](const std::string& svg) -> std::string {
    try {
      svg_for_inlining(svg, "p-", "figure.svg");
    } catch (const Error& error) {
      return error.what();
    }
    return "";
  };
  EXPECT_TRUE(contains(error_of("<html></html>"), "figure.svg: not an SVG file"));
  EXPECT_TRUE(contains(error_of("<svg width='1'>"), "figure.svg: SVG file without </svg>"));
  EXPECT_TRUE(contains(error_of("<svg><image href='http://example.com/a.png'/></svg>"),
                       "external resource: http://example.com/a.png"));
  EXPECT_TRUE(contains(error_of("<svg><image xlink:href=\"pic.png\"/></svg>"), "external resource: pic.png"));
  EXPECT_TRUE(contains(error_of("<svg><rect style=\"fill: url(https://x/y)\"/></svg>"), "external resource: url("));
  EXPECT_TRUE(contains(error_of("<svg><script>alert(1)</script></svg>"), "contains a script"));
  EXPECT_EQ(error_of("<svg><use href='#a'/><g id='a'/></svg>"), "");
}

}  // namespace
}  // namespace whittle::report
