#pragma once
// Whole-buffer read and write on a descriptor, retrying short transfers
// and EINTR.
#include <sys/types.h>

#include <cstddef>
#include <string_view>

namespace sbx::files {

// Reads up to `want` bytes at `offset` (fewer only at end of file).
// Returns the count, or -errno.
ssize_t read_at(int fd, char* buf, std::size_t want, off_t offset);

// Writes all of `bytes`; returns 0 or errno.
int write_all(int fd, std::string_view bytes);
// write_all for a file about to be fsync'd: starts the disk writing each
// 2 MiB as soon as it is written.
int write_all_with_writeback(int fd, std::string_view bytes);

}  // namespace sbx::files
