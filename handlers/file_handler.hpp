#pragma once
// file routes: JSON in, service call, JSON out.
#include "server/http_types.hpp"

namespace sbx {
class app;
}

namespace sbx::handlers {

void file_read(app& a, http::request req, http::responder done);
void file_read_stream(app& a, http::request req, http::responder done);
void file_write(app& a, http::request req, http::responder done);
void file_delete(app& a, http::request req, http::responder done);
void file_rename(app& a, http::request req, http::responder done);
void file_move(app& a, http::request req, http::responder done);
void file_mkdir(app& a, http::request req, http::responder done);
void file_list(app& a, http::request req, http::responder done);
void file_exists(app& a, http::request req, http::responder done);

}  // namespace sbx::handlers
