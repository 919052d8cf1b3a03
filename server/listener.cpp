#include "server/listener.hpp"

#include <boost/asio/strand.hpp>

#include "app/app.hpp"
#include "core/log.hpp"
#include "server/connection.hpp"

namespace sbx::http {

namespace net = boost::asio;

listener::listener(app& a) : app_(a), acceptor_(net::make_strand(a.io())) {}

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
  });
}

void listener::do_accept() {
  acceptor_.async_accept(
      // Each I/O context runs on one thread, so its plain executor already
      // serialises a connection's handlers; a strand would only add cost.
      app_.connection_io(),
      [self = shared_from_this()](boost::system::error_code ec, net::ip::tcp::socket socket) {
        if (ec == net::error::operation_aborted || !self->acceptor_.is_open()) return;
        if (ec) {
          log::warn("accept failed", {{"error", ec.message()}});
        } else {
          start_connection(self->app_, std::move(socket));
        }
        self->do_accept();
      });
}

}  // namespace sbx::http
