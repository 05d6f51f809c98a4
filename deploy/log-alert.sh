#!/usr/bin/env bash
# Log-based alerting without Prometheus: every 5 minutes (cron), count the error lines and HubSpot 429s
# the ProPart processes logged since the last run, and send a mail (or a webhook) when there are any.
#
#   # /etc/cron.d/propart-log-alert
#   */5 * * * * root /opt/propart/deploy/log-alert.sh
#
# Settings (environment or /etc/propart/log-alert.env):
#   ALERT_MAIL=ops@example.com        mail(1) recipient (bsd-mailx or mailutils)
#   ALERT_WEBHOOK=https://…           POSTs {"text": …} instead (Slack/Mattermost style)
#   SINCE="5 min ago"                 the window, matching the cron interval
#   MAX_429=10                        HubSpot 429s tolerated per window (they are retried)
# It reads the journal of propart@*, propart-worker and propart-migrate (the apps log JSON lines to
# stdout); without journald, set LOG_GLOB='/opt/propart/logs/*/propart.log' to read the files (then the
# whole current files are read and a state file remembers what was already reported).
set -euo pipefail
[[ -f /etc/propart/log-alert.env ]] && . /etc/propart/log-alert.env

SINCE="${SINCE:-5 min ago}"
MAX_429="${MAX_429:-10}"
STATE="${STATE:-/var/lib/propart-log-alert.state}"

if [[ -n "${LOG_GLOB:-}" ]]; then
  # shellcheck disable=SC2086
  lines=$(cat $LOG_GLOB 2>/dev/null || true)
  seen=$(cat "$STATE" 2>/dev/null || echo 0)
  total=$(printf '%s\n' "$lines" | wc -l)
  (( total < seen )) && seen=0   # rotated
  lines=$(printf '%s\n' "$lines" | tail -n +"$((seen + 1))")
  echo "$total" > "$STATE"
else
  lines=$(journalctl -u 'propart@*' -u propart-worker -u propart-migrate --since "$SINCE" -o cat --no-pager 2>/dev/null || true)
fi

errors=$(printf '%s\n' "$lines" | grep -F '"level":"error"' || true)
n_errors=$(printf '%s' "$errors" | grep -c . || true)
n_429=$(printf '%s\n' "$lines" | grep -cF '"event":"hubspot_429"' || true)

(( n_errors == 0 && n_429 <= MAX_429 )) && exit 0

host=$(hostname)
text="ProPart on $host: $n_errors error line(s), $n_429 HubSpot 429(s) since $SINCE."
sample=$(printf '%s\n' "$errors" | tail -n 5 | cut -c1-400)
if [[ -n "${ALERT_WEBHOOK:-}" ]]; then
  payload=$(printf '%s\n\n%s' "$text" "$sample" | python3 -c 'import json,sys; print(json.dumps({"text": sys.stdin.read()}))')
  curl -fsS --max-time 10 -H 'content-type: application/json' -d "$payload" "$ALERT_WEBHOOK" >/dev/null
elif [[ -n "${ALERT_MAIL:-}" ]]; then
  printf '%s\n\nLast error lines:\n%s\n' "$text" "$sample" | mail -s "ProPart alert on $host" "$ALERT_MAIL"
else
  printf '%s\n%s\n' "$text" "$sample" >&2
  exit 1
fi
