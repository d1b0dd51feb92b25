#include "report/document.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "util/atomic_file.h"
#include "util/error.h"

namespace whittle::report {
namespace {

const std::filesystem::path kFixtures = WHITTLE_TEST_FIXTURES;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(Document, HtmlEscapesEveryTextAndMarkdownEscapesTableCells) {
  Document document{"<Lab> & \"friends\"",
                    {{"A & B", {Paragraph{"1 < 2 > 0 'quoted'"}, Table{{"a|b", "c"}, {{"x|y", "line\nbreak"}}},
                                BulletList{{"<li>"}}, CodeBlock{"q.toml", "toml", "width = 8 # <b>"}}}}};
  std::string html = to_html(document);
  EXPECT_TRUE(contains(html, "<title>&lt;Lab&gt; &amp; &quot;friends&quot;</title>"));
  EXPECT_TRUE(contains(html, "<h2>A &amp; B</h2>"));
  EXPECT_TRUE(contains(html, "<p>1 &lt; 2 &gt; 0 &#39;quoted&#39;</p>"));
  EXPECT_TRUE(contains(html, "<th>a|b</th>"));
  EXPECT_TRUE(contains(html, "<li>&lt;li&gt;</li>"));
  EXPECT_TRUE(contains(html, "width = 8 # &lt;b&gt;"));
  EXPECT_FALSE(contains(html, "<b>"));

  std::string markdown = to_markdown(document);
  EXPECT_TRUE(contains(markdown, "| a\\|b | c |\n| --- | --- |\n| x\\|y | line break |\n"));
  EXPECT_TRUE(contains(markdown, "```toml\nwidth = 8 # <b>\n```\n"));
}

TEST(Document, CodeFencesAreLongerThanAnyBacktickRunInTheCode) {
  Document document{"t", {{"s", {CodeBlock{"", "", "a ```` b"}}}}};
  EXPECT_TRUE(contains(to_markdown(document), "`````\na ```` b\n`````\n"));
}

TEST(SvgInlining, DropsThePrologAndNamespacesAndPrefixesIdsWithTheirReferences) {
  std::string svg = svg_for_inlining(read_file(kFixtures / "report" / "referencing.svg"), "f1-", "referencing.svg");
  EXPECT_TRUE(svg.starts_with("<svg"));
  EXPECT_TRUE(svg.ends_with("</svg>"));
  EXPECT_FALSE(contains(svg, "<?xml"));
  EXPECT_FALSE(contains(svg, "<!--"));
  EXPECT_FALSE(contains(svg, "xmlns"));
  EXPECT_FALSE(contains(svg, "http://"));
  EXPECT_TRUE(contains(svg, "id='f1-gpPt5'"));
  EXPECT_TRUE(contains(svg, "xlink:href='#f1-gpPt5' id='f1-gpPt6'"));
  EXPECT_TRUE(contains(svg, "xlink:href='#f1-gpPt6'"));
  EXPECT_TRUE(contains(svg, "id=\"f1-plotArea\""));
  EXPECT_TRUE(contains(svg, "clip-path=\"url(#f1-plotArea)\""));
  EXPECT_TRUE(contains(svg, "id=\"f1-gnuplot_canvas\""));
  EXPECT_TRUE(contains(svg, "fill=\"#ff0000\""));                    // a colour, not an id
  EXPECT_TRUE(contains(svg, "accuracy &amp; size (#gpPt5 in text stays)"));  // text content untouched
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
