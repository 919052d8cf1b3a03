#include "server/listener.hpp"

#include <boost/asio/strand.hpp>

#include "app/app.hpp"
#include "core/log.hpp"
#include "server/connection.hpp"

namespace sbx::http {

namespace net = boost::asio;

namespace {
constexpr auto k_accept_retry_delay = std::chrono::milliseconds(50);
}

listener::listener(app& a)
    : app_(a), acceptor_(net::make_strand(a.io())), accept_retry_(acceptor_.get_executor()) {}

result<int> listener::open(const std::string& address, int port) {
  boost::system::error_code ec;
  auto ip = net::ip::make_address(address, ec);
  if (ec) return make_error(codes::internal_error, "invalid bind address '" + address + "'");
  net::ip::tcp::endpoint endpoint(ip, static_cast<unsigned short>(port));
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return make_error(codes::internal_error, ec.message());
  return static_cast<int>(acceptor_.local_endpoint().port());
}

void listener::start() {
  do_accept();
}

void listener::stop() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ec;
    self->acceptor_.close(ec);
    self->accept_retry_.cancel();
  });
}

void listener::resume() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    if (!self->paused_ || !self->acceptor_.is_open()) return;
    self->paused_ = false;
    self->do_accept();
  });
}

void listener::do_accept() {
  if (!app_.sockets().has_room()) {
    // New clients wait in the backlog until a connection closes. Logged at
    // most once a minute: under a flood the limit is reached again and again.
    auto now = std::chrono::steady_clock::now();
    if (now - last_limit_log_ >= std::chrono::minutes(1)) {
      last_limit_log_ = now;
      log::warn("connection limit reached; accepting again when a connection closes");
    }
    paused_ = true;
    return;
  }
  acceptor_.async_accept(
      // Each I/O context runs on one thread, so its plain executor already
      // serialises a connection's handlers; a strand would only add cost.
      app_.connection_io(),
      [self = shared_from_this()](boost::system::error_code ec, net::ip::tcp::socket socket) {
        if (ec == net::error::operation_aborted || !self->acceptor_.is_open()) return;
        if (!ec) {
          self->accept_failing_ = false;
          start_connection(self->app_, std::move(socket));
          return self->do_accept();
        }
        // Logged once per run of failures; pending clients wait in the backlog.
        if (!self->accept_failing_)
          log::warn("accept failed; retrying every 50 ms", {{"error", ec.message()}});
        self->accept_failing_ = true;
        self->accept_retry_.expires_after(k_accept_retry_delay);
        self->accept_retry_.async_wait([self](boost::system::error_code wait_ec) {
          if (!wait_ec && self->acceptor_.is_open()) self->do_accept();
        });
      });
}

}  // namespace sbx::http
