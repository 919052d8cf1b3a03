#include "files/tree_copy.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "files/unique_fd.hpp"

namespace sbx::files {
namespace {

constexpr std::size_t k_copy_buffer_bytes = 1 << 20;

// Ownership is kept only where we have the privilege to set it.
void best_effort(int) {}

int list_names(const std::string& dir, std::vector<std::string>& names) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return errno;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  ::closedir(d);
  return 0;
}

int copy_bytes(int in, int out) {
  // copy_file_range first (in-kernel, reflinks where supported); plain
  // read/write where the kernel refuses it between these filesystems.
  for (;;) {
    ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, k_copy_buffer_bytes, 0);
    if (n == 0) return 0;
    if (n > 0) continue;
    if (errno == EINTR) continue;
    if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) return errno;
    break;
  }
  std::vector<char> buf(k_copy_buffer_bytes);
  for (;;) {
    ssize_t n = ::read(in, buf.data(), buf.size());
    if (n == 0) return 0;
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(out, buf.data() + off, static_cast<std::size_t>(n - off));
      if (w < 0) {
        if (errno == EINTR) continue;
        return errno;
      }
      off += w;
    }
  }
}

int copy_file(const std::string& src, const std::string& dst, const struct stat& st) {
  unique_fd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) return errno;
  unique_fd out(::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!out) return errno;
  if (int err = copy_bytes(in.get(), out.get())) return err;
  best_effort(::fchown(out.get(), st.st_uid, st.st_gid));
  if (::fchmod(out.get(), st.st_mode & 07777) != 0) return errno;
  return out.close_checked();
}

void copy_times(const std::string& dst, const struct stat& st) {
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  ::utimensat(AT_FDCWD, dst.c_str(), times, AT_SYMLINK_NOFOLLOW);
}

}  // namespace

int copy_tree(const std::string& src, const std::string& dst) {
  struct stat st;
  if (::lstat(src.c_str(), &st) != 0) return errno;
  if (S_ISREG(st.st_mode)) {
    if (int err = copy_file(src, dst, st)) return err;
  } else if (S_ISLNK(st.st_mode)) {
    std::string target(static_cast<std::size_t>(st.st_size) + 1, '\0');
    ssize_t n = ::readlink(src.c_str(), target.data(), target.size());
    if (n < 0) return errno;
    target.resize(static_cast<std::size_t>(n));
    if (::symlink(target.c_str(), dst.c_str()) != 0) return errno;
    best_effort(::lchown(dst.c_str(), st.st_uid, st.st_gid));
  } else if (S_ISDIR(st.st_mode)) {
    // Owner-only while filling, the real mode once complete.
    if (::mkdir(dst.c_str(), 0700) != 0) return errno;
    std::vector<std::string> names;
    if (int err = list_names(src, names)) return err;
    for (const auto& n : names)
      if (int err = copy_tree(src + "/" + n, dst + "/" + n)) return err;
    best_effort(::chown(dst.c_str(), st.st_uid, st.st_gid));
    if (::chmod(dst.c_str(), st.st_mode & 07777) != 0) return errno;
  } else {
    if (::mknod(dst.c_str(), st.st_mode, st.st_rdev) != 0) return errno;
    best_effort(::chown(dst.c_str(), st.st_uid, st.st_gid));
  }
  copy_times(dst, st);
  return 0;
}

int remove_tree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return errno == ENOENT ? 0 : errno;
  if (!S_ISDIR(st.st_mode)) return ::unlink(path.c_str()) == 0 ? 0 : errno;
  std::vector<std::string> names;
  if (int err = list_names(path, names)) return err;
  for (const auto& n : names)
    if (int err = remove_tree(path + "/" + n)) return err;
  return ::rmdir(path.c_str()) == 0 ? 0 : errno;
}

}  // namespace sbx::files
