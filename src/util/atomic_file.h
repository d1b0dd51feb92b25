#pragma once
#include <filesystem>
#include <functional>
#include <string_view>

namespace whittle {

// Writes a file so that readers see either the old content or the complete new
// one: the data goes to a temporary file in the same directory, is flushed to
// disk and then renamed over the target.
void write_file_atomically(const std::filesystem::path& path, std::string_view content);

// Builds a directory under a temporary name (the callback fills it), then
// swaps it into place, so that a killed process never leaves half a checkpoint.
void write_directory_atomically(const std::filesystem::path& path,
                                const std::function<void(const std::filesystem::path&)>& fill);

std::string read_file(const std::filesystem::path& path);

}  // namespace whittle
