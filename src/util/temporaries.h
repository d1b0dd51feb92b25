#pragma once
#include <filesystem>
#include <optional>
#include <string>

namespace whittle {

// Atomic writes (util/atomic_file.h) build a file or folder under a
// temporary name beside its target, "<target>.tmp-<host>-<pid>-<n>", and
// move a replaced folder aside as "<target>.tmp-<host>-<pid>-<n>.old". A
// process killed mid-write leaves these behind; the functions below remove
// them once their writer is known to be gone.

// Who wrote a temporary, read back from its name.
struct TemporaryOwner {
  std::string host;
  long pid = 0;
};

// What a temporary's name says: the file or folder it stands for, its
// writer, and whether it holds a replaced folder moved aside.
struct TemporaryName {
  std::string target;  // the target's file name, without its folder
  TemporaryOwner owner;
  bool moved_aside = false;
};

// A fresh temporary name for `target` (in the same folder), owned by this process.
std::filesystem::path temporary_path_for(const std::filesystem::path& target);
// The same name with the mark of a replaced folder moved aside.
std::filesystem::path moved_aside_path_for(const std::filesystem::path& target);
// What `file_name` says, if it is a temporary's name.
std::optional<TemporaryName> parse_temporary_name(const std::string& file_name);

// Whether the writer has ended: it ran on this host and no process has its
// pid any more. A writer on another host (several machines may share a
// folder) cannot be checked, so it is never taken for gone.
bool owner_is_gone(const TemporaryOwner& owner);

// Whose temporaries a cleanup removes.
enum class TemporaryOwners {
  gone,              // only those whose writer has ended (see owner_is_gone)
  all_but_this_one,  // any but this process's: the caller holds the only right to
                     // write the target (a claim), so any other writer has ended
};

// Removes the temporaries of `target` left by writers that ended: a folder
// moved aside is moved back when `target` is missing (its writer died
// between the two renames of a replacement), everything else is deleted.
// Never throws: a temporary that cannot be removed is left for the next run.
void remove_stale_temporaries_of(const std::filesystem::path& target,
                                 TemporaryOwners owners = TemporaryOwners::gone);

// The same for every target in `dir` and its subfolders down to `depth`
// levels (0: `dir` alone). Symbolic links are not followed.
void remove_stale_temporaries(const std::filesystem::path& dir, int depth = 4);

}  // namespace whittle
