#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace whittle::report {

// What a measurement ran on, for reports: timings mean little without it.
struct MachineDescription {
  std::string cpu_model;         // /proc/cpuinfo "model name"; "unknown" when absent
  int64_t logical_cores = 0;     // std::thread::hardware_concurrency
  int64_t memory_bytes = 0;      // /proc/meminfo MemTotal; 0 when unknown
  std::string os;                // /etc/os-release PRETTY_NAME
  std::string kernel;            // uname: "Linux 6.1.0-18-amd64"
  std::string libtorch_version;  // from LibTorch's headers, "1.13.0"
  int64_t threads = 0;           // LibTorch intra-op threads when described
  std::string compiler;          // "GCC 12.2.0"
};

// Describes this machine and process now (call after configure_runtime, so
// that the thread count is the one the run uses).
MachineDescription describe_machine();

// The parsers describe_machine uses, on the files' text.
std::string parse_cpu_model(std::string_view cpuinfo);         // "unknown" when no "model name" line
int64_t parse_memory_bytes(std::string_view meminfo);          // MemTotal in bytes, 0 when absent
std::string parse_os_name(std::string_view os_release);        // PRETTY_NAME unquoted, "unknown" when absent

// {"cpu_model", "logical_cores", "memory_bytes", "os", "kernel", "libtorch", "threads", "compiler"}
nlohmann::json to_json(const MachineDescription& machine);
// One line: "AMD EPYC, 2 logical cores, 23.5 GiB, Debian GNU/Linux 12 (bookworm), LibTorch 1.13.0, 2 threads".
std::string summary(const MachineDescription& machine);

}  // namespace whittle::report
