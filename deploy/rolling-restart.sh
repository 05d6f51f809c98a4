#!/usr/bin/env bash
# Restarts the ProPart web instances one at a time, so that one is always serving behind nginx; then
# the sync worker. Part of the upgrade procedure in docs/deploy.md (after `systemctl start propart-migrate`).
#
#   deploy/rolling-restart.sh              # propart@3001, propart@3002, then propart-worker
#   deploy/rolling-restart.sh 3001 3002    # the given instances only (no worker)
#
# For each instance: restart (SIGTERM: it finishes the requests in flight, nginx sends new ones to the
# other instance), wait until its /readyz answers 200, then wait nginx's fail_timeout (3 s in
# deploy/nginx.conf) + 2 s so nginx has taken it back before the next one goes down. Stops at the first
# instance that does not come back, leaving the others running on the old code.
set -euo pipefail

READY_TIMEOUT="${READY_TIMEOUT:-90}"   # seconds for an instance to answer /readyz
NGINX_GRACE="${NGINX_GRACE:-5}"        # fail_timeout + 2 s

worker=1
ports=("$@")
if [[ ${#ports[@]} -eq 0 ]]; then ports=(3001 3002); else worker=0; fi

log() { printf '%s rolling-restart: %s\n' "$(date '+%H:%M:%S')" "$*" >&2; }

for port in "${ports[@]}"; do
  log "restarting propart@$port"
  systemctl restart "propart@$port"
  deadline=$((SECONDS + READY_TIMEOUT))
  until curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/readyz"; do
    if (( SECONDS > deadline )) || ! systemctl is-active --quiet "propart@$port"; then
      log "propart@$port is not ready after ${READY_TIMEOUT}s: stopping here (the other instances keep serving)"
      curl -sS --max-time 2 "http://127.0.0.1:$port/readyz" >&2 || true
      journalctl -u "propart@$port" -n 30 --no-pager >&2 || true
      exit 1
    fi
    sleep 1
  done
  log "propart@$port is ready; waiting ${NGINX_GRACE}s for nginx to take it back"
  sleep "$NGINX_GRACE"
done

if (( worker )); then
  log "restarting propart-worker (it finishes its current sync round first)"
  systemctl restart propart-worker
  systemctl is-active --quiet propart-worker || { log "propart-worker did not start"; journalctl -u propart-worker -n 30 --no-pager >&2; exit 1; }
fi
log "done"
