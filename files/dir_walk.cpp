#include "files/dir_walk.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <ctime>

#include "files/unique_fd.hpp"

namespace sbx::files {
namespace {

struct child {
  std::string name;
  struct stat st;
};

// Names and lstat data of one directory's entries, in enumeration order.
// The directory is closed before the caller descends, so deep trees do not
// hold one descriptor per level.
int read_children(const std::string& dir, std::vector<child>& out) {
  unique_fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return errno;
  int dfd = fd.get();
  DIR* d = ::fdopendir(dfd);
  if (!d) return errno;  // fd still owned: closed on return
  fd.release();
  while (dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    child c{std::string(name), {}};
    // Entries can vanish between readdir and stat: skip them.
    if (::fstatat(dfd, e->d_name, &c.st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    out.push_back(std::move(c));
  }
  ::closedir(d);
  return 0;
}

std::string type_of(mode_t m) {
  if (S_ISREG(m)) return "file";
  if (S_ISDIR(m)) return "directory";
  if (S_ISLNK(m)) return "symlink";
  return "other";
}

void walk(const std::string& dir, const std::string& base, const std::string& rel_prefix,
          const walk_options& opts, std::vector<file_entry>& out) {
  std::vector<child> children;
  if (read_children(dir, children) != 0) return;
  for (auto& c : children) {
    if (!opts.include_hidden && c.name.front() == '.') continue;
    std::string rel = rel_prefix.empty() ? c.name : rel_prefix + "/" + c.name;
    file_entry e;
    e.absolute_path = base + "/" + rel;
    e.relative_path = rel;
    e.type = type_of(c.st.st_mode);
    e.size = static_cast<std::uint64_t>(c.st.st_size);
    e.modified_at = find_time(c.st.st_mtim);
    e.mode = c.st.st_mode;
    e.name = std::move(c.name);
    bool descend = opts.recursive && S_ISDIR(e.mode);
    out.push_back(std::move(e));
    if (descend) walk(dir + "/" + out.back().name, base, rel, opts, out);
  }
}

}  // namespace

int walk_directory(const std::string& dir, const std::string& base, const walk_options& opts,
                   std::vector<file_entry>& out) {
  unique_fd probe(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!probe) return errno;
  probe.reset();
  walk(dir, base, "", opts, out);
  return 0;
}

std::string find_time(const struct timespec& t) {
  struct tm tm {};
  ::localtime_r(&t.tv_sec, &tm);
  char buf[128];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09ld0", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, t.tv_nsec);
  return buf;
}

std::string mode_string(mode_t mode) {
  std::string s(9, '-');
  static constexpr char letters[] = "rwx";
  for (int i = 0; i < 9; ++i)
    if (mode & (1u << (8 - i))) s[static_cast<std::size_t>(i)] = letters[i % 3];
  return s;
}

}  // namespace sbx::files
