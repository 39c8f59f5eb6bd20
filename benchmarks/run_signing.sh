#!/usr/bin/env bash
# The signing benchmark: our app, then the bare baseline app, each under gunicorn with 2 workers
# on a fresh SQLite file, driven by benchmarks/load.py with the same load; prints both results
# and the ratio ours/bare. Arguments are passed to load.py (e.g. --requests 500 --clients 4).
#
#   benchmarks/run_signing.sh
#   KEEP_TMP=1 benchmarks/run_signing.sh --requests 4000 --max-seconds 180
#
# Environment: WORKERS (default 2), KEEP_TMP=1 keeps the temporary folder (databases, logs),
# OUTBOX_WORKER (default thread: each gunicorn worker also sends the emails, as in production).
set -euo pipefail
# Settings that would make the run differ from the documented one.
unset PETITIONS_ENV FLASK_ENV REDIS_URL PUBLIC_URL TRUSTED_PROXIES SIGN_RATE_LIMIT

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"
BIN="$ROOT/.venv/bin"
WORKERS="${WORKERS:-2}"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/petitions-bench.XXXXXX")"
SERVER_PID=""

cleanup() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
    if [[ "${KEEP_TMP:-0}" == 1 ]]; then
        echo "kept $TMP"
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_until_up() {  # url log
    "$PY" - "$1" <<'EOF' || { echo "server did not start; its log:" >&2; tail -n 30 "$2" >&2; exit 1; }
import sys, time, urllib.error, urllib.request
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    try:
        urllib.request.urlopen(sys.argv[1], timeout=2).read()
        sys.exit(0)
    except (urllib.error.URLError, OSError):
        time.sleep(0.1)
sys.exit(1)
EOF
}

server_cpu_seconds() {  # user+system CPU of the gunicorn master and its workers (all threads)
    "$PY" - "$SERVER_PID" <<'EOF'
import os, sys
master = sys.argv[1]
children = open(f"/proc/{master}/task/{master}/children").read().split()
ticks = 0
for pid in [master, *children]:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    ticks += int(fields[11]) + int(fields[12])  # utime, stime
print(ticks / os.sysconf("SC_CLK_TCK"))
EOF
}

signature_rows() {  # database
    "$PY" -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM signatures").fetchone()[0])' "$1"
}

cpu_report() {  # name cpu_before cpu_after rows json
    "$PY" - "$@" <<'EOF'
import json, sys
name, before, after, rows, path = sys.argv[1:]
ms = (float(after) - float(before)) * 1000 / max(1, int(rows))
result = json.load(open(path))
result["server_cpu_ms_per_signature"] = ms
json.dump(result, open(path, "w"), indent=2)
print(f"server CPU per signature ({name}, warm-up included): {ms:.1f} ms")
EOF
}

stop_server() {
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID" || true
    SERVER_PID=""
}

SLUG=g20-protect-education
echo "machine: $(nproc) cores, $("$PY" --version), gunicorn -w $WORKERS (sync), SQLite; tmp $TMP"
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) (anything else running skews the figures)"

# --- our app ------------------------------------------------------------------------------
PORT="$(free_port)"
export PETITIONS_INSTANCE="$TMP/instance" DATABASE_URL="sqlite:///$TMP/bench.sqlite3" \
    RATELIMIT_ENABLED=false SECRET_KEY=bench MAIL_URL=console:
"$BIN/flask" --app petitions db upgrade >"$TMP/ours-setup.log" 2>&1
"$BIN/flask" --app petitions demo >>"$TMP/ours-setup.log" 2>&1
# Console email goes to standard error: into a file, not the terminal.
"$BIN/gunicorn" -w "$WORKERS" -b "127.0.0.1:$PORT" wsgi:app \
    >"$TMP/ours-gunicorn.out" 2>"$TMP/ours-gunicorn.err" &
SERVER_PID=$!
wait_until_up "http://127.0.0.1:$PORT/letters/$SLUG" "$TMP/ours-gunicorn.err"
ROWS_BEFORE="$(signature_rows "$TMP/bench.sqlite3")"
CPU_BEFORE="$(server_cpu_seconds)"
"$PY" benchmarks/load.py --url "http://127.0.0.1:$PORT" --slug "$SLUG" --label "ours (petitions)" \
    --json "$TMP/ours.json" "$@"
sleep 1  # let the outbox threads finish the last emails before counting them
CPU_AFTER="$(server_cpu_seconds)"
stop_server
cpu_report ours "$CPU_BEFORE" "$CPU_AFTER" \
    $(($(signature_rows "$TMP/bench.sqlite3") - ROWS_BEFORE)) "$TMP/ours.json"
"$PY" - "$TMP/bench.sqlite3" "$TMP/ours-gunicorn.err" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT status, count(*) FROM outbox_emails GROUP BY status ORDER BY status")
print("outbox after the run: " + ", ".join(f"{s} {n}" for s, n in rows))
signatures = db.execute("SELECT count(*) FROM signatures").fetchone()[0]
errors = open(sys.argv[2], encoding="utf-8", errors="replace").read().count("Traceback")
print(f"signature rows: {signatures}; tracebacks in the server log: {errors}")
EOF
unset PETITIONS_INSTANCE DATABASE_URL RATELIMIT_ENABLED MAIL_URL

# --- the bare baseline --------------------------------------------------------------------
echo
PORT="$(free_port)"
export BARE_DB="$TMP/bare.sqlite3" SECRET_KEY=bench
"$PY" benchmarks/bare_app.py >"$TMP/bare-setup.log" 2>&1  # create_all once, before the workers
"$BIN/gunicorn" -w "$WORKERS" -b "127.0.0.1:$PORT" --pythonpath benchmarks bare_app:app \
    >"$TMP/bare-gunicorn.out" 2>"$TMP/bare-gunicorn.err" &
SERVER_PID=$!
wait_until_up "http://127.0.0.1:$PORT/letters/$SLUG" "$TMP/bare-gunicorn.err"
CPU_BEFORE="$(server_cpu_seconds)"
"$PY" benchmarks/load.py --url "http://127.0.0.1:$PORT" --slug "$SLUG" --label "bare baseline" \
    --json "$TMP/bare.json" "$@"
CPU_AFTER="$(server_cpu_seconds)"
stop_server
echo "signature rows: $(signature_rows "$BARE_DB")"
cpu_report bare "$CPU_BEFORE" "$CPU_AFTER" "$(signature_rows "$BARE_DB")" "$TMP/bare.json"

# --- the comparison -----------------------------------------------------------------------
echo
"$PY" - "$TMP/ours.json" "$TMP/bare.json" <<'EOF'
import json, sys
ours, bare = (json.load(open(path)) for path in sys.argv[1:3])
a, b = ours["signatures_per_second"], bare["signatures_per_second"]
ratio = a / b if b else float("nan")
print(f"ours {a:.1f} signatures/s, bare {b:.1f} signatures/s: ours/bare = {ratio:.0%} "
      f"(target >= 75%: {'met' if ratio >= 0.75 else 'NOT met'})")
for name, result in (("ours", ours), ("bare", bare)):
    pair = result["pair_ms"]
    print(f"  {name}: GET+POST p50 {pair.get('p50', 0):.1f} ms, p99 {pair.get('p99', 0):.1f} ms; "
          f"server CPU {result['server_cpu_ms_per_signature']:.1f} ms/signature; "
          f"errors {result['errors'] or 'none'}")
cpu = ours["server_cpu_ms_per_signature"] / bare["server_cpu_ms_per_signature"]
print(f"server CPU per signature, ours/bare = {cpu:.1f}x (steadier than signatures/s on a busy machine)")
EOF
