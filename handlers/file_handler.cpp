#include "handlers/file_handler.hpp"

#include "handlers/not_implemented.hpp"

namespace sbx::handlers {

void file_read(app&, http::request req, http::responder done) { not_implemented(req, done); }
void file_read_stream(app&, http::request req, http::responder done) { not_implemented(req, done); }
void file_write(app&, http::request req, http::responder done) { not_implemented(req, done); }
void file_delete(app&, http::request req, http::responder done) { not_implemented(req, done); }
void file_rename(app&, http::request req, http::responder done) { not_implemented(req, done); }
void file_move(app&, http::request req, http::responder done) { not_implemented(req, done); }
void file_mkdir(app&, http::request req, http::responder done) { not_implemented(req, done); }
void file_list(app&, http::request req, http::responder done) { not_implemented(req, done); }
void file_exists(app&, http::request req, http::responder done) { not_implemented(req, done); }

}  // namespace sbx::handlers
