#!/usr/bin/env bash
# Run the Node.js integration tests (HTTP contract + real SDK) against a
# sandboxd binary: $SANDBOXD_BIN, default <repo>/build/sandboxd.
# Each test file starts and stops its own daemon(s) on 127.0.0.1.
# Extra arguments are passed to `node --test` (e.g. a single file).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

export SANDBOXD_BIN="${SANDBOXD_BIN:-$(cd "$here/.." && pwd)/build/sandboxd}"
if [[ ! -x "$SANDBOXD_BIN" ]]; then
  echo "run-node-tests: no executable daemon at $SANDBOXD_BIN (build it or set SANDBOXD_BIN)" >&2
  exit 1
fi

# The lock file pins @cloudflare/sandbox and links the local containers stub.
if [[ ! -d node_modules ]]; then
  npm ci --no-audit --no-fund
fi

# The SDK logs every successful call at info; keep its output to warnings
# unless asked otherwise. (The daemon's own level is set by lib/daemon.mjs.)
export SANDBOX_LOG_LEVEL="${SANDBOX_LOG_LEVEL:-warn}"

if [[ $# -gt 0 ]]; then
  files=("$@")
else
  shopt -s nullglob
  files=(http/*.test.mjs sdk/*.test.mjs)
fi
if [[ ${#files[@]} -eq 0 ]]; then
  echo "run-node-tests: no test files found" >&2
  exit 1
fi

# TAP reporter: its closing "# pass N" / "# fail N" lines are what CI reads.
# One file at a time keeps the daemons of different files from competing
# for the two cores; each test has a hard timeout so a hung daemon fails.
exec node --test --test-reporter=tap --test-concurrency=1 --test-timeout=120000 "${files[@]}"
