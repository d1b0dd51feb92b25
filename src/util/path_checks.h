#pragma once
#include <filesystem>
#include <string>

namespace whittle {

// What a path is, in words for an error message: "a folder", "a FIFO", ...
// or "missing". Follows symlinks, as opening the path would.
std::string describe_path_kind(const std::filesystem::path& path);

// Throws whittle::Error "<what> <path> does not exist" or "<what> <path> is
// a folder, not a file" (and so on) unless `path` is a regular file, so that
// a FIFO or device is refused before anything blocks reading it.
void require_regular_file(const std::filesystem::path& path, const std::string& what);

// The same for a folder: "<what> <path> is a file, not a folder".
void require_directory(const std::filesystem::path& path, const std::string& what);

}  // namespace whittle
