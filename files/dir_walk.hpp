#pragma once
// Directory enumeration for list-files (API.md §7.8): the entries below a
// directory, pre-order, never following symlinks.
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sbx::files {

struct file_entry {
  std::string name;
  std::string absolute_path;
  std::string relative_path;
  std::string type;  // file | directory | symlink | other
  std::uint64_t size = 0;
  std::string modified_at;  // local time, GNU find's %TY-%Tm-%TdT%TH:%TM:%TS
  mode_t mode = 0;
};

struct walk_options {
  bool recursive = false;
  bool include_hidden = false;
};

// Lists the entries below `dir` (which must be an openable directory);
// absolute paths are `base` + "/" + relative path. Hidden names (leading
// '.') below `dir` are skipped unless asked for; `dir` itself may be
// hidden. Subdirectories that cannot be opened are listed but not entered.
// Returns 0 or the errno of opening `dir`.
int walk_directory(const std::string& dir, const std::string& base, const walk_options& opts,
                   std::vector<file_entry>& out);

// "2025-11-26T02:00:50.7667815930": seconds with 10 fractional digits, as
// GNU find prints %TS, in local time without a zone.
std::string find_time(const struct timespec& t);

// "rwxr-xr-x" from the permission bits.
std::string mode_string(mode_t mode);

}  // namespace sbx::files
