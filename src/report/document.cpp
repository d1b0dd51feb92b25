#include "report/document.h"

#include <algorithm>
#include <functional>
#include <regex>
#include <set>
#include <sstream>

#include "util/error.h"

namespace whittle::report {
namespace {

template <typename... Handlers>
struct Overloaded : Handlers... {
  using Handlers::operator()...;
};
// clang before 17 (the fuzz build's clang 14) deduces no aggregate template arguments by itself.
template <typename... Handlers>
Overloaded(Handlers...) -> Overloaded<Handlers...>;

// A fence longer than any run of backticks in the text, so that the text
// cannot close it.
std::string fence_for(const std::string& text) {
  std::size_t longest = 0, run = 0;
  for (char c : text) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return std::string(std::max<std::size_t>(3, longest + 1), '`');
}

// Markdown link targets with spaces or parentheses need the <...> form.
std::string link_target(const std::string& target) {
  bool plain = target.find_first_of(" ()<>") == std::string::npos;
  return plain ? target : "<" + target + ">";
}

std::string markdown_alt_text(const std::string& text) {
  std::string alt;
  for (char c : text) {
    if (c == '[' || c == ']' || c == '\\') alt += '\\';
    alt += c == '\n' ? ' ' : c;
  }
  return alt;
}

void table_markdown(std::ostringstream& out, const Table& table) {
  auto row = [&](const std::vector<std::string>& cells) {
    out << "|";
    for (const auto& cell : cells) out << " " << escape_markdown_cell(cell) << " |";
    out << "\n";
  };
  row(table.header);
  out << "|";
  for (std::size_t i = 0; i < table.header.size(); ++i) out << " --- |";
  out << "\n";
  for (const auto& cells : table.rows) row(cells);
}

void table_html(std::ostringstream& out, const Table& table) {
  out << "<table>\n<thead><tr>";
  for (const auto& cell : table.header) out << "<th>" << escape_html(cell) << "</th>";
  out << "</tr></thead>\n<tbody>\n";
  for (const auto& cells : table.rows) {
    out << "<tr>";
    for (const auto& cell : cells) out << "<td>" << escape_html(cell) << "</td>";
    out << "</tr>\n";
  }
  out << "</tbody>\n</table>\n";
}

// Applies `rewrite` to every tag ("<...>") of `markup`, leaving text
// content alone.
void for_each_tag(std::string& markup, const std::function<void(std::string&)>& rewrite) {
  std::string result;
  std::size_t position = 0;
  while (position < markup.size()) {
    std::size_t open = markup.find('<', position);
    if (open == std::string::npos) break;
    std::size_t close = markup.find('>', open);
    if (close == std::string::npos) break;
    result.append(markup, position, open - position);
    std::string tag = markup.substr(open, close + 1 - open);
    rewrite(tag);
    result += tag;
    position = close + 1;
  }
  result.append(markup, position, std::string::npos);
  markup = std::move(result);
}

constexpr const char* kStyle = R"(body { font-family: system-ui, sans-serif; line-height: 1.45; color: #1d1d1f; margin: 0; }
main { max-width: 1000px; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.7rem; } h2 { font-size: 1.3rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.8rem 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left; }
th { background: #f3f3f3; } tbody tr:nth-child(even) { background: #fafafa; }
pre { background: #f6f6f6; padding: 0.8rem; overflow-x: auto; border: 1px solid #e3e3e3; }
figure { margin: 1rem 0; } figure svg { max-width: 100%; height: auto; }
figcaption, .caption { color: #555; font-size: 0.95rem; }
)";

}  // namespace

std::string escape_html(std::string_view text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': escaped += "&amp;"; break;
      case '<': escaped += "&lt;"; break;
      case '>': escaped += "&gt;"; break;
      case '"': escaped += "&quot;"; break;
      case '\'': escaped += "&#39;"; break;
      default: escaped += c;
    }
  }
  return escaped;
}

std::string escape_markdown_cell(std::string_view text) {
  std::string escaped;
  for (char c : text) {
    if (c == '|') escaped += "\\|";
    else if (c == '\n' || c == '\r') escaped += ' ';
    else escaped += c;
  }
  return escaped;
}

std::string to_markdown(const Document& document) {
  std::ostringstream out;
  out << "# " << document.title << "\n";
  for (const auto& section : document.sections) {
    out << "\n## " << section.heading << "\n";
    for (const auto& block : section.blocks) {
      out << "\n";
      std::visit(Overloaded{
                     [&](const Paragraph& paragraph) { out << paragraph.text << "\n"; },
                     [&](const Table& table) { table_markdown(out, table); },
                     [&](const CodeBlock& code) {
                       if (!code.caption.empty()) out << "`" << code.caption << "`:\n\n";
                       std::string fence = fence_for(code.text);
                       out << fence << code.language << "\n" << code.text;
                       if (!code.text.empty() && code.text.back() != '\n') out << "\n";
                       out << fence << "\n";
                     },
                     [&](const FigureBlock& figure) {
                       out << "![" << markdown_alt_text(figure.caption) << "](" << link_target(figure.image_link)
                           << ")\n\n*" << figure.caption << "* ([SVG](" << link_target(figure.vector_link) << "))\n";
                     },
                     [&](const BulletList& list) {
                       for (const auto& item : list.items) out << "- " << item << "\n";
                     },
                 },
                 block);
    }
  }
  return out.str();
}

std::string to_html(const Document& document) {
  std::ostringstream out;
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      << "<title>" << escape_html(document.title) << "</title>\n<style>\n" << kStyle << "</style>\n</head>\n"
      << "<body>\n<main>\n<h1>" << escape_html(document.title) << "</h1>\n";
  for (const auto& section : document.sections) {
    out << "<section>\n<h2>" << escape_html(section.heading) << "</h2>\n";
    for (const auto& block : section.blocks) {
      std::visit(Overloaded{
                     [&](const Paragraph& paragraph) { out << "<p>" << escape_html(paragraph.text) << "</p>\n"; },
                     [&](const Table& table) { table_html(out, table); },
                     [&](const CodeBlock& code) {
                       if (!code.caption.empty()) out << "<p class=\"caption\">" << escape_html(code.caption) << "</p>\n";
                       out << "<pre><code>" << escape_html(code.text) << "</code></pre>\n";
                     },
                     [&](const FigureBlock& figure) {
                       out << "<figure>\n" << figure.svg << "\n<figcaption>" << escape_html(figure.caption)
                           << "</figcaption>\n</figure>\n";
                     },
                     [&](const BulletList& list) {
                       out << "<ul>\n";
                       for (const auto& item : list.items) out << "<li>" << escape_html(item) << "</li>\n";
                       out << "</ul>\n";
                     },
                 },
                 block);
    }
    out << "</section>\n";
  }
  out << "</main>\n</body>\n</html>\n";
  return out.str();
}

std::string svg_for_inlining(std::string_view svg, std::string_view id_prefix, std::string_view origin) {
  auto fail = [&](const std::string& problem) { throw Error(std::string(origin) + ": " + problem); };
  std::string text(svg);
  std::size_t start = text.find("<svg");
  if (start == std::string::npos) fail("not an SVG file (no <svg> element)");
  std::size_t end = text.rfind("</svg>");
  if (end == std::string::npos || end < start) fail("SVG file without </svg>: truncated?");
  text = text.substr(start, end + 6 - start);

  static const std::regex script(R"re(<\s*script\b)re", std::regex::icase);
  static const std::regex href(R"re(href\s*=\s*(["'])([^"']*)\1)re");
  static const std::regex css_url(R"re(url\(\s*["']?\s*([^)"'\s]*))re");
  static const std::regex style_import(R"re(@import\b)re", std::regex::icase);
  if (std::regex_search(text, script)) fail("the SVG contains a script");
  if (std::regex_search(text, style_import)) fail("the SVG imports a style sheet");
  for_each_tag(text, [&](std::string& tag) {
    for (auto it = std::sregex_iterator(tag.begin(), tag.end(), href); it != std::sregex_iterator(); ++it) {
      if (!(*it)[2].str().starts_with("#")) fail("the SVG refers to an external resource: " + (*it)[2].str());
    }
  });
  for (auto it = std::sregex_iterator(text.begin(), text.end(), css_url); it != std::sregex_iterator(); ++it) {
    if (!(*it)[1].str().starts_with("#")) fail("the SVG refers to an external resource: url(" + (*it)[1].str() + ")");
  }

  // Namespace declarations, in the opening tag only.
  std::size_t tag_end = text.find('>');
  static const std::regex namespace_declaration(R"re(\s+xmlns(:[A-Za-z_][\w.-]*)?\s*=\s*(["'])[^"']*\2)re");
  text = std::regex_replace(text.substr(0, tag_end), namespace_declaration, "") + text.substr(tag_end);

  static const std::regex id_attribute(R"re((\sid\s*=\s*)(["'])([^"']+)\2)re");
  std::set<std::string> ids;
  for_each_tag(text, [&](std::string& tag) {
    for (auto it = std::sregex_iterator(tag.begin(), tag.end(), id_attribute); it != std::sregex_iterator(); ++it) {
      ids.insert((*it)[3].str());
    }
  });
  const std::string prefix(id_prefix);
  // References in attribute values: "#id" and url(#id).
  static const std::regex reference(R"re((["'(]\s*)#([^"')\s]+))re");
  for_each_tag(text, [&](std::string& tag) {
    tag = std::regex_replace(tag, id_attribute, "$1$2" + prefix + "$3$2");
    std::string rewritten;
    auto last = tag.cbegin();
    for (auto it = std::sregex_iterator(tag.begin(), tag.end(), reference); it != std::sregex_iterator(); ++it) {
      const auto& match = *it;
      rewritten.append(last, match[0].first);
      rewritten += match[1].str() + "#" + (ids.contains(match[2].str()) ? prefix : "") + match[2].str();
      last = match[0].second;
    }
    rewritten.append(last, tag.cend());
    tag = std::move(rewritten);
  });
  return text;
}

}  // namespace whittle::report
