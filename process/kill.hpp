#pragma once
// Finding and signalling a whole process tree: the leader, every member of
// its process group, and every descendant of those, including ones that
// moved to another group or session. Members are remembered with their start
// time so a later signal never hits a recycled PID.
#include <sys/types.h>

#include <optional>
#include <string_view>
#include <vector>

namespace sbx::process {

struct tree_member {
  pid_t pid = 0;
  unsigned long long start_ticks = 0;
};

// One pass over /proc, shared by every tree looked up from it.
struct proc_entry {
  pid_t pid = 0;
  pid_t ppid = 0;
  pid_t pgrp = 0;
  char state = 0;
  unsigned long long start_ticks = 0;
};
std::vector<proc_entry> scan_processes();

// Live (non-zombie) members of the tree led by `leader`. Once the leader has
// been reaped its PID may belong to a stranger, so only its group counts
// (a group keeps its id reserved while it has members).
std::vector<tree_member> tree_of(const std::vector<proc_entry>& table, pid_t leader,
                                 bool leader_unreaped);

// Sends sig to the leader's process group and to each member that is still
// the same process, then SIGCONT (unless sig stops, continues or is SIGKILL),
// so that stopped members act on it.
void signal_tree(const std::vector<tree_member>& members, pid_t leader, int sig);

// True while any member is running (zombies count as gone).
bool any_alive(const std::vector<tree_member>& members);

// Adds the members of `more` not yet in `into`.
void merge_members(std::vector<tree_member>& into, const std::vector<tree_member>& more);

// "SIGKILL", "KILL", "kill" or "9" -> 9. Nothing for unknown names and
// numbers outside 1..64.
std::optional<int> parse_signal(std::string_view text);

}  // namespace sbx::process
