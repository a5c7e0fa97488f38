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
# Heroku's router terminates TLS and forwards; trust its X-Forwarded-* headers.
exec uvicorn app.main:app --host 0.0.0.0 --port "$PORT" --proxy-headers --forwarded-allow-ips='*' \
    --no-access-log --timeout-graceful-shutdown 20
