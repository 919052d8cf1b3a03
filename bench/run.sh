#!/usr/bin/env bash
# Benchmarks: builds Release, starts sandboxd on a free loopback port, runs
# every bench/*.bench.mjs against it and prints one table.
# Each bench script prints rows: ROW<TAB>name<TAB>unit<TAB>median<TAB>p99
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash docker/install-deps.sh test >/dev/null
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DSANDBOXD_TESTS=OFF >/dev/null
cmake --build build-release -j"$(nproc)" >/dev/null
export SANDBOXD_BIN="$root/build-release/sandboxd"

work="$(mktemp -d)"
export SANDBOXD_WORKSPACE="$work/workspace"
mkdir -p "$SANDBOXD_WORKSPACE"
PORT=0 BIND=127.0.0.1 SANDBOX_LOG_LEVEL=error \
  PYTHON_POOL_MIN_SIZE=1 JAVASCRIPT_POOL_MIN_SIZE=1 TYPESCRIPT_POOL_MIN_SIZE=1 \
  "$SANDBOXD_BIN" >"$work/daemon.log" 2>&1 &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null; wait $daemon 2>/dev/null; rm -rf "$work"' EXIT
# The daemon logs nothing at level error, so find its port from /proc.
port=""
for _ in $(seq 1 500); do
  port=$(ss -Hltnp 2>/dev/null | awk -v pid="pid=$daemon," '$0 ~ pid {split($4, a, ":"); print a[length(a)]; exit}')
  [ -n "$port" ] && break
  sleep 0.01
done
[ -n "$port" ] || { echo "daemon did not listen" >&2; exit 1; }
export BENCH_BASE_URL="http://127.0.0.1:$port"
export BENCH_DAEMON_PID=$daemon

rows="$work/rows"
: >"$rows"
# Busy-ness of the whole machine over 0.2 s, in percent, from /proc/stat.
busy_percent() {
  local a b
  read -r -a a < <(grep '^cpu ' /proc/stat)
  sleep 0.2
  read -r -a b < <(grep '^cpu ' /proc/stat)
  local total=0 idle
  for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
  idle=$((b[4] - a[4] + b[5] - a[5]))
  echo $(((total - idle) * 100 / (total > 0 ? total : 1)))
}
# What one script leaves running (executor pools refilling after the
# interpreter bench, page cache write-back) must not be measured by the next:
# wait, up to 10 s, until the machine is nearly idle.
settle() {
  for _ in $(seq 1 50); do
    [ "$(busy_percent)" -lt 10 ] && return
  done
}

for script in bench/*.bench.mjs; do
  settle
  echo "running $script" >&2
  node "$script" | grep '^ROW' >>"$rows" || echo "ROW	$(basename "$script") failed	-	-	-" >>"$rows"
done
printf '\n%-58s %-8s %14s %14s\n' benchmark unit median p99
printf '%s\n' "$(printf '%.0s-' $(seq 1 97))"
awk -F'\t' '{printf "%-58s %-8s %14s %14s\n", $2, $3, $4, $5}' "$rows"
