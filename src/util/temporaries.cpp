#include "util/temporaries.h"

#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <random>
#include <string_view>
#include <utility>
#include <vector>

namespace whittle {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kMarker = ".tmp-";
constexpr std::string_view kAsideMark = ".old";

// This machine's name as it appears in temporary names: letters, digits,
// dots and underscores only, so that the name parses back unambiguously.
std::string this_host() {
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "unknown";
  std::string host;
  for (const char* c = name; *c != '\0'; ++c) {
    const auto byte = static_cast<unsigned char>(*c);
    host += std::isalnum(byte) || *c == '.' ? *c : '_';
  }
  return host.empty() ? "unknown" : host;
}

std::optional<long> whole_number(std::string_view text) {
  long value = 0;
  if (text.empty()) return std::nullopt;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

// Splits "<rest>-<number>" at its last dash.
std::optional<std::pair<std::string_view, long>> split_last_number(std::string_view text) {
  const std::size_t dash = text.rfind('-');
  if (dash == std::string_view::npos) return std::nullopt;
  std::optional<long> number = whole_number(text.substr(dash + 1));
  if (!number) return std::nullopt;
  return std::pair{text.substr(0, dash), *number};
}

bool process_exists(long pid) { return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM; }

void remove_quietly(const fs::path& path) {
  std::error_code ignored;
  fs::remove_all(path, ignored);
}

void settle(const fs::path& temporary, const TemporaryName& name) {
  std::error_code error;
  const fs::path target = temporary.parent_path() / name.target;
  if (name.moved_aside && !fs::exists(fs::symlink_status(target, error))) {
    fs::rename(temporary, target, error);
    if (!error) return;
  }
  remove_quietly(temporary);
}

bool is_removable(const TemporaryOwner& owner, TemporaryOwners owners) {
  if (owners == TemporaryOwners::all_but_this_one) {
    return !(owner.host == this_host() && owner.pid == static_cast<long>(::getpid()));
  }
  return owner_is_gone(owner);
}

// The temporaries directly in `dir`, listed before any is touched.
std::vector<std::pair<fs::path, TemporaryName>> temporaries_in(const fs::path& dir) {
  std::vector<std::pair<fs::path, TemporaryName>> found;
  std::error_code error;
  for (fs::directory_iterator entry(dir, error), end; !error && entry != end; entry.increment(error)) {
    if (auto name = parse_temporary_name(entry->path().filename().string())) found.emplace_back(entry->path(), *name);
  }
  return found;
}

}  // namespace

fs::path temporary_path_for(const fs::path& target) {
  std::random_device device;
  fs::path temporary = target;
  temporary += std::string(kMarker) + this_host() + "-" + std::to_string(::getpid()) + "-" + std::to_string(device());
  return temporary;
}

fs::path moved_aside_path_for(const fs::path& target) {
  fs::path aside = temporary_path_for(target);
  aside += kAsideMark;
  return aside;
}

std::optional<TemporaryName> parse_temporary_name(const std::string& file_name) {
  const std::size_t marker = file_name.rfind(kMarker);
  if (marker == std::string::npos || marker == 0) return std::nullopt;
  TemporaryName name;
  name.target = file_name.substr(0, marker);
  std::string_view rest = std::string_view(file_name).substr(marker + kMarker.size());
  if (rest.ends_with(kAsideMark)) {
    name.moved_aside = true;
    rest.remove_suffix(kAsideMark.size());
  }
  auto counter = split_last_number(rest);
  if (!counter) return std::nullopt;
  if (auto pid = split_last_number(counter->first)) {
    name.owner = {std::string(pid->first), pid->second};
  } else if (std::optional<long> bare_pid = whole_number(counter->first)) {
    // Written before temporary names carried the host: "<target>.tmp-<pid>-<n>",
    // with a folder moved aside as "<target>.old.tmp-<pid>-<n>".
    name.owner = {this_host(), *bare_pid};
    if (name.target.ends_with(kAsideMark) && name.target.size() > kAsideMark.size()) {
      name.moved_aside = true;
      name.target.resize(name.target.size() - kAsideMark.size());
    }
  } else {
    return std::nullopt;
  }
  if (name.owner.host.empty() || name.owner.pid <= 0) return std::nullopt;
  return name;
}

bool owner_is_gone(const TemporaryOwner& owner) {
  if (owner.host != this_host()) return false;
  if (owner.pid == static_cast<long>(::getpid())) return false;
  return !process_exists(owner.pid);
}

void remove_stale_temporaries_of(const fs::path& target, TemporaryOwners owners) {
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const std::string target_name = target.filename().string();
  for (const auto& [path, name] : temporaries_in(dir)) {
    if (name.target == target_name && is_removable(name.owner, owners)) settle(path, name);
  }
}

void remove_stale_temporaries(const fs::path& dir, int depth) {
  for (const auto& [path, name] : temporaries_in(dir)) {
    if (is_removable(name.owner, TemporaryOwners::gone)) settle(path, name);
  }
  if (depth <= 0) return;
  std::error_code error;
  for (fs::directory_iterator entry(dir, error), end; !error && entry != end; entry.increment(error)) {
    std::error_code kind_error;
    // A live writer's temporary folder is its own business.
    if (parse_temporary_name(entry->path().filename().string())) continue;
    if (entry->is_directory(kind_error) && !entry->is_symlink(kind_error)) {
      remove_stale_temporaries(entry->path(), depth - 1);
    }
  }
}

}  // namespace whittle
