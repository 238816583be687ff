#!/usr/bin/env bash
# The official image builds Redis with protected mode off (containers are reached from other addresses than
# loopback) and drops root; Debian's binary needs the former said on its command line.
set -euo pipefail
if [ "${1:-}" = redis-server ]; then
    shift
    exec setpriv --reuid=redis --regid=redis --init-groups redis-server --protected-mode no "$@"
fi
exec "$@"
