#include "files/fs_error.hpp"

#include <cerrno>
#include <cstring>

namespace sbx::files {
namespace {

std::string_view verb_for(std::string_view operation) {
  if (operation == ops::read) return "read file";
  if (operation == ops::write) return "write file";
  if (operation == ops::remove) return "delete file";
  if (operation == ops::move) return "move";
  if (operation == ops::rename) return "rename";
  if (operation == ops::mkdir) return "create directory";
  if (operation == ops::list) return "list files in";
  return "access";
}

}  // namespace

std::string_view code_for_errno(int err) {
  switch (err) {
    case ENOENT:
      return codes::file_not_found;
    case ENOTDIR:
      return codes::not_directory;
    case EISDIR:
      return codes::is_directory;
    case EEXIST:
    case ENOTEMPTY:
      return codes::file_exists;
    case EACCES:
    case EPERM:
      return codes::permission_denied;
    case ENOSPC:
    case EDQUOT:
      return codes::no_space;
    case ENAMETOOLONG:
      return codes::name_too_long;
    case EROFS:
      return codes::read_only;
    case EMLINK:
    case ELOOP:
      return codes::too_many_links;
    case ENFILE:
    case EMFILE:
      return codes::too_many_files;
    case EBUSY:
    case ETXTBSY:
      return codes::resource_busy;
    case EINVAL:
      return codes::validation_failed;
    default:
      return codes::filesystem_error;
  }
}

api_error fs_error(int err, std::string_view operation, const std::string& path,
                   std::string message) {
  if (message.empty())
    message =
        "Failed to " + std::string(verb_for(operation)) + " '" + path + "': " + std::strerror(err);
  auto e = make_error(code_for_errno(err), std::move(message),
                      {{"path", path}, {"operation", operation}});
  // A symlink loop is the caller's doing, not the server's.
  if (err == ELOOP) e.status = 400;
  return e;
}

}  // namespace sbx::files
