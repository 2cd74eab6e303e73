#!/usr/bin/env bash
# Read throughput of query-api: `GET /v1/stores/{id}/menu` and
# `GET /v1/orders/{id}`, measured with wrk (Debian package `wrk`) against the
# running stack (`make up`). Places one order first, so there is one to read,
# and waits until the read model shows it. Each route gets a short warm-up run,
# then the measured run with wrk's latency distribution.
#
#   bench/read-throughput.sh
#   CONNECTIONS=128 DURATION=30s bench/read-throughput.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COMMAND_API=${COMMAND_API:-http://127.0.0.1:8080}
QUERY_API=${QUERY_API:-http://127.0.0.1:8081}
STORE=${STORE:-demo-downtown}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-3s}

die() { echo "read-throughput: $*" >&2; exit 1; }

command -v wrk >/dev/null || die "wrk is missing: apt-get install -y wrk"
curl -fsS -o /dev/null "$QUERY_API/readyz" || die "query-api does not answer at $QUERY_API"
# The demo accounts' tokens, from the identity service (15 minutes: enough).
CUSTOMER_TOKEN=$("$ROOT/stack/stack.sh" token customer) || die "no customer token; is the stack up (make up)?"
ADMIN_TOKEN=$("$ROOT/stack/stack.sh" token admin) || die "no admin token; is the stack up (make up)?"

# An order of the store's menu (the demo menu's ids); the server assigns its id.
body=$(mktemp)
trap 'rm -f "$body"' EXIT
status=$(curl -sS -o "$body" -w '%{http_code}' -X POST "$COMMAND_API/v1/orders" \
  -H "authorization: Bearer $CUSTOMER_TOKEN" -H 'content-type: application/json' \
  -d "{\"store_id\":\"$STORE\",\"fulfillment\":{\"type\":\"pickup\",\"pickup_at\":null},
       \"lines\":[{\"item_id\":\"classic-burger\",\"quantity\":2,\"modifiers\":[\"cheddar\"]},
                  {\"item_id\":\"fries\",\"quantity\":1,\"modifiers\":[]}],
       \"payment\":{\"token\":\"tok_visa\"}}")
[ "$status" = 201 ] || die "placing an order at $STORE answered $status: $(cat "$body")"
order_id=$(sed -E 's/.*"order_id":"([^"]+)".*/\1/' "$body")
code=000
for _ in $(seq 1 100); do
  code=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ADMIN_TOKEN" \
    "$QUERY_API/v1/orders/$order_id")
  [ "$code" = 200 ] && break
  sleep 0.1
done
[ "$code" = 200 ] || die "GET /v1/orders/$order_id answered $code after 10 s"

echo "read-throughput: $(date -u +%FT%TZ), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB;" \
  "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency (after a $WARMUP warm-up)"

# query-api's process, if the stack started it: its CPU time per request
# tells what a route costs whatever else the machine is doing.
QUERY_API_PID=${QUERY_API_PID:-$(cat "$ROOT/.stack/pids/query-api.pid" 2>/dev/null || true)}

# CPU seconds (user and system) process $1 has used so far.
cpu_of() {
  [ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 0
  awk '{sub(/.*\) /, ""); printf "%.2f", ($12 + $13) / 100}' "/proc/$1/stat"
}

# bench NAME URL [wrk options...]
bench() {
  local name=$1 url=$2 out before after requests seconds
  shift 2
  echo
  echo "== $name: $url"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" "$@" "$url" >/dev/null
  before=$(cpu_of "$QUERY_API_PID")
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" "$url")
  after=$(cpu_of "$QUERY_API_PID")
  echo "$out"
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  seconds=$(echo "$out" | awk '/requests in/ {print $4 + 0}')
  if [ -n "$before" ] && [ -n "$after" ] && [ -n "$requests" ] && [ "$requests" -gt 0 ]; then
    awk -v b="$before" -v a="$after" -v n="$requests" -v d="$seconds" 'BEGIN {
      printf "query-api CPU: %.1f s in %s s (%.0f %% of one core), %.0f us per request\n",
        a - b, d, 100 * (a - b) / d, 1e6 * (a - b) / n }'
  fi
}

bench "GET menu" "$QUERY_API/v1/stores/$STORE/menu"
bench "GET order" "$QUERY_API/v1/orders/$order_id" -H "Authorization: Bearer $ADMIN_TOKEN"
