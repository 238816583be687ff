#!/usr/bin/env bash
# The edoburu/pgbouncer image's variables that the compose file sets: DB_HOST, DB_PORT, DB_USER, DB_PASSWORD,
# DB_NAME, LISTEN_ADDR, LISTEN_PORT, POOL_MODE, AUTH_TYPE, MAX_CLIENT_CONN, DEFAULT_POOL_SIZE; the userlist holds
# DB_USER's password in clear, which SCRAM needs to log in to the server on the client's behalf.
set -euo pipefail
ini=/etc/pgbouncer/pgbouncer.ini
userlist=/etc/pgbouncer/userlist.txt
if [ ! -e "$ini" ] || [ -n "${DB_HOST:-}" ]; then
    cat >"$ini" <<INI
[databases]
${DB_NAME:-*} = host=${DB_HOST:?set DB_HOST} port=${DB_PORT:-5432}

[pgbouncer]
listen_addr = ${LISTEN_ADDR:-0.0.0.0}
listen_port = ${LISTEN_PORT:-5432}
unix_socket_dir =
auth_type = ${AUTH_TYPE:-md5}
auth_file = $userlist
pool_mode = ${POOL_MODE:-session}
max_client_conn = ${MAX_CLIENT_CONN:-100}
default_pool_size = ${DEFAULT_POOL_SIZE:-20}
ignore_startup_parameters = extra_float_digits
INI
    if [ -n "${DB_USER:-}" ]; then
        printf '"%s" "%s"\n' "$DB_USER" "${DB_PASSWORD:-}" >"$userlist"
    fi
    chown postgres:postgres "$ini" "$userlist" 2>/dev/null || true
    chmod 600 "$userlist" 2>/dev/null || true
fi
if [ "${1:-}" = pgbouncer ] && [ "$(id -u)" = 0 ]; then
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$@"
fi
exec "$@"
