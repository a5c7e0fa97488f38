#!/usr/bin/env bash
# Start what the services and tests need, once: a native PostgreSQL on $PG_PORT (default 5435)
# with role hirecj and database hirecj_identity, and Redis where REDIS_URL points.
# Idempotent: when both already answer it changes nothing. Used by `make dev` and `make test`.
# With --record (make dev), what it starts is recorded under .data/dev/ so `make stop` can stop
# exactly that, by pid.
set -euo pipefail

RECORD=0
[ "${1:-}" = "--record" ] && RECORD=1

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_PORT="${PG_PORT:-5435}"
PG_USER_NAME="${PG_ROLE:-hirecj}"
PG_PASSWORD="${PG_PASSWORD:-hirecj_dev_password}"
PG_DATABASE="${PG_DATABASE:-hirecj_identity}"
# The project's own Redis, with AOF (the machine may run another on 6379 that keeps nothing).
REDIS_URL="${REDIS_URL:-redis://localhost:6380/0}"
DATA_ROOT="${HIRECJ_DATA_DIR:-$ROOT/.data}"

log() { printf 'dev_services: %s\n' "$*"; }

# record NAME PIDFILE: remember the pid written in PIDFILE (first line) for `make stop`.
record() {
    [ "$RECORD" = 1 ] || return 0
    local pid
    pid="$(head -n 1 "$2")"
    "$ROOT/.venv/bin/python" "$ROOT/scripts/dev_stack.py" record "$1" "$pid"
}

apt_install() {
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        log "installing $* from Debian's packages"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    else
        log "missing $* and cannot install it here (need apt-get as root); install it and retry"
        exit 1
    fi
}

pg_bindir() {
    local dir
    if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
        pg_config --bindir; return
    fi
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then echo "$dir"; return; fi
    if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return; fi
}

# PostgreSQL refuses to run as root, so when we are root the cluster belongs to `postgres`
# (or a user we create); its data must then live where that user can write.
as_pg_user() {
    if [ "$(id -u)" = 0 ]; then
        su -s /bin/bash "$PG_OS_USER" -c "$*"
    else
        bash -c "$*"
    fi
}

start_postgres() {
    local bindir
    bindir="$(pg_bindir)"
    if [ -z "$bindir" ]; then
        apt_install postgresql postgresql-contrib
        bindir="$(pg_bindir)"
    fi
    if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
        log "PostgreSQL already answers on $PG_PORT"
    else
        PG_OS_USER="$(id -un)"
        local pgdata="$DATA_ROOT/postgres-$PG_PORT"
        if [ "$(id -u)" = 0 ]; then
            PG_OS_USER="${PG_OS_USER_OVERRIDE:-postgres}"
            id "$PG_OS_USER" >/dev/null 2>&1 || useradd --system --no-create-home "$PG_OS_USER"
            mkdir -p "$DATA_ROOT"
            chown "$PG_OS_USER" "$DATA_ROOT" 2>/dev/null || true
            # A checkout under a private home cannot be entered by that user: keep data in /var/tmp.
            if ! su -s /bin/bash "$PG_OS_USER" -c "test -w '$DATA_ROOT'"; then
                pgdata="/var/tmp/hirecj-postgres-$PG_PORT"
            fi
        fi
        mkdir -p "$(dirname "$pgdata")"
        if [ ! -s "$pgdata/PG_VERSION" ]; then
            log "initialising a cluster in $pgdata"
            mkdir -p "$pgdata"
            [ "$(id -u)" = 0 ] && chown "$PG_OS_USER" "$pgdata"
            chmod 700 "$pgdata"
            as_pg_user "'$bindir/initdb' -D '$pgdata' -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null"
            cat >>"$pgdata/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$pgdata'
max_connections = 300
shared_buffers = 256MB
CONF
        fi
        log "starting PostgreSQL on $PG_PORT ($pgdata)"
        as_pg_user "'$bindir/pg_ctl' -D '$pgdata' -l '$pgdata/server.log' -w -t 60 start >/dev/null"
        record postgres "$pgdata/postmaster.pid"
    fi
    local psql=("$bindir/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA)
    if ! "${psql[@]}" -c "SELECT 1" >/dev/null 2>&1; then
        # A cluster that is not ours (no postgres superuser over TCP): try the hirecj role itself.
        psql=("$bindir/psql" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER_NAME" -d postgres -v ON_ERROR_STOP=1 -qtA)
    fi
    if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname='$PG_USER_NAME'")" != 1 ]; then
        log "creating role $PG_USER_NAME"
        "${psql[@]}" -c "CREATE ROLE $PG_USER_NAME LOGIN SUPERUSER PASSWORD '$PG_PASSWORD'"
    fi
    if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname='$PG_DATABASE'")" != 1 ]; then
        log "creating database $PG_DATABASE"
        "${psql[@]}" -c "CREATE DATABASE $PG_DATABASE OWNER $PG_USER_NAME"
    fi
}

start_redis() {
    local hostport host port
    hostport="$(printf '%s' "$REDIS_URL" | sed -E 's#^rediss?://([^@/]*@)?([^/?]*).*#\2#')"
    host="${hostport%%:*}"; port="${hostport##*:}"
    [ "$port" = "$hostport" ] && port=6379
    [ -z "$host" ] && host=localhost
    if ! command -v redis-server >/dev/null 2>&1; then apt_install redis-server redis-tools; fi
    if redis-cli -h "$host" -p "$port" ping >/dev/null 2>&1; then
        log "Redis already answers on $host:$port (appendonly $(redis-cli -h "$host" -p "$port" config get appendonly 2>/dev/null | tail -n 1))"
        return
    fi
    case "$host" in localhost|127.0.0.1) ;; *) log "Redis at $host:$port does not answer"; exit 1 ;; esac
    mkdir -p "$DATA_ROOT/redis-$port"
    log "starting Redis on $port with AOF (appendfsync everysec)"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" \
        --appendonly yes --appendfsync everysec \
        --dir "$DATA_ROOT/redis-$port" --logfile "$DATA_ROOT/redis-$port/redis.log" \
        --pidfile "$DATA_ROOT/redis-$port/redis.pid"
    for _ in $(seq 50); do
        if redis-cli -p "$port" ping >/dev/null 2>&1; then
            record redis "$DATA_ROOT/redis-$port/redis.pid"
            return
        fi
        sleep 0.1
    done
    log "Redis did not start; see $DATA_ROOT/redis-$port/redis.log"; exit 1
}

# `make test` also runs the suites on a Redis Cluster and PgBouncer it starts itself: it needs
# Debian's pgbouncer (redis-server is there already).
ensure_pgbouncer() {
    if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
        apt_install pgbouncer
    fi
}

start_postgres
start_redis
if [ "${HIRECJ_NEED_PGBOUNCER:-0}" = 1 ]; then ensure_pgbouncer; fi
