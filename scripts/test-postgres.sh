#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests: trust auth, no fsync, listening on 127.0.0.1 only.
#
#   scripts/test-postgres.sh start    # prints the URL on stdout (everything else goes to stderr)
#   scripts/test-postgres.sh stop     # stops it and deletes its folder
#   scripts/test-postgres.sh status   # exit 0 when running
#   scripts/test-postgres.sh url      # prints the URL
#   scripts/test-postgres.sh bin-dir  # prints the PostgreSQL bin folder it uses
#
#   export TEST_DATABASE_URL=$(scripts/test-postgres.sh start) && npm test; scripts/test-postgres.sh stop
#
# Settings (environment): PG_PORT (55432), PG_DIR (/tmp/propart-test-pg-$PG_PORT),
# PG_BIN_DIR (the newest /usr/lib/postgresql/*/bin). Needs `apt-get install postgresql` (the server is
# not started by us and the packaged cluster is not used). initdb refuses to run as root, so as root
# the server runs as the `postgres` user; as anyone else it runs as that user.
set -euo pipefail

PG_PORT="${PG_PORT:-55432}"
PG_DIR="${PG_DIR:-/tmp/propart-test-pg-$PG_PORT}"
URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"

log() { echo "test-postgres: $*" >&2; }
die() { log "error: $*"; exit 1; }

find_bin_dir() {
  if [[ -n "${PG_BIN_DIR:-}" ]]; then
    [[ -x "$PG_BIN_DIR/pg_ctl" ]] || die "PG_BIN_DIR=$PG_BIN_DIR has no pg_ctl"
    echo "$PG_BIN_DIR"; return
  fi
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [[ -n "$dir" && -x "$dir/pg_ctl" ]] || die "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin: apt-get install -y postgresql (or set PG_BIN_DIR)"
  echo "$dir"
}

BIN="$(find_bin_dir)"

# Runs a PostgreSQL binary as the server's owner, from a folder that owner can read.
as_owner() {
  if [[ $EUID -eq 0 ]]; then
    id -u postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' user (created by apt-get install postgresql)"
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

is_running() { [[ -f "$PG_DIR/PG_VERSION" ]] && as_owner "$BIN/pg_ctl" -D "$PG_DIR" status >/dev/null 2>&1; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  if is_running; then
    log "already running in $PG_DIR"
    echo "$URL"; return
  fi
  port_in_use "$PG_PORT" && die "port $PG_PORT is taken by another program; choose one with PG_PORT=…"
  rm -rf "$PG_DIR"
  mkdir -p "$PG_DIR"
  chmod 700 "$PG_DIR"
  if [[ $EUID -eq 0 ]]; then chown postgres:postgres "$PG_DIR"; fi
  log "initdb in $PG_DIR ($BIN)"
  if ! as_owner "$BIN/initdb" -D "$PG_DIR" -U postgres --auth=trust --no-sync -E UTF8 --locale=C.UTF-8 >"$PG_DIR.initdb.log" 2>&1; then
    cat "$PG_DIR.initdb.log" >&2; die "initdb failed"
  fi
  rm -f "$PG_DIR.initdb.log"
  # The socket goes in the data folder: nothing shared with a system cluster, no /var/run access needed.
  if ! as_owner "$BIN/pg_ctl" -D "$PG_DIR" -l "$PG_DIR/server.log" -w -t 60 \
      -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >/dev/null; then
    cat "$PG_DIR/server.log" >&2 || true
    die "the server did not start"
  fi
  log "running on port $PG_PORT (log: $PG_DIR/server.log)"
  echo "$URL"
}

stop() {
  if is_running; then
    as_owner "$BIN/pg_ctl" -D "$PG_DIR" -w -t 60 stop -m fast >/dev/null
    log "stopped"
  else
    log "not running"
  fi
  rm -rf "$PG_DIR"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if is_running; then log "running on port $PG_PORT ($PG_DIR)"; else log "not running"; exit 1; fi ;;
  url) echo "$URL" ;;
  bin-dir) echo "$BIN" ;;
  *) echo "usage: $0 start|stop|status|url|bin-dir" >&2; exit 2 ;;
esac
