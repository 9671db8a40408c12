#!/usr/bin/env bash
# `make contract`: the Schemathesis command line against a live server, the way a user's CI would
# run it (every check, the stateful phase on). The server runs on a free port over a throwaway
# SQLite store with the demo data, and is stopped however the run ends. schemathesis.toml, read
# from this directory, holds the same check settings as the suite's in-process contract tests.
# Every check is on by default; `--checks all` is not passed because a command-line option
# overrides schemathesis.toml's one per-operation exception.
# DELETE /tokens/{id} is left out: one generated id is the run's own token, and revoking it turns
# every later call into a 401 (the in-process contract tests cover it, reissuing the token).
# Extra arguments go to `schemathesis run`; MAX_EXAMPLES bounds each operation's budget.
set -euo pipefail
cd "$(dirname "$0")/.."

workdir="$(mktemp -d)"
export DATABASE_URL="sqlite:///$workdir/contract.db"
port="$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
token="$(dashboards-api demo | python -c 'import json, sys; print(json.load(sys.stdin)["token"])')"

dashboards-api serve --port "$port" --log-level warning &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$workdir"' EXIT

schemathesis run "http://127.0.0.1:$port/api/openapi.json" \
    --wait-for-schema 60 \
    --phases=examples,coverage,fuzzing,stateful \
    --max-examples "${MAX_EXAMPLES:-25}" \
    -H "Authorization: Bearer $token" \
    --exclude-operation-id deleteToken \
    "$@"
