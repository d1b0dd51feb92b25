#include "util/atomic_file.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <typeinfo>

#include "util/error.h"
#include "util/path_checks.h"
#include "util/temporaries.h"

namespace whittle {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& what, const fs::path& path, int error_number) {
  throw Error(what + " " + path.string() + ": " + std::strerror(error_number));
}

fs::path parent_of(const fs::path& path) { return path.has_parent_path() ? path.parent_path() : fs::path("."); }

void create_folder(const fs::path& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) throw Error("cannot create the folder " + dir.string() + ": " + error.message());
}

// Writes all of `content`, retrying short writes; errno is set on failure.
bool write_all(int descriptor, std::string_view content) {
  while (!content.empty()) {
    const ssize_t written = ::write(descriptor, content.data(), content.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    content.remove_prefix(static_cast<std::size_t>(written));
  }
  return true;
}

// Folders are synced on a best-effort basis: some file systems refuse it.
void sync_folder(const fs::path& dir) {
  const int descriptor = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (descriptor < 0) return;
  ::fsync(descriptor);
  ::close(descriptor);
}

// Writes `content` into the new file `temporary`; on failure removes it and
// throws an error that names `target`.
void write_temporary(const fs::path& temporary, const fs::path& target, std::string_view content) {
  const int descriptor = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (descriptor < 0) fail("cannot write", target, errno);
  const bool written = write_all(descriptor, content) && ::fsync(descriptor) == 0;
  const int write_error = errno;
  const bool closed = ::close(descriptor) == 0;
  const int close_error = errno;
  if (!written || !closed) {
    ::unlink(temporary.c_str());
    fail("cannot write", target, written ? close_error : write_error);
  }
}

// Replaces the text of `staging` by `target` in an error from filling a
// folder, so that the message names the folder the user asked for.
std::string naming_target(std::string message, const fs::path& staging, const fs::path& target) {
  const std::string from = staging.string(), to = target.string();
  for (std::size_t at = message.find(from); at != std::string::npos; at = message.find(from, at + to.size())) {
    message.replace(at, from.size(), to);
  }
  return message;
}

void fill_staging(const fs::path& staging, const fs::path& target,
                  const std::function<void(const fs::path&)>& fill) {
  std::error_code ignored;
  try {
    fill(staging);
    for (const auto& entry : fs::directory_iterator(staging)) {
      if (entry.is_regular_file()) sync_file(entry.path());
    }
  } catch (const std::exception& error) {
    fs::remove_all(staging, ignored);
    // Other kinds (a time limit) pass unchanged, as do messages that do not
    // name the temporary folder.
    const bool rewordable = dynamic_cast<const fs::filesystem_error*>(&error) != nullptr ||
                            typeid(error) == typeid(Error);
    std::string message = naming_target(error.what(), staging, target);
    if (!rewordable || message == error.what()) throw;
    throw Error(message);
  } catch (...) {
    fs::remove_all(staging, ignored);
    throw;
  }
}

// Puts the complete folder `staging` in the place of the existing `target`.
// Swapping the two names in one step leaves no moment without a `target`;
// where the file system cannot swap, the old folder is moved aside first,
// and a writer killed between the two renames leaves it to be moved back
// (util/temporaries.h).
void replace_folder(const fs::path& staging, const fs::path& target) {
  std::error_code ignored;
  if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) == 0) {
    fs::remove_all(staging, ignored);  // now the old folder
    return;
  }
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) {
    const int error = errno;
    fs::remove_all(staging, ignored);
    fail("cannot replace", target, error);
  }
  const fs::path aside = moved_aside_path_for(target);
  if (::rename(target.c_str(), aside.c_str()) != 0) {
    const int error = errno;
    fs::remove_all(staging, ignored);
    fail("cannot replace", target, error);
  }
  if (::rename(staging.c_str(), target.c_str()) != 0) {
    const int error = errno;
    ::rename(aside.c_str(), target.c_str());
    fs::remove_all(staging, ignored);
    fail("cannot replace", target, error);
  }
  fs::remove_all(aside, ignored);
}

}  // namespace

void write_file_atomically(const fs::path& path, std::string_view content) {
  const fs::path parent = parent_of(path);
  create_folder(parent);
  remove_stale_temporaries_of(path);
  const fs::path temporary = temporary_path_for(path);
  write_temporary(temporary, path, content);
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    fail("cannot write", path, error);
  }
  sync_folder(parent);
}

void write_directory_atomically(const fs::path& path, const std::function<void(const fs::path&)>& fill) {
  const fs::path target = fs::absolute(path);
  create_folder(target.parent_path());
  remove_stale_temporaries_of(target);
  const fs::path staging = temporary_path_for(target);
  std::error_code error;
  fs::create_directory(staging, error);
  if (error) throw Error("cannot write " + target.string() + ": " + error.message());
  fill_staging(staging, target, fill);
  if (fs::exists(fs::symlink_status(target, error))) {
    replace_folder(staging, target);
  } else if (::rename(staging.c_str(), target.c_str()) != 0) {
    const int rename_error = errno;
    fs::remove_all(staging, error);
    fail("cannot write", target, rename_error);
  }
  sync_folder(target.parent_path());
}

void remove_directory_atomically(const fs::path& path) {
  std::error_code error;
  if (!fs::exists(fs::symlink_status(path, error))) return;
  const fs::path doomed = temporary_path_for(path);
  if (::rename(path.c_str(), doomed.c_str()) != 0) fail("cannot remove", path, errno);
  fs::remove_all(doomed, error);  // whatever is left is another run's to clean
  sync_folder(parent_of(path));
}

void sync_file(const fs::path& path) {
  const int descriptor = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (descriptor < 0) fail("cannot write", path, errno);
  const bool synced = ::fsync(descriptor) == 0;
  const int sync_error = errno;
  ::close(descriptor);
  if (!synced) fail("cannot write", path, sync_error);
}

std::string read_file(const fs::path& path) {
  // A FIFO without a writer would block here for ever, a device read without end.
  if (fs::exists(path) && !fs::is_regular_file(path)) {
    throw Error("cannot read " + path.string() + ": it is " + describe_path_kind(path) + ", not a file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read " + path.string() + ": " + std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace whittle
