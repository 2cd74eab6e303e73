#!/usr/bin/env bash
# CPU per placed order, per process: runs `make bench` (the load generator
# against the local stack, which must be up) and reads each process's user and
# system time from /proc before and after. On a shared 2-core machine this is
# steadier than orders/s. Usage: bench/cpu-per-order.sh [loadgen args]
# (default: --clients 256 --duration 20).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ARGS=("$@")
[ ${#ARGS[@]} -gt 0 ] || ARGS=(--clients 256 --duration 20)
TICK=$(getconf CLK_TCK)

# The processes to account, as "name pid pid ...".
processes() {
  local name
  for name in identity command-api projector query-api pos-bridge; do
    echo "$name $(pgrep -f "target/release/$name( |$)" | tr '\n' ' ')"
  done
  echo "kafka $(pgrep -f 'kafka.Kafka' | tr '\n' ' ')"
  echo "postgres $(pgrep -u postgres | tr '\n' ' ')"
}

# Total CPU ticks (user + system) of the given pids, children that exited
# and were waited for included.
ticks() {
  local total=0 pid fields
  for pid in "$@"; do
    fields=$(cut -d')' -f2- "/proc/$pid/stat" 2>/dev/null) || continue
    # After the command name: field 14 (utime) is the 12th, 15 (stime) the
    # 13th, 16-17 (cutime, cstime) the 14th-15th.
    total=$((total + $(awk '{print $12 + $13 + $14 + $15}' <<<"$fields")))
  done
  echo "$total"
}

curl -fsS -o /dev/null "http://127.0.0.1:${QSR_COMMAND_API_PORT:-8080}/readyz" ||
  { echo "the stack is not up: run 'make up' first" >&2; exit 1; }
declare -A before
while read -r name pids; do
  # shellcheck disable=SC2086
  before[$name]=$(ticks $pids)
done < <(processes)
out=$(mktemp)
"$ROOT/stack/stack.sh" bench "${ARGS[@]}" | tee "$out"
orders=$(awk '/^placed:/ {print $2}' "$out")
rm -f "$out"
[ -n "$orders" ] && [ "$orders" -gt 0 ] || { echo "no orders placed" >&2; exit 1; }
echo
echo "CPU per placed order ($orders orders; $(nproc) cores):"
sum=0
while read -r name pids; do
  # shellcheck disable=SC2086
  after=$(ticks $pids)
  used=$((after - ${before[$name]:-0}))
  us=$((used * 1000000 / TICK / orders))
  sum=$((sum + us))
  printf '  %-12s %6d µs\n' "$name" "$us"
done < <(processes)
printf '  %-12s %6d µs\n' "total" "$sum"
