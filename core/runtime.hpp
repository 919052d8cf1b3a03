#pragma once
// What every service is built with: configuration, the I/O context its async
// work runs on, the pool for blocking work, and the one child reaper.
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "core/config.hpp"

namespace sbx::process {
class reaper;
}

namespace sbx {

struct runtime {
  const config& cfg;
  boost::asio::io_context& io;
  boost::asio::thread_pool& blocking;
  process::reaper& reaper;
};

}  // namespace sbx
