#!/usr/bin/env bash
# Logins per second of the identity service, and its CPU per login, against
# the running stack (`make up`): wrk (Debian package `wrk`) posts the demo
# customer's login over and over. A login is bounded by Argon2id by design
# (m=19 MiB, t=2, p=1: the point of the hash is that guessing is slow), so
# this measures the hash on this machine more than the service around it.
# Each login succeeds, so the throttle (which counts failures) stays out of
# it.
#
#   bench/logins.sh
#   CONNECTIONS=8 DURATION=20s bench/logins.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IDENTITY=${IDENTITY:-http://127.0.0.1:${QSR_IDENTITY_PORT:-8084}}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-4}
DURATION=${DURATION:-20s}
ACCOUNTS=${ACCOUNTS:-$ROOT/.stack/accounts.env}

die() { echo "logins: $*" >&2; exit 1; }

command -v wrk >/dev/null || die "wrk is missing: apt-get install -y wrk"
[ -f "$ACCOUNTS" ] || die "no $ACCOUNTS: start the stack with 'make up'"
# shellcheck source=/dev/null
. "$ACCOUNTS"
curl -fsS -o /dev/null "$IDENTITY/readyz" || die "identity does not answer at $IDENTITY"
pid=$(cat "$ROOT/.stack/pids/identity.pid" 2>/dev/null || true)

script=$(mktemp --suffix=.lua)
trap 'rm -f "$script"' EXIT
cat >"$script" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email":"$QSR_DEMO_CUSTOMER_EMAIL","password":"$QSR_DEMO_CUSTOMER_PASSWORD"}'
LUA

cpu_of() {
  if [ -z "$1" ] || [ ! -r "/proc/$1/stat" ]; then echo 0; return; fi
  awk '{sub(/.*\) /, ""); printf "%.2f", ($12 + $13) / 100}' "/proc/$1/stat"
}

echo "logins: $(date -u +%FT%TZ), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB;" \
  "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency POST /v1/auth/login"
before=$(cpu_of "$pid")
out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$script" "$IDENTITY/v1/auth/login")
after=$(cpu_of "$pid")
echo "$out"
if echo "$out" | grep -q "Non-2xx"; then die "some logins were refused: see above"; fi
requests=$(echo "$out" | awk '/requests in/ {print $1}')
seconds=$(echo "$out" | awk '/requests in/ {print $4 + 0}')
awk -v b="$before" -v a="$after" -v n="$requests" -v d="$seconds" 'BEGIN {
  printf "identity: %.1f logins/s; %.1f CPU s in %s s, %.1f ms of CPU per login\n",
    n / d, a - b, d, 1e3 * (a - b) / n }'
