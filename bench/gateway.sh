#!/usr/bin/env bash
# GET menu and GET order through the gateway and direct to query-api, side
# by side in one run, with the CPU the gateway (HAProxy) and query-api spent
# per request (from /proc), against the running stack. Start the stack with
# a read budget the load fits in, or the gateway answers 429 (which this
# script refuses to count):
#
#   QSR_GATEWAY_READ_BUDGET=100000000 make up && bench/gateway.sh
#   CONNECTIONS=128 DURATION=30s bench/gateway.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GATEWAY=${GATEWAY:-http://127.0.0.1:${QSR_GATEWAY_PORT:-8000}}
QUERY_API=${QUERY_API:-http://127.0.0.1:${QSR_QUERY_API_PORT:-8081}}
STORE=${STORE:-demo-downtown}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-15s}
WARMUP=${WARMUP:-3s}

die() { echo "gateway-bench: $*" >&2; exit 1; }

command -v wrk >/dev/null || die "wrk is missing: apt-get install -y wrk"
curl -fsS -o /dev/null "$GATEWAY/healthz" || die "the gateway does not answer at $GATEWAY (make up)"
ADMIN_TOKEN=$("$ROOT/stack/stack.sh" token admin) || die "no admin token; is the stack up?"
order_id=$(curl -fsS -H "authorization: Bearer $ADMIN_TOKEN" \
  "$QUERY_API/v1/stores/$STORE/orders?limit=1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["orders"][0]["order_id"])') \
  || die "no order of $STORE to read (the demo data makes some)"
STATE=${QSR_STACK_DIR:-$ROOT/.stack}
gateway_pid=$(cat "$STATE/pids/gateway.pid" 2>/dev/null || true)
query_pid=$(cat "$STATE/pids/query-api.pid" 2>/dev/null || true)

# CPU seconds of process $1 and its threads and children so far.
cpu_of() {
  if [ -z "$1" ] || [ ! -r "/proc/$1/stat" ]; then echo 0; return; fi
  local total=0 pid
  for pid in "$1" $(pgrep -P "$1" || true); do
    total=$(awk -v t="$total" '{sub(/.*\) /, ""); printf "%.2f", t + ($12 + $13) / 100}' "/proc/$pid/stat")
  done
  echo "$total"
}

echo "gateway-bench: $(date -u +%FT%TZ), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB;" \
  "wrk -t$THREADS -c$CONNECTIONS -d$DURATION (after a $WARMUP warm-up)"
printf '%-10s %-8s %12s %9s %9s %14s %14s\n' route via requests/s p50 p99 "gateway µs/req" "query-api µs/req"
for route in "menu /v1/stores/$STORE/menu" "order /v1/orders/$order_id"; do
  name=${route%% *} path=${route#* }
  for via in direct gateway; do
    base=$QUERY_API
    [ "$via" = gateway ] && base=$GATEWAY
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -H "Authorization: Bearer $ADMIN_TOKEN" "$base$path" >/dev/null
    g0=$(cpu_of "$gateway_pid") q0=$(cpu_of "$query_pid")
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $ADMIN_TOKEN" "$base$path")
    g1=$(cpu_of "$gateway_pid") q1=$(cpu_of "$query_pid")
    if echo "$out" | grep -q "Non-2xx"; then
      die "$via $name: some answers were not 2xx (over the gateway's read budget? see the top of this script)"
    fi
    requests=$(echo "$out" | awk '/requests in/ {print $1}')
    seconds=$(echo "$out" | awk '/requests in/ {print $4 + 0}')
    p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    awk -v r="$name" -v v="$via" -v n="$requests" -v d="$seconds" -v p50="$p50" -v p99="$p99" \
      -v g="$(awk -v a="$g1" -v b="$g0" 'BEGIN {print a - b}')" -v q="$(awk -v a="$q1" -v b="$q0" 'BEGIN {print a - b}')" \
      'BEGIN { printf "%-10s %-8s %12.0f %9s %9s %14.1f %14.1f\n", r, v, n / d, p50, p99, 1e6 * g / n, 1e6 * q / n }'
  done
done
