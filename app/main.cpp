#include <signal.h>

#include <malloc.h>
#include <unistd.h>
#include <cstdio>

#include "app/app.hpp"
#include "core/log.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto outcome = sbx::parse_config(args, sbx::current_environment());
  switch (outcome.what) {
    case sbx::config_outcome::kind::help:
    case sbx::config_outcome::kind::version:
      std::fputs(outcome.message.c_str(), stdout);
      return 0;
    case sbx::config_outcome::kind::error:
      std::fputs(outcome.message.c_str(), stderr);
      return 2;
    case sbx::config_outcome::kind::run:
      break;
  }
  // Few arenas keep idle RSS small; the daemon is I/O bound. A fixed mmap
  // threshold stops glibc from raising it after large frees, so big request
  // and file buffers go back to the OS instead of staying in the heap. Up to
  // a megabyte of freed heap is kept: output flows through in chunks of up to
  // 128 KiB, and giving those pages back after every chunk only to fault them
  // in again cost more than the bytes' own handling.
  mallopt(M_ARENA_MAX, 2);
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
  signal(SIGPIPE, SIG_IGN);
  sbx::log::init(outcome.cfg.log_level, outcome.cfg.log_format);
  // The app is deliberately never destroyed: run() has already ended every
  // child and stopped the I/O threads, and exiting here avoids tearing down
  // services while queued handlers still refer to them.
  auto* daemon = new sbx::app(outcome.cfg);
  int code = daemon->run();
  sbx::log::flush();
  std::fflush(stdout);
  _exit(code);
}
