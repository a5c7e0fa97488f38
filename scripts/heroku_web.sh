#!/usr/bin/env bash
# Heroku's `web` process: one repository, two apps; SERVICE says which service this dyno runs.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:?PORT is not set (Heroku sets it)}"
case "${SERVICE:-}" in
    auth | agents) ;;
    *)
        echo "SERVICE must be 'auth' or 'agents' (got '${SERVICE:-}'); set it with heroku config:set SERVICE=..." >&2
        exit 1
        ;;
esac
cd "$SERVICE"
# Heroku's router terminates TLS and is the only peer a dyno has: trust its X-Forwarded-* headers
# ("*"). The apps apply that rule themselves (shared/client_address.py): uvicorn's own proxy
# handling is off because with "*" it takes the leftmost X-Forwarded-For entry, which the client
# wrote, while Heroku's router appends the address it saw, the rightmost one.
export FORWARDED_ALLOW_IPS="${FORWARDED_ALLOW_IPS:-*}"
exec uvicorn app.main:app --host 0.0.0.0 --port "$PORT" --no-proxy-headers \
    --no-access-log --timeout-graceful-shutdown 20
