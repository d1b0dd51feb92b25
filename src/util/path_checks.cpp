#include "util/path_checks.h"

#include <system_error>

#include "util/error.h"

namespace whittle {
namespace fs = std::filesystem;
namespace {

std::string kind_of(fs::file_status status) {
  switch (status.type()) {
    case fs::file_type::not_found: return "missing";
    case fs::file_type::regular: return "a file";
    case fs::file_type::directory: return "a folder";
    case fs::file_type::fifo: return "a FIFO";
    case fs::file_type::socket: return "a socket";
    case fs::file_type::block: return "a block device";
    case fs::file_type::character: return "a character device";
    default: return "not a file or folder";
  }
}

void require_kind(const fs::path& path, const std::string& what, fs::file_type wanted, const std::string& wanted_kind) {
  std::error_code error;
  fs::file_status status = fs::status(path, error);
  if (status.type() == wanted) return;
  if (status.type() == fs::file_type::not_found) throw Error(what + " " + path.string() + " does not exist");
  if (error) throw Error("cannot inspect " + what + " " + path.string() + ": " + error.message());
  throw Error(what + " " + path.string() + " is " + kind_of(status) + ", not " + wanted_kind);
}

}  // namespace

std::string describe_path_kind(const fs::path& path) {
  std::error_code error;
  return kind_of(fs::status(path, error));
}

void require_regular_file(const fs::path& path, const std::string& what) {
  require_kind(path, what, fs::file_type::regular, "a file");
}

void require_directory(const fs::path& path, const std::string& what) {
  require_kind(path, what, fs::file_type::directory, "a folder");
}

}  // namespace whittle
