#include "cli/options.h"

namespace whittle::cli {

void add_from_option(CLI::App& command, std::string& from, const std::string& description) {
  command.add_option("--from", from, description)->required();
}

void add_out_option(CLI::App& command, std::string& out, const std::string& description) {
  command.add_option("--out", out, description)->required();
}

}  // namespace whittle::cli
