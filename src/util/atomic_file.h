#pragma once
#include <filesystem>
#include <functional>
#include <string_view>

namespace whittle {

// Writes a file so that readers see either the old content or the complete new
// one: the data goes to a temporary file in the same directory, is flushed to
// disk and then renamed over the target. Every write, flush and close is
// checked: on failure (a full disk: "No space left on device"; a file size
// limit: "File too large") the temporary file is removed, the target is left
// as it was, and whittle::Error names the target and the cause. Temporaries
// of the target left by killed writers are removed first (util/temporaries.h).
void write_file_atomically(const std::filesystem::path& path, std::string_view content);

// Builds a directory under a temporary name (the callback fills it), then
// swaps it into place, so that a killed process never leaves half a checkpoint:
// the target holds the old directory or the complete new one. Errors from the
// callback name the target, not the temporary folder.
void write_directory_atomically(const std::filesystem::path& path,
                                const std::function<void(const std::filesystem::path&)>& fill);

// Removes a directory so that a killed process never leaves part of it under
// its name: it is renamed to a temporary name first (which the next run's
// cleanup removes if this one is killed).
void remove_directory_atomically(const std::filesystem::path& path);

// Flushes the data of an existing file to disk; whittle::Error names it and
// the cause on failure.
void sync_file(const std::filesystem::path& path);

std::string read_file(const std::filesystem::path& path);

}  // namespace whittle
