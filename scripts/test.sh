#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds with ASan+UBSan, runs
# the Catch2 unit tests, the executor tests, and the HTTP and SDK tests
# against the sanitized daemon. Ends with one "N passed, N failed" line.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

bash docker/install-deps.sh test || exit 1

build="$root/build-asan"
# -O0 with line tables: the sanitizers compile 4x faster than at -O2 -g, and
# the suite is bound by I/O, not by the daemon's CPU time.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" \
  -DSANDBOXD_SANITIZE=ON >/dev/null || exit 1
cmake --build "$build" -j"$(nproc)" || exit 1

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
# A small quarantine keeps RSS honest for the tests that check memory stays flat.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:quarantine_size_mb=8:thread_local_quarantine_size_kb=128}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

echo "== unit tests"
(cd "$build" && ctest --output-on-failure) 2>&1 | tee "$logs/unit"

echo "== executor tests"
(cd interpreter/executors && node --test --test-reporter=tap --test-concurrency=1 .) 2>&1 | tee "$logs/executors"

echo "== HTTP and SDK tests"
SANDBOXD_BIN="$build/sandboxd" bash tests/run-node-tests.sh 2>&1 | tee "$logs/node"

# Totals from ctest ("... N tests failed out of M") and node's TAP ("# pass N", "# fail N").
read -r unit_failed unit_total < <(sed -n 's/.* \([0-9]\+\) tests failed out of \([0-9]\+\)$/\1 \2/p' "$logs/unit" | tail -1)
unit_failed=${unit_failed:-1}
unit_total=${unit_total:-0}
sum_tap() { awk -v key="# $2" '$1" "$2 == key {n += $3} END {print n + 0}' "$1"; }
passed=$((unit_total - unit_failed + $(sum_tap "$logs/executors" pass) + $(sum_tap "$logs/node" pass)))
failed=$((unit_failed + $(sum_tap "$logs/executors" fail) + $(sum_tap "$logs/node" fail)))
if [ "$unit_total" -eq 0 ]; then failed=$((failed + 1)); fi
echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
