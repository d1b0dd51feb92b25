#include "cli/temporary_watch.h"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <climits>
#include <stdexcept>

#include "util/temporaries.h"

namespace whittle::cli_testing {
namespace fs = std::filesystem;

namespace {

constexpr uint32_t kFolderEvents = IN_CREATE | IN_MOVED_TO | IN_ONLYDIR;

bool is_temporary_name(const fs::path& path) {
  return parse_temporary_name(path.filename().string()).has_value();
}

}  // namespace

const char* to_string(WriteKind kind) {
  switch (kind) {
    case WriteKind::result: return "result write";
    case WriteKind::checkpoint: return "checkpoint write";
    case WriteKind::other: return "output write";
  }
  return "write";
}

std::optional<CreatedTemporary> as_temporary(const fs::path& path, bool is_folder) {
  std::optional<TemporaryName> name = parse_temporary_name(path.filename().string());
  if (!name) return std::nullopt;
  CreatedTemporary created{path, name->owner.pid, WriteKind::other};
  if (is_folder || is_temporary_name(path.parent_path())) {
    created.kind = WriteKind::checkpoint;
  } else if (name->target == "results.json" || name->target == "stages.json") {
    created.kind = WriteKind::result;
  }
  return created;
}

std::vector<fs::path> temporaries_under(const fs::path& root, long writer_pid) {
  std::vector<fs::path> found;
  std::error_code error;
  for (fs::recursive_directory_iterator it(root, error), end; !error && it != end; it.increment(error)) {
    std::optional<TemporaryName> name = parse_temporary_name(it->path().filename().string());
    if (!name) continue;
    if (writer_pid == 0 || name->owner.pid == writer_pid) found.push_back(it->path());
    it.disable_recursion_pending();  // what a temporary folder holds is part of it
  }
  return found;
}

TemporaryWatch::TemporaryWatch(const fs::path& root, Callback on_created) : on_created_(std::move(on_created)) {
  inotify_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (inotify_ < 0 || ::pipe(wake_) != 0) throw std::runtime_error("cannot start inotify");
  watch_tree(root);
  thread_ = std::thread([this] { run(); });
}

TemporaryWatch::~TemporaryWatch() {
  const char stop = 's';
  (void)::write(wake_[1], &stop, 1);
  thread_.join();
  ::close(inotify_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void TemporaryWatch::watch_tree(const fs::path& dir) {
  const int watch = ::inotify_add_watch(inotify_, dir.c_str(), kFolderEvents);
  if (watch < 0) return;  // gone already
  folders_[watch] = dir;
  std::error_code error;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    std::error_code kind_error;
    if (it->is_directory(kind_error) && !it->is_symlink(kind_error)) watch_tree(it->path());
  }
}

void TemporaryWatch::handle(int watch, const std::string& name, bool is_folder) {
  auto folder = folders_.find(watch);
  if (folder == folders_.end()) return;
  const fs::path path = folder->second / name;
  if (std::optional<CreatedTemporary> created = as_temporary(path, is_folder)) on_created_(*created);
  if (is_folder) watch_tree(path);
}

void TemporaryWatch::run() {
  alignas(struct inotify_event) char buffer[64 * (sizeof(struct inotify_event) + NAME_MAX + 1)];
  pollfd sources[2] = {{inotify_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
  while (true) {
    if (::poll(sources, 2, -1) < 0) continue;
    if (sources[1].revents != 0) return;
    const ssize_t length = ::read(inotify_, buffer, sizeof buffer);
    for (ssize_t offset = 0; offset < length;) {
      const auto* event = reinterpret_cast<const struct inotify_event*>(buffer + offset);
      offset += static_cast<ssize_t>(sizeof(struct inotify_event) + event->len);
      if (event->mask & IN_IGNORED) {
        folders_.erase(event->wd);
      } else if (event->len > 0 && (event->mask & (IN_CREATE | IN_MOVED_TO))) {
        handle(event->wd, event->name, (event->mask & IN_ISDIR) != 0);
      }
    }
  }
}

}  // namespace whittle::cli_testing
