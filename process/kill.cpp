#include "process/kill.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_set>

namespace sbx::process {
namespace {

std::optional<proc_entry> read_stat(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[1024];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return std::nullopt;
  buf[n] = '\0';
  // "pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt
  // cmajflt utime stime cutime cstime priority nice threads itreal starttime"
  // comm may contain spaces and parentheses: parse after the last ')'.
  const char* rest = std::strrchr(buf, ')');
  if (!rest) return std::nullopt;
  proc_entry e;
  e.pid = pid;
  int ppid = 0, pgrp = 0;
  if (std::sscanf(rest + 1,
                  " %c %d %d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
                  &e.state, &ppid, &pgrp, &e.start_ticks) != 4)
    return std::nullopt;
  e.ppid = ppid;
  e.pgrp = pgrp;
  return e;
}

bool is_gone(char state) {
  return state == 'Z' || state == 'X' || state == 'x';
}

}  // namespace

std::vector<proc_entry> scan_processes() {
  std::vector<proc_entry> table;
  DIR* dir = opendir("/proc");
  if (!dir) return table;
  while (dirent* d = readdir(dir)) {
    char* end = nullptr;
    long pid = std::strtol(d->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    if (auto e = read_stat(static_cast<pid_t>(pid))) table.push_back(*e);
  }
  closedir(dir);
  return table;
}

std::vector<tree_member> tree_of(const std::vector<proc_entry>& table, pid_t leader,
                                 bool leader_unreaped) {
  std::unordered_set<pid_t> in_tree;
  std::vector<pid_t> frontier;
  for (const auto& e : table)
    if ((leader_unreaped && e.pid == leader) || e.pgrp == leader) {
      in_tree.insert(e.pid);
      frontier.push_back(e.pid);
    }
  // Descendants of any member, wherever they moved.
  while (!frontier.empty()) {
    pid_t parent = frontier.back();
    frontier.pop_back();
    for (const auto& e : table)
      if (e.ppid == parent && in_tree.insert(e.pid).second) frontier.push_back(e.pid);
  }
  std::vector<tree_member> members;
  for (const auto& e : table)
    if (in_tree.count(e.pid) && !is_gone(e.state)) members.push_back({e.pid, e.start_ticks});
  return members;
}

void signal_tree(const std::vector<tree_member>& members, pid_t leader, int sig) {
  // A stopped process acts on a signal only once it is continued: SIGCONT
  // follows, as a shell's kill does for a stopped job, so that a stopped tree
  // ends now rather than at SIGKILL after the grace. Not after the signals
  // that stop or continue, nor SIGKILL, which needs no waking.
  bool wake = sig != SIGKILL && sig != SIGCONT && sig != SIGSTOP && sig != SIGTSTP &&
              sig != SIGTTIN && sig != SIGTTOU;
  auto send = [&](int s) {
    // The group first: it also reaches members forked after the scan.
    if (leader > 0) kill(-leader, s);
    for (const auto& m : members) {
      auto now = read_stat(m.pid);
      if (now && now->start_ticks == m.start_ticks && !is_gone(now->state)) kill(m.pid, s);
    }
  };
  send(sig);
  if (wake) send(SIGCONT);
}

bool any_alive(const std::vector<tree_member>& members) {
  for (const auto& m : members) {
    auto now = read_stat(m.pid);
    if (now && now->start_ticks == m.start_ticks && !is_gone(now->state)) return true;
  }
  return false;
}

void merge_members(std::vector<tree_member>& into, const std::vector<tree_member>& more) {
  for (const auto& m : more) {
    bool known = std::any_of(into.begin(), into.end(), [&](const tree_member& x) {
      return x.pid == m.pid && x.start_ticks == m.start_ticks;
    });
    if (!known) into.push_back(m);
  }
}

std::optional<int> parse_signal(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (std::all_of(text.begin(), text.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    if (text.size() > 2) return std::nullopt;
    int n = std::atoi(std::string(text).c_str());
    if (n < 1 || n > 64) return std::nullopt;
    return n;
  }
  std::string name;
  for (char c : text)
    name.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  if (name.rfind("SIG", 0) == 0) name.erase(0, 3);
  static constexpr struct {
    const char* name;
    int number;
  } k_names[] = {{"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"ILL", SIGILL},
                 {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},   {"BUS", SIGBUS},   {"FPE", SIGFPE},
                 {"KILL", SIGKILL}, {"USR1", SIGUSR1},   {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},
                 {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},   {"TERM", SIGTERM}, {"CONT", SIGCONT},
                 {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},
                 {"URG", SIGURG},   {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM},
                 {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},     {"SYS", SIGSYS}};
  for (const auto& n : k_names)
    if (name == n.name) return n.number;
  return std::nullopt;
}

}  // namespace sbx::process
