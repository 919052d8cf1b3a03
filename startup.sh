#!/bin/sh
# Container entry point: sandboxd becomes PID 1, reaps every orphan and ends
# every child process group on SIGTERM.
mkdir -p /workspace
exec /usr/local/bin/sandboxd "$@"
