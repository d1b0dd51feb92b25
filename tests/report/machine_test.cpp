#include "report/machine.h"

#include <gtest/gtest.h>

namespace whittle::report {
namespace {

TEST(Machine, ParsesCpuModelMemoryAndOsFromTheirFiles) {
  const char* cpuinfo =
      "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel\t\t: 85\nmodel name\t: Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz\n"
      "processor\t: 1\nmodel name\t: Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz\n";
  EXPECT_EQ(parse_cpu_model(cpuinfo), "Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz");
  EXPECT_EQ(parse_cpu_model("processor : 0\nmodel : 85\n"), "unknown");

  EXPECT_EQ(parse_memory_bytes("MemTotal:       24684092 kB\nMemFree:  1 kB\n"), 24684092LL * 1024);
  EXPECT_EQ(parse_memory_bytes("MemFree:  1 kB\n"), 0);

  EXPECT_EQ(parse_os_name("NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"),
            "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(parse_os_name("PRETTY_NAME=Alpine\n"), "Alpine");
  EXPECT_EQ(parse_os_name(""), "unknown");
}

TEST(Machine, DescribesThisMachine) {
  MachineDescription machine = describe_machine();
  EXPECT_GT(machine.logical_cores, 0);
  EXPECT_GT(machine.threads, 0);
  EXPECT_FALSE(machine.cpu_model.empty());
  EXPECT_FALSE(machine.os.empty());
  EXPECT_GT(machine.memory_bytes, 0);
  EXPECT_TRUE(machine.kernel.starts_with("Linux ")) << machine.kernel;
  EXPECT_EQ(machine.libtorch_version.find('.') != std::string::npos, true) << machine.libtorch_version;
  EXPECT_EQ(to_json(machine).at("libtorch"), machine.libtorch_version);
  EXPECT_NE(summary(machine).find("LibTorch " + machine.libtorch_version), std::string::npos);
}

}  // namespace
}  // namespace whittle::report
