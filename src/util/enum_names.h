#pragma once
// The names enumerators go by in files, reports and messages. One table per
// enum serves both directions, so a name cannot be written one way and read
// another.
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "util/error.h"

namespace whittle {

template <typename Enum>
using EnumName = std::pair<Enum, std::string_view>;

// The name `names` gives `value`, or `unknown` for a value it does not list.
template <typename Enum, std::size_t N>
std::string name_of(const EnumName<Enum> (&names)[N], Enum value, std::string_view unknown) {
  for (const auto& [enumerator, name] : names) {
    if (enumerator == value) return std::string(name);
  }
  return std::string(unknown);
}

// The enumerator called `name`. Throws whittle::Error "<origin>: unknown
// <what> '<name>'" for a name `names` does not list.
template <typename Enum, std::size_t N>
Enum parse_name(const EnumName<Enum> (&names)[N], const std::string& name, const std::string& origin,
                const std::string& what) {
  for (const auto& [enumerator, known] : names) {
    if (known == name) return enumerator;
  }
  throw Error(origin + ": unknown " + what + " '" + name + "'");
}

}  // namespace whittle
