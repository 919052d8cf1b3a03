#pragma once
// Copy and removal of whole trees, for moves across filesystems (rename(2)
// answers EXDEV there). Each returns 0 or the errno that stopped it.
#include <string>

namespace sbx::files {

// Copies `src` (file, symlink, directory tree or special file) to `dst`,
// which must not exist. Modes, owners (best effort) and times are kept;
// symlinks are copied as links, never followed.
int copy_tree(const std::string& src, const std::string& dst);

// Removes a file, symlink or directory tree (rm -rf semantics).
int remove_tree(const std::string& path);

}  // namespace sbx::files
