#include "files/file_service.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "core/clock.hpp"
#include "core/large_buffer.hpp"
#include "files/codec.hpp"
#include "files/file_io.hpp"
#include "files/fs_error.hpp"
#include "files/mime.hpp"
#include "files/path_rules.hpp"
#include "files/read_stream.hpp"
#include "files/tree_copy.hpp"

namespace sbx {
namespace {

using files::fs_error;
namespace ops = files::ops;

constexpr int k_max_symlink_hops = 40;
// Replaced files at least this large are freed after the write answers.
constexpr off_t k_deferred_free_bytes = 1024 * 1024;

api_error not_found(std::string_view operation, const std::string& path) {
  return fs_error(ENOENT, operation, path, "File not found: " + path);
}

api_error is_directory(std::string_view operation, const std::string& path) {
  return fs_error(EISDIR, operation, path, "Path is a directory: " + path);
}

// Opens a regular file for reading. Directories and special files are
// refused before anything reads from them (a FIFO would block, a device
// never end).
result<files::unique_fd> open_regular(const std::string& resolved, const std::string& path,
                                      std::string_view operation, struct stat& st) {
  files::unique_fd fd(::open(resolved.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd) {
    int err = errno;
    if (err == ENOENT) return not_found(operation, path);
    return fs_error(err, operation, path);
  }
  if (::fstat(fd.get(), &st) != 0) return fs_error(errno, operation, path);
  if (S_ISDIR(st.st_mode)) return is_directory(operation, path);
  if (!S_ISREG(st.st_mode)) {
    auto e = make_error(codes::filesystem_error, "Not a regular file: " + path,
                        {{"path", path}, {"operation", operation}});
    e.status = 400;
    return e;
  }
  ::fcntl(fd.get(), F_SETFL, 0);
  return fd;
}

// The file a write to `path` lands in: symlinks at the last component are
// followed (as the shell's `>` does), so writing through a link updates its
// target instead of replacing the link.
result<std::string> write_target(std::string target, const std::string& path, struct stat& st,
                                 bool& exists) {
  for (int hop = 0; hop < k_max_symlink_hops; ++hop) {
    if (::lstat(target.c_str(), &st) != 0) {
      if (errno == ENOENT) {
        exists = false;
        return target;
      }
      return fs_error(errno, ops::write, path);
    }
    if (!S_ISLNK(st.st_mode)) {
      exists = true;
      return target;
    }
    std::string link(static_cast<std::size_t>(st.st_size) + 1, '\0');
    ssize_t n = ::readlink(target.c_str(), link.data(), link.size());
    if (n < 0) return fs_error(errno, ops::write, path);
    link.resize(static_cast<std::size_t>(n));
    target = link.front() == '/' ? link : files::parent_of(target) + "/" + link;
  }
  return fs_error(ELOOP, ops::write, path);
}

// In place, for targets a temp file cannot or must not replace: special
// files, files with other names (hard links), files mounted over, or a
// writable file in a directory we may not create files in.
status write_in_place(const std::string& target, const std::string& path, std::string_view bytes) {
  files::unique_fd fd(::open(target.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY));
  if (!fd) return fs_error(errno, ops::write, path);
  if (int err = files::write_all(fd.get(), bytes)) return fs_error(err, ops::write, path);
  if (int err = fd.close_checked()) return fs_error(err, ops::write, path);
  return ok_status();
}

std::string temp_sibling(const std::string& target, std::string_view purpose) {
  return files::parent_of(target) + "/.sbx-" + std::string(purpose) + "-" + random_hex(8) + ".tmp";
}

}  // namespace

file_service::file_service(runtime& rt, session_manager& sessions) : rt_(rt), sessions_(sessions) {}
file_service::~file_service() = default;

void file_service::shutdown() {}

std::string file_service::resolve(const std::string& session, const std::string& path) const {
  if (!path.empty() && path.front() == '/') return path;
  return files::resolve_path(path, sessions_.cwd_of(session));
}

result<file_content> file_service::read(const std::string& session, const std::string& path,
                                        bool want_base64) {
  struct stat st;
  auto fd = open_regular(resolve(session, path), path, ops::read, st);
  if (!fd) return fd.error();

  std::string data;
  reserve_large(data, static_cast<std::size_t>(st.st_size));
  data.resize(static_cast<std::size_t>(st.st_size));
  ssize_t n = files::read_at(fd->get(), data.data(), data.size(), 0);
  if (n < 0) return fs_error(static_cast<int>(-n), ops::read, path);
  data.resize(static_cast<std::size_t>(n));  // shrunk while we read
  // Pseudo files (/proc, /sys) report size 0 but have content.
  while (st.st_size == 0) {
    std::size_t have = data.size();
    data.resize(have + files::k_sniff_bytes);
    n = files::read_at(fd->get(), data.data() + have, files::k_sniff_bytes,
                       static_cast<off_t>(have));
    if (n < 0) return fs_error(static_cast<int>(-n), ops::read, path);
    data.resize(have + static_cast<std::size_t>(n));
    if (n == 0) break;
  }

  file_content out;
  out.size = data.size();
  auto head = std::string_view(data).substr(0, files::k_sniff_bytes);
  out.mime_type = files::detect_mime(head, data.empty());
  if (files::may_be_long_json(out.mime_type, head, data.size()))
    out.mime_type = files::detect_mime_long(data);
  bool text = files::is_text_mime(out.mime_type);
  if (text && !want_base64 && files::utf8_valid(data)) {
    out.encoding = "utf-8";
    out.content = std::move(data);
    return out;
  }
  out.is_binary = !text || !files::utf8_valid(data);
  out.encoding = "base64";
  out.content = files::base64_encode(data);
  return out;
}

namespace {

struct file_scan {
  std::uint64_t bytes = 0;
  bool utf8 = true;
};

// Reads the file from the start, up to `size` bytes or, for a pseudo file
// whose size is unknown, to its end: how much there is and whether all of
// it is UTF-8 (checked only when `check_utf8`). -errno on a read failure.
result<file_scan> scan_file(int fd, std::optional<std::uint64_t> size, bool check_utf8,
                            const std::string& path) {
  file_scan out;
  out.utf8 = check_utf8;
  std::string block(files::k_stream_chunk_bytes, '\0');
  std::size_t carried = 0;  // bytes of a character cut at the last block's end
  for (;;) {
    std::size_t want = block.size() - carried;
    if (size) want = static_cast<std::size_t>(std::min<std::uint64_t>(want, *size - out.bytes));
    if (want == 0) break;
    ssize_t n = files::read_at(fd, block.data() + carried, want, static_cast<off_t>(out.bytes));
    if (n < 0) return fs_error(static_cast<int>(-n), ops::read, path);
    if (n == 0) break;
    out.bytes += static_cast<std::uint64_t>(n);
    if (!out.utf8) {
      if (!size) continue;  // only the size is still wanted
      break;
    }
    std::string_view have(block.data(), carried + static_cast<std::size_t>(n));
    std::size_t cut = files::utf8_cut(have);
    out.utf8 = files::utf8_valid(have.substr(0, cut));
    carried = have.size() - cut;
    std::memmove(block.data(), have.data() + cut, carried);
  }
  if (out.utf8 && carried > 0) out.utf8 = false;  // the file ends inside a character
  if (size) out.bytes = *size;
  return out;
}

}  // namespace

result<file_source> file_service::open_source(const std::string& session, const std::string& path) {
  struct stat st;
  auto fd = open_regular(resolve(session, path), path, ops::read, st);
  if (!fd) return fd.error();

  // Pseudo files (/proc, /sys) report size 0 but have content.
  const bool pseudo = st.st_size == 0;
  std::string head(
      pseudo ? files::k_sniff_bytes
             : std::min<std::size_t>(static_cast<std::size_t>(st.st_size), files::k_sniff_bytes),
      '\0');
  ssize_t n = files::read_at(fd->get(), head.data(), head.size(), 0);
  if (n < 0) return fs_error(static_cast<int>(-n), ops::read, path);
  head.resize(static_cast<std::size_t>(n));

  file_source src;
  src.size = pseudo ? head.size() : static_cast<std::uint64_t>(st.st_size);
  src.mime_type = files::detect_mime(head, head.empty());
  if (files::may_be_long_json(src.mime_type, head, src.size)) {
    std::string more(
        std::min<std::size_t>(static_cast<std::size_t>(src.size), files::k_json_sniff_bytes), '\0');
    if (ssize_t got = files::read_at(fd->get(), more.data(), more.size(), 0); got > 0) {
      more.resize(static_cast<std::size_t>(got));
      src.mime_type = files::detect_mime_long(more);
    }
  }
  // Text goes out as text only if all of it is UTF-8: past the head, the
  // rest is read once to check (and a pseudo file to find its size).
  bool text = files::is_text_mime(src.mime_type);
  bool utf8 = files::utf8_valid(std::string_view(head).substr(0, files::utf8_cut(head)));
  if (pseudo || (text && utf8 && src.size > head.size())) {
    auto scan =
        scan_file(fd->get(), pseudo ? std::nullopt : std::optional(src.size), text && utf8, path);
    if (!scan) return scan.error();
    src.size = scan->bytes;
    utf8 = scan->utf8;
  }
  src.is_binary = !text || !utf8;
  src.fd = std::move(*fd);
  return src;
}

status file_service::write(const std::string& session, const std::string& path,
                           std::string_view bytes) {
  struct stat st;
  bool exists = false;
  auto target = write_target(resolve(session, path), path, st, exists);
  if (!target) return target.error();
  if (exists && S_ISDIR(st.st_mode)) return is_directory(ops::write, path);
  if (exists && !S_ISREG(st.st_mode)) return write_in_place(*target, path, bytes);
  // A file with other names keeps them, and its content is what they show:
  // replacing it would leave them with the old content.
  if (exists && st.st_nlink > 1) return write_in_place(*target, path, bytes);

  std::string temp = temp_sibling(*target, "write");
  files::unique_fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
  if (!fd) {
    int err = errno;
    if (exists && (err == EACCES || err == EPERM)) return write_in_place(*target, path, bytes);
    if (err == ENOENT)
      return fs_error(err, ops::write, path,
                      "Failed to write file '" + path + "': parent directory does not exist");
    return fs_error(err, ops::write, path);
  }
  auto fail = [&](int err) -> status {
    fd.reset();
    ::unlink(temp.c_str());
    return fs_error(err, ops::write, path);
  };
  if (int err = files::write_all_with_writeback(fd.get(), bytes)) return fail(err);
  if (exists) {
    if (::fchown(fd.get(), st.st_uid, st.st_gid) != 0 && errno != EPERM) return fail(errno);
    if (::fchmod(fd.get(), st.st_mode & 07777) != 0) return fail(errno);
  }
  if (::fsync(fd.get()) != 0) return fail(errno);
  if (int err = fd.close_checked()) return fail(err);
  // Freeing a large file's blocks takes milliseconds (more on a disk mounted
  // with discard). Held open past the rename, the replaced file is freed by a
  // close on the pool instead of inside the rename the request waits for.
  files::unique_fd replaced;
  if (exists && st.st_size >= k_deferred_free_bytes)
    replaced.reset(::open(target->c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (::rename(temp.c_str(), target->c_str()) != 0) {
    int err = errno;
    // A file mounted over (as a container runtime mounts /etc/hosts) cannot
    // be replaced, only written.
    if (err == EBUSY && exists) {
      fd.reset();
      ::unlink(temp.c_str());
      return write_in_place(*target, path, bytes);
    }
    return fail(err);
  }
  if (replaced) boost::asio::post(rt_.blocking, [fd = replaced.release()] { ::close(fd); });
  return ok_status();
}

status file_service::remove(const std::string& session, const std::string& path) {
  std::string resolved = resolve(session, path);
  struct stat st;
  if (::lstat(resolved.c_str(), &st) != 0) {
    if (errno == ENOENT) return not_found(ops::remove, path);
    return fs_error(errno, ops::remove, path);
  }
  if (S_ISDIR(st.st_mode))
    return fs_error(EISDIR, ops::remove, path,
                    "Cannot delete directory with deleteFile() at '" + path +
                        "'. Use exec('rm -rf <path>') instead.");
  if (::unlink(resolved.c_str()) != 0) return fs_error(errno, ops::remove, path);
  return ok_status();
}

status file_service::move(const std::string& session, const std::string& from,
                          const std::string& to, std::string_view operation) {
  std::string src = resolve(session, from);
  std::string dst = resolve(session, to);
  std::string verb = operation == ops::rename ? "rename" : "move";
  auto failed = [&](int err) {
    return fs_error(err, operation, from,
                    "Failed to " + verb + " '" + from + "' to '" + to + "': " + std::strerror(err));
  };

  struct stat st;
  if (::lstat(src.c_str(), &st) != 0) {
    if (errno == ENOENT) return fs_error(ENOENT, operation, from, "Source file not found: " + from);
    return failed(errno);
  }
  // Onto an existing directory (or a link to one): into it, as mv does.
  struct stat dst_st;
  if (::stat(dst.c_str(), &dst_st) == 0 && S_ISDIR(dst_st.st_mode))
    dst += "/" + files::base_name(src);

  if (::rename(src.c_str(), dst.c_str()) == 0) return ok_status();
  if (errno != EXDEV) {
    int err = errno;
    if (err == EINVAL)
      return fs_error(err, operation, from,
                      "Cannot " + verb + " '" + from + "' into itself ('" + to + "')");
    if (err == ENOENT || err == ENOTDIR) {
      // The source is there (checked above): the destination's parent is not.
      return make_error(
          codes::filesystem_error,
          "Failed to " + verb + " '" + from + "' to '" + to +
              "': " + (err == ENOENT ? "its parent directory does not exist" : std::strerror(err)),
          {{"path", to}, {"operation", operation}});
    }
    return failed(err);
  }

  // Another filesystem: copy next to the destination, swap it in, then
  // delete the source, so the destination never holds a partial copy.
  std::string temp = temp_sibling(dst, "move");
  if (int err = files::copy_tree(src, temp)) {
    files::remove_tree(temp);
    return failed(err);
  }
  if (::rename(temp.c_str(), dst.c_str()) != 0) {
    int err = errno;
    files::remove_tree(temp);
    return failed(err);
  }
  if (int err = files::remove_tree(src))
    return fs_error(err, operation, from,
                    "Copied '" + from + "' to '" + to +
                        "' but could not remove the source: " + std::strerror(err));
  return ok_status();
}

status file_service::make_directory(const std::string& session, const std::string& path,
                                    bool recursive) {
  std::string resolved = resolve(session, path);
  auto exists_error = [&] {
    return fs_error(EEXIST, ops::mkdir, path, "Path already exists: " + path);
  };
  if (!recursive) {
    if (::mkdir(resolved.c_str(), 0777) == 0) return ok_status();
    int err = errno;
    if (err == EEXIST) return exists_error();
    if (err == ENOENT)
      return fs_error(err, ops::mkdir, path,
                      "Failed to create directory '" + path +
                          "': parent directory does not exist (use recursive: true)");
    return fs_error(err, ops::mkdir, path);
  }
  // mkdir -p: every missing component, existing directories are fine.
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = resolved.find('/', pos + 1);
    std::string prefix = resolved.substr(0, pos);
    if (prefix.empty() || prefix.back() == '/') continue;
    if (::mkdir(prefix.c_str(), 0777) == 0) continue;
    int err = errno;
    struct stat st;
    if (err == EEXIST && ::stat(prefix.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) continue;
      if (pos == std::string::npos || resolved.find_first_not_of('/', pos) == std::string::npos)
        return exists_error();
      err = ENOTDIR;
    }
    return fs_error(err, ops::mkdir, path);
  }
  return ok_status();
}

result<std::vector<files::file_entry>> file_service::list(const std::string& session,
                                                          const std::string& path,
                                                          const files::walk_options& opts) {
  std::string resolved = resolve(session, path);
  struct stat st;
  if (::stat(resolved.c_str(), &st) != 0) {
    if (errno == ENOENT) return fs_error(ENOENT, ops::list, path, "Directory not found: " + path);
    return fs_error(errno, ops::list, path);
  }
  if (!S_ISDIR(st.st_mode))
    return fs_error(ENOTDIR, ops::list, path, "Path is not a directory: " + path);

  std::string base = resolved;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  if (base == "/") base.clear();  // entries become "/name", not "//name"
  std::vector<files::file_entry> entries;
  if (int err = files::walk_directory(resolved, base, opts, entries))
    return fs_error(err, ops::list, path);
  return entries;
}

result<bool> file_service::exists(const std::string& session, const std::string& path) {
  struct stat st;
  if (::stat(resolve(session, path).c_str(), &st) == 0) return true;
  int err = errno;
  if (err == ENOENT || err == ENOTDIR || err == ELOOP) return false;
  return fs_error(err, ops::stat, path);
}

}  // namespace sbx
