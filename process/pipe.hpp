#pragma once
// Pipes for talking to children. Both ends close on exec; the reaper dup2s
// the child's end into place.
#include "core/result.hpp"

namespace sbx::process {

struct pipe_fds {
  int read = -1;
  int write = -1;
};

// pipe2() with O_CLOEXEC plus `extra_flags` (e.g. O_NONBLOCK).
result<pipe_fds> make_pipe(int extra_flags = 0);

// Closes fd if open and marks it closed.
void close_fd(int& fd);

}  // namespace sbx::process
