#!/usr/bin/env bash
# The one list of what sandboxd needs, used by the README's commands, CI and
# the Dockerfile alike.
#
#   docker/install-deps.sh build     compiler and libraries to build sandboxd
#   docker/install-deps.sh runtime   tools user code and the daemon expect (API.md §14)
#   docker/install-deps.sh test      build + runtime + test and benchmark tools,
#                                    and the npm packages of tests/ and the executors
#
# Idempotent: already-installed packages are skipped by apt; npm ci runs only
# when node_modules is missing or older than the lock file.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
mode="${1:-test}"

build_packages=(
  build-essential cmake pkg-config
  libboost1.81-all-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libmagic-dev python3-dev
)
runtime_packages=(
  bash coreutils findutils procps git curl wget ca-certificates file jq zip unzip
  libmagic1 libspdlog1.10 locales
  python3 python3-ipython python3-numpy python3-pandas python3-matplotlib
)
test_packages=(catch2 wrk iproute2 util-linux)

packages=()
case "$mode" in
  build) packages=("${build_packages[@]}") ;;
  runtime) packages=("${runtime_packages[@]}") ;;
  test) packages=("${build_packages[@]}" "${runtime_packages[@]}" "${test_packages[@]}") ;;
  *) echo "usage: $0 build|runtime|test" >&2; exit 2 ;;
esac
# Node.js and npm: the machine's own when present (Node 20 here), Debian's otherwise.
if [ "$mode" != build ] && ! command -v node >/dev/null 2>&1; then packages+=(nodejs npm); fi

sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Every shell and tool the daemon starts runs under C.UTF-8 (API.md §4.1).
# glibc maps a locale from its archive in one go, but from the C.utf8
# directory file by file: about 0.7 ms of every process start here.
if [ "$mode" != build ] && ! localedef --list-archive 2>/dev/null | grep -qix 'c\.utf-\?8'; then
  $sudo localedef -i C -f UTF-8 C.UTF-8
fi

npm_ci() {
  local dir="$1"
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error && touch node_modules)
  fi
}
if [ "$mode" != build ]; then
  npm_ci "$root/interpreter/executors"
fi
if [ "$mode" = test ]; then
  npm_ci "$root/tests"
fi
