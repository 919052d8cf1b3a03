#!/usr/bin/env bash
# Builds sandboxd (Release) and runs it in the foreground on 127.0.0.1:3000.
# Environment passes through: SANDBOX_VERSION, SANDBOX_LOG_FORMAT=pretty, PORT, BIND, ...
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash docker/install-deps.sh build
bash docker/install-deps.sh runtime
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSANDBOXD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)"
mkdir -p "${SANDBOXD_WORKSPACE:-/workspace}" 2>/dev/null || true
exec env PORT="${PORT:-3000}" BIND="${BIND:-127.0.0.1}" build/sandboxd "$@"
