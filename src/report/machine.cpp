#include "report/machine.h"

#include <sys/utsname.h>

#include <ATen/Parallel.h>
#include <torch/version.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

namespace whittle::report {
namespace {

std::string trimmed(std::string_view text) {
  const char* blanks = " \t\r\n";
  auto first = text.find_first_not_of(blanks);
  if (first == std::string_view::npos) return "";
  auto last = text.find_last_not_of(blanks);
  return std::string(text.substr(first, last - first + 1));
}

// The text after `key` + separator on the first line that starts with `key`.
std::string value_of(std::string_view text, std::string_view key, char separator) {
  std::istringstream lines{std::string(text)};
  std::string line;
  while (std::getline(lines, line)) {
    std::string_view view(line);
    if (!view.starts_with(key)) continue;
    std::string_view rest = view.substr(key.size());
    auto position = rest.find_first_not_of(" \t");
    if (position == std::string_view::npos || rest[position] != separator) continue;
    return trimmed(rest.substr(position + 1));
  }
  return "";
}

// Files under /proc report size 0, so they are read to the end, not by size.
std::string file_text(const char* path) {
  std::ifstream in(path);
  if (!in) return "";
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string compiler_name() {
#if defined(__clang__)
  return "Clang " __clang_version__;
#elif defined(__GNUC__)
  return "GCC " __VERSION__;
#else
  return "unknown";
#endif
}

}  // namespace

std::string parse_cpu_model(std::string_view cpuinfo) {
  std::string model = value_of(cpuinfo, "model name", ':');
  return model.empty() ? "unknown" : model;
}

int64_t parse_memory_bytes(std::string_view meminfo) {
  std::string value = value_of(meminfo, "MemTotal", ':');  // "24684092 kB"
  long long kibibytes = 0;
  if (std::sscanf(value.c_str(), "%lld", &kibibytes) != 1) return 0;
  return static_cast<int64_t>(kibibytes) * 1024;
}

std::string parse_os_name(std::string_view os_release) {
  std::string name = value_of(os_release, "PRETTY_NAME", '=');
  if (name.size() >= 2 && (name.front() == '"' || name.front() == '\'') && name.back() == name.front()) {
    name = name.substr(1, name.size() - 2);
  }
  return name.empty() ? "unknown" : name;
}

MachineDescription describe_machine() {
  MachineDescription machine;
  machine.cpu_model = parse_cpu_model(file_text("/proc/cpuinfo"));
  machine.logical_cores = static_cast<int64_t>(std::thread::hardware_concurrency());
  machine.memory_bytes = parse_memory_bytes(file_text("/proc/meminfo"));
  machine.os = parse_os_name(file_text("/etc/os-release"));
  struct utsname names {};
  if (uname(&names) == 0) machine.kernel = std::string(names.sysname) + " " + names.release;
  machine.libtorch_version = TORCH_VERSION;
  machine.threads = at::get_num_threads();
  machine.compiler = compiler_name();
  return machine;
}

nlohmann::json to_json(const MachineDescription& machine) {
  return {{"cpu_model", machine.cpu_model}, {"logical_cores", machine.logical_cores},
          {"memory_bytes", machine.memory_bytes}, {"os", machine.os},
          {"kernel", machine.kernel}, {"libtorch", machine.libtorch_version},
          {"threads", machine.threads}, {"compiler", machine.compiler}};
}

std::string summary(const MachineDescription& machine) {
  char memory[32];
  std::snprintf(memory, sizeof memory, "%.1f GiB", static_cast<double>(machine.memory_bytes) / (1024.0 * 1024 * 1024));
  std::ostringstream line;
  line << machine.cpu_model << ", " << machine.logical_cores << " logical cores, " << memory << ", " << machine.os
       << ", LibTorch " << machine.libtorch_version << ", " << machine.threads << " threads";
  return line.str();
}

}  // namespace whittle::report
