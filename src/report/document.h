#pragma once
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace whittle::report {

// A small document model, so that one report is written once and rendered
// to both Markdown and self-contained HTML. All text is plain text: each
// renderer escapes it for its format.
struct Paragraph {
  std::string text;
};

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // each as long as the header
};

struct CodeBlock {
  std::string caption;   // e.g. the file name
  std::string language;  // "toml", "json"
  std::string text;
};

struct FigureBlock {
  std::string caption;
  std::string image_link;   // Markdown: the PNG, relative to the document
  std::string vector_link;  // Markdown: the SVG, relative to the document
  std::string svg;          // HTML: the SVG markup, prepared by svg_for_inlining
};

struct BulletList {
  std::vector<std::string> items;
};

using Block = std::variant<Paragraph, Table, CodeBlock, FigureBlock, BulletList>;

struct Section {
  std::string heading;
  std::vector<Block> blocks;
};

struct Document {
  std::string title;
  std::vector<Section> sections;
};

std::string to_markdown(const Document& document);
// One file with its CSS inline and no external resources.
std::string to_html(const Document& document);

std::string escape_html(std::string_view text);
// For a Markdown table cell: "|" escaped, line breaks as spaces.
std::string escape_markdown_cell(std::string_view text);

// An SVG file's markup made fit to sit inside an HTML page next to others:
// the XML prolog, doctype and comments before <svg> go, as do the namespace
// declarations (HTML parsing gives inline SVG its namespace), and every id is
// prefixed with `id_prefix` along with the references to it ("#id",
// "url(#id)"), so that the figures' ids cannot collide. Throws whittle::Error
// naming `origin` when the text has no <svg> element or contains a script or
// a reference to an external resource.
std::string svg_for_inlining(std::string_view svg, std::string_view id_prefix, std::string_view origin);

}  // namespace whittle::report
