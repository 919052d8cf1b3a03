#include "files/file_io.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace sbx::files {

ssize_t read_at(int fd, char* buf, std::size_t want, off_t offset) {
  std::size_t got = 0;
  while (got < want) {
    ssize_t n = ::pread(fd, buf + got, want - got, offset + static_cast<off_t>(got));
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    got += static_cast<std::size_t>(n);
  }
  return static_cast<ssize_t>(got);
}

int write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

int write_all_with_writeback(int fd, std::string_view bytes) {
  // Writeback of each piece starts while the next one is copied, so the
  // fsync that follows finds most of the data on its way to the disk.
  constexpr std::size_t k_piece = 2 << 20;
  off_t offset = 0;
  while (bytes.size() > k_piece) {
    if (int err = write_all(fd, bytes.substr(0, k_piece))) return err;
    ::sync_file_range(fd, offset, k_piece, SYNC_FILE_RANGE_WRITE);  // a hint: errors show in fsync
    offset += static_cast<off_t>(k_piece);
    bytes.remove_prefix(k_piece);
  }
  return write_all(fd, bytes);
}

}  // namespace sbx::files
