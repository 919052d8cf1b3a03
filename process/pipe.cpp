#include "process/pipe.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace sbx::process {

result<pipe_fds> make_pipe(int extra_flags) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | extra_flags) != 0)
    return make_error(codes::internal_error, std::string("pipe2: ") + std::strerror(errno));
  return pipe_fds{fds[0], fds[1]};
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace sbx::process
