#!/usr/bin/env bash
# The local stack: a real Apache Kafka broker (KRaft) and a project-local
# PostgreSQL cluster on loopback, the four services, and the demo data
# (seeded by `loadgen demo`, bench/src/demo/). The Makefile calls this;
# `stack/stack.sh help` lists the commands and the ports' variables.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=$(realpath -m "${QSR_STACK_DIR:-$ROOT/.stack}")
LOGS=$STATE/logs
PIDS=$STATE/pids
KAFKA_HOME=$ROOT/stack/kafka
KAFKA_LIB=$KAFKA_HOME/lib
KAFKA_DATA=$STATE/kafka/data
KAFKA_PORT=${QSR_KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${QSR_KAFKA_CONTROLLER_PORT:-9093}
KAFKA_HEAP=${QSR_KAFKA_HEAP:--Xms256m -Xmx1g}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_PORT=${QSR_PG_PORT:-55432}
# The cluster's directory. Postgres runs as the `postgres` user, who cannot
# enter a clone under a mode-700 directory such as /root; there pg_up puts the
# cluster in postgres's home instead and leaves a symbolic link here.
PG_LINK=$STATE/pg
PG_DIR=$PG_LINK
[ -L "$PG_LINK" ] && PG_DIR=$(readlink "$PG_LINK")
PG_DATA=$PG_DIR/data
# Where such clusters go: qsr-<hash of QSR_STACK_DIR>, each with the stack
# directory it belongs to in a file `origin`.
PG_ELSEWHERE=${QSR_PG_ELSEWHERE:-$(getent passwd postgres 2>/dev/null | cut -d: -f6 || true)}
PG_DB=qsr
BROKERS=127.0.0.1:$KAFKA_PORT
LOCAL_DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/$PG_DB
# A Postgres server of the user's, used instead of the project-local cluster.
EXTERNAL_DATABASE_URL=${DATABASE_URL:-}
# Every service's port on 127.0.0.1; the defaults are the services' own.
COMMAND_API_PORT=${QSR_COMMAND_API_PORT:-8080}
QUERY_API_PORT=${QSR_QUERY_API_PORT:-8081}
POS_BRIDGE_PORT=${QSR_POS_BRIDGE_PORT:-8082}
PROJECTOR_PORT=${QSR_PROJECTOR_PORT:-8083}
# The demo printer (`pos-bridge print-sink`), the demo store's kitchen.
PRINT_SINK_PORT=${QSR_PRINT_SINK_PORT:-9100}
COMMAND_API=http://127.0.0.1:$COMMAND_API_PORT
QUERY_API=http://127.0.0.1:$QUERY_API_PORT
POS_BRIDGE=http://127.0.0.1:$POS_BRIDGE_PORT
PROJECTOR=http://127.0.0.1:$PROJECTOR_PORT
PRINT_SINK=127.0.0.1:$PRINT_SINK_PORT
SERVICES=(projector command-api query-api pos-bridge print-sink)
READY_TIMEOUT=${QSR_READY_TIMEOUT:-90}
# The contract fuzz's schemathesis (PyPI), pinned, in a project-local virtualenv.
SCHEMATHESIS_VERSION=4.32.5
VENV=$STATE/venv

# Previous runs' logs kept beside each log (NAME.log.1 is the last run's).
LOG_GENERATIONS=3

log() { printf '[stack] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
  cat <<EOF
Usage: stack/stack.sh COMMAND

Commands:
  up            start Kafka, Postgres, the services and the demo data in the background
  down          stop everything 'up' or 'run' started
  run           like 'up', in the foreground; Ctrl-C stops everything it started
  infra-up      start only Kafka and Postgres
  infra-down    stop only Kafka and Postgres
  test [ARGS]   run 'cargo test ARGS', starting Kafka and Postgres first if they are
                not running (and stopping them again afterwards); the contract fuzz
                finds schemathesis through QSR_SCHEMATHESIS
  bench [ARGS]  run the load generator (bench/, 'loadgen --help') against the
                local stack, starting it first if needed
  status        say what is running
  logs [-f]     show (or follow) the logs in $LOGS
  deps          install what this machine lacks (Debian packages, Rust components,
                schemathesis $SCHEMATHESIS_VERSION in $VENV) and fetch the Kafka jars
                with Maven (done by 'up' when missing)

Environment:
  DATABASE_URL          use this Postgres server instead of the project-local cluster
  QSR_KAFKA_PORT        broker port (default 9092; the controller uses QSR_KAFKA_CONTROLLER_PORT, 9093)
  QSR_PG_PORT           port of the project-local Postgres (default 55432)
  QSR_COMMAND_API_PORT  command-api's port (default 8080)
  QSR_QUERY_API_PORT    query-api's port (default 8081)
  QSR_POS_BRIDGE_PORT   pos-bridge's port (default 8082)
  QSR_PROJECTOR_PORT    the projector's port (default 8083)
  QSR_PRINT_SINK_PORT   the demo printer's port, where the demo store's tickets go (default 9100)
  QSR_STACK_DIR         where data, logs and pid files live (default .stack)
Every service listens on 127.0.0.1; 'bench' finds command-api by the same port.
EOF
}

# ---------------------------------------------------------------------------
# Tools

ensure_tools() {
  local missing=()
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || missing+=(maven)
  command -v kcat >/dev/null || missing+=(kcat)
  command -v curl >/dev/null || missing+=(curl)
  command -v psql >/dev/null || missing+=(postgresql-client-15)
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
  if [ -z "$EXTERNAL_DATABASE_URL" ] && [ ! -x "$PG_BIN/initdb" ]; then missing+=(postgresql-15); fi
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    die "missing packages: ${missing[*]} (install them with apt-get, or run as root)"
  fi
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_rust() {
  command -v cargo >/dev/null || die "cargo is missing: install Rust with rustup"
  cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
  cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
}

# A clean test build of the workspace takes about 3 GB (target/debug), the
# release build of the services about 2 GB more, and a CI run once failed
# half-way with a full disk: say so before it happens.
check_disk() {
  local free_kb
  free_kb=$(df -Pk "$ROOT" | awk 'NR == 2 { print $4 }')
  if [ "${free_kb:-0}" -lt $((5 * 1024 * 1024)) ]; then
    log "warning: only $((free_kb / 1024)) MB free on $(df -P "$ROOT" | awk 'NR == 2 { print $6 }'); a clean build needs about 5 GB"
  fi
}

# schemathesis for the contract fuzz (e2e/tests/system/fuzz.rs), from PyPI.
ensure_schemathesis() {
  local st=$VENV/bin/st
  if [ -x "$st" ] && [ "$("$st" --version 2>/dev/null)" = "st, version $SCHEMATHESIS_VERSION" ]; then return 0; fi
  log "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
}

fetch_kafka() {
  local marker=$KAFKA_LIB/.fetched
  if [ -f "$marker" ] && [ "$marker" -nt "$KAFKA_HOME/pom.xml" ]; then return 0; fi
  log "fetching Apache Kafka from Maven Central (stack/kafka/pom.xml)"
  rm -rf "$KAFKA_LIB"
  mvn -q -B -f "$KAFKA_HOME/pom.xml" dependency:copy-dependencies
  touch "$marker"
}

# ---------------------------------------------------------------------------
# Processes: each has a pid file; a pid only counts if its command line still
# names what we started (pids are reused after a crash).

pid_of() {
  local name=$1 pid
  [ -f "$PIDS/$name.pid" ] || return 1
  pid=$(cat "$PIDS/$name.pid")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$2" || return 1
  echo "$pid"
}

# stop_pid NAME PID: SIGTERM, then SIGKILL after a grace period.
stop_pid() {
  local name=$1 pid=$2
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || { log "$name stopped"; return 0; }
    sleep 0.1
  done
  log "$name did not stop within 30 s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

# wait_until DESCRIPTION SECONDS COMMAND...: polls COMMAND until it succeeds.
wait_until() {
  local what=$1 seconds=$2 deadline
  shift 2
  deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
  log "$what is ready"
}

# rotate_log FILE: keeps the last runs' logs as FILE.1 (the last) to
# FILE.$LOG_GENERATIONS, so a restart after a crash does not lose its evidence.
rotate_log() {
  local file=$1 n
  [ -s "$file" ] || return 0
  for n in $(seq $((LOG_GENERATIONS - 1)) -1 1); do
    [ -f "$file.$n" ] && mv -f "$file.$n" "$file.$((n + 1))"
  done
  mv -f "$file" "$file.1"
}

# ---------------------------------------------------------------------------
# Kafka

kafka_pid() { pid_of kafka 'kafka.Kafka'; }


# KAFKA_HEAP is several options: split on purpose.
# shellcheck disable=SC2086
kafka_java() { java $KAFKA_HEAP -Dlog4j2.configurationFile="$KAFKA_HOME/log4j2.properties" -cp "$KAFKA_LIB/*" "$@"; }

kafka_up() {
  if kafka_pid >/dev/null; then
    wait_until "Kafka ($BROKERS)" "$READY_TIMEOUT" kafka_metadata || die "Kafka runs but does not answer; see $LOGS/kafka.log"
    return 0
  fi
  fetch_kafka
  mkdir -p "$KAFKA_DATA" "$LOGS" "$PIDS"
  rotate_log "$LOGS/kafka.log"
  local props=$STATE/kafka/server.properties
  sed -e "s#@DATA_DIR@#$KAFKA_DATA#" -e "s#@BROKER_PORT@#$KAFKA_PORT#" \
    -e "s#@CONTROLLER_PORT@#$KAFKA_CONTROLLER_PORT#" "$KAFKA_HOME/server.properties.in" >"$props"
  if [ ! -f "$KAFKA_DATA/meta.properties" ]; then
    local cluster_id
    cluster_id=$(kafka_java kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
    log "formatting Kafka storage in $KAFKA_DATA (cluster $cluster_id)"
    kafka_java kafka.tools.StorageTool format -t "$cluster_id" -c "$props" >>"$LOGS/kafka.log" 2>&1 \
      || die "formatting Kafka storage failed; see $LOGS/kafka.log"
  fi
  log "starting Kafka on $BROKERS"
  # setsid: its own process group, so a Ctrl-C reaches only stack.sh, which
  # then stops everything in order.
  # shellcheck disable=SC2016 # expanded by the inner bash
  KAFKA_HEAP=$KAFKA_HEAP setsid bash -c 'exec java $KAFKA_HEAP -XX:+UseG1GC \
      -Dlog4j2.configurationFile="$0/log4j2.properties" -cp "$0/lib/*" kafka.Kafka "$1"' \
    "$KAFKA_HOME" "$props" >>"$LOGS/kafka.log" 2>&1 </dev/null &
  echo $! >"$PIDS/kafka.pid"
  wait_until "Kafka ($BROKERS)" "$READY_TIMEOUT" kafka_metadata_or_dead \
    || { tail -n 30 "$LOGS/kafka.log" >&2; die "Kafka did not become ready; see $LOGS/kafka.log"; }
  kafka_pid >/dev/null || { tail -n 30 "$LOGS/kafka.log" >&2; die "Kafka exited; see $LOGS/kafka.log"; }
}

# A metadata request that lists the broker: the readiness check.
kafka_metadata() { kcat -b "$BROKERS" -L -m 2 2>/dev/null | grep -q 'broker 1 at'; }
kafka_metadata_or_dead() { kafka_pid >/dev/null || return 0; kafka_metadata; }

kafka_down() {
  local pid
  if pid=$(kafka_pid); then log "stopping Kafka"; stop_pid kafka "$pid"; fi
  rm -f "$PIDS/kafka.pid"
}

# ---------------------------------------------------------------------------
# Postgres

# Runs a command as the `postgres` user when we are root (from /, which that
# user can enter whatever the current directory is).
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

pg_url() { echo "${EXTERNAL_DATABASE_URL:-$LOCAL_DATABASE_URL}"; }
pg_admin_url() { echo "postgres://postgres@127.0.0.1:$PG_PORT/postgres"; }
pg_query_ok() { psql "$1" -Atqc 'select 1' 2>/dev/null | grep -qx 1; }
# The postmaster named in postmaster.pid is alive. Not `pg_ctl status`: it counts
# a killed postmaster that is not yet reaped (a zombie) as running.
pg_local_running() {
  local pid
  [ -f "$PG_DATA/postmaster.pid" ] || return 1
  pid=$(head -n 1 "$PG_DATA/postmaster.pid")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q postgres
}

pg_up() {
  if [ -n "$EXTERNAL_DATABASE_URL" ]; then
    wait_until "Postgres (DATABASE_URL)" "$READY_TIMEOUT" pg_query_ok "$EXTERNAL_DATABASE_URL" \
      || die "DATABASE_URL does not answer a query"
    return 0
  fi
  mkdir -p "$LOGS"
  pg_place
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    log "creating a Postgres cluster in $PG_DATA"
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if ! pg_local_running; then
    # The postmaster that wrote this lock file is dead (perhaps killed and not
    # yet reaped, which postgres itself would mistake for alive).
    rm -f "$PG_DATA/postmaster.pid"
    rotate_log "$PG_DIR/postgres.log"
    log "starting Postgres on 127.0.0.1:$PG_PORT"
    # After a kill -9 the old server's children may hold its shared memory for a
    # moment; the new server then exits at once, and we try again.
    local deadline=$((SECONDS + 60))
    until as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DIR/postgres.log" -s -w -t 60 \
        -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=300" start; do
      [ $SECONDS -lt $deadline ] || { tail -n 20 "$PG_DIR/postgres.log" >&2; die "Postgres did not start"; }
      log "Postgres did not start; trying again"
      sleep 1
    done
  fi
  wait_until "Postgres (127.0.0.1:$PG_PORT)" "$READY_TIMEOUT" pg_query_ok "$(pg_admin_url)" \
    || { tail -n 20 "$PG_DIR/postgres.log" >&2; die "Postgres does not answer a query"; }
  if ! psql "$(pg_admin_url)" -Atqc "select 1 from pg_database where datname = '$PG_DB'" | grep -q 1; then
    psql "$(pg_admin_url)" -qc "create database $PG_DB" >/dev/null
    log "created database $PG_DB"
  fi
}

# Makes the cluster's directory, owned by `postgres` when we are root. If the
# postgres user cannot enter it (the clone is under a mode-700 directory such
# as /root), the cluster goes to $PG_ELSEWHERE/qsr-<hash> with a link at
# .stack/pg; deleting .stack still starts from nothing, as that directory is
# then an orphan, removed here the next time.
pg_place() {
  [ -L "$PG_LINK" ] && return 0
  mkdir -p "$PG_DIR"
  [ "$(id -u)" -eq 0 ] || return 0
  chown postgres: "$PG_DIR"
  if as_pg test -w "$PG_DIR" -a -x "$PG_DIR"; then return 0; fi
  [ -f "$PG_DIR/data/PG_VERSION" ] && die "the postgres user cannot enter $PG_DIR, which holds a cluster"
  if [ -z "$PG_ELSEWHERE" ] || [ ! -d "$PG_ELSEWHERE" ]; then
    die "the postgres user cannot enter $PG_DIR and has no home directory"
  fi
  pg_remove_orphans
  local hash elsewhere
  hash=$(printf '%s' "$STATE" | sha256sum | cut -c1-12)
  elsewhere=$PG_ELSEWHERE/qsr-$hash
  log "the postgres user cannot enter $PG_DIR; the cluster goes to $elsewhere (linked as $PG_LINK)"
  [ -e "$elsewhere" ] && die "$elsewhere is in the way (the running cluster of a deleted $STATE?); stop or remove it"
  rm -rf "$PG_DIR"
  mkdir -p "$elsewhere"
  echo "$STATE" >"$elsewhere/origin"
  chown postgres: "$elsewhere"
  ln -s "$elsewhere" "$PG_LINK"
  PG_DIR=$elsewhere
  PG_DATA=$PG_DIR/data
}

# Clusters that pg_place put elsewhere for a stack directory that is gone or
# links elsewhere now (a deleted .stack or clone), and that do not run.
pg_remove_orphans() {
  local dir origin pid
  for dir in "$PG_ELSEWHERE"/qsr-*; do
    [ -f "$dir/origin" ] || continue
    origin=$(cat "$dir/origin")
    [ "$(readlink "$origin/pg" 2>/dev/null)" = "$dir" ] && continue
    pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && continue
    log "removing $dir, the cluster of $origin, which is gone"
    rm -rf "$dir"
  done
}

pg_down() {
  [ -n "$EXTERNAL_DATABASE_URL" ] && return 0
  if pg_local_running; then
    log "stopping Postgres"
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -s -m fast stop || true
  fi
}

infra_running() {
  kafka_pid >/dev/null || return 1
  if [ -z "$EXTERNAL_DATABASE_URL" ]; then pg_local_running || return 1; fi
}

infra_up() {
  ensure_tools
  pg_up
  kafka_up
}

infra_down() {
  kafka_down
  pg_down
}

# ---------------------------------------------------------------------------
# Services

# The services, and `loadgen` for the demo data.
build_services() {
  log "building the services (cargo build --release)"
  (cd "$ROOT" && cargo build --release --quiet -p command-api -p projector -p query-api -p pos-bridge -p bench)
}

service_pid() {
  local name=$1 marker=$1
  [ "$name" = print-sink ] && marker='pos-bridge print-sink'
  pid_of "$name" "$marker"
}

start_service() {
  local name=$1
  shift
  if service_pid "$name" >/dev/null; then return 0; fi
  mkdir -p "$LOGS" "$PIDS"
  rotate_log "$LOGS/$name.log"
  QSR_KAFKA_BROKERS=$BROKERS DATABASE_URL=$(pg_url) RUST_LOG=${RUST_LOG:-info} \
    setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$PIDS/$name.pid"
}

http_ok() { curl -fsS -o /dev/null "$1" 2>/dev/null; }

services_up() {
  build_services
  local bin=$ROOT/target/release
  start_service print-sink env QSR_PRINT_SINK_ADDR="$PRINT_SINK" "$bin/pos-bridge" print-sink
  start_service projector env QSR_PROJECTOR_ADDR="127.0.0.1:$PROJECTOR_PORT" "$bin/projector"
  start_service command-api env QSR_COMMAND_API_ADDR="127.0.0.1:$COMMAND_API_PORT" "$bin/command-api"
  start_service query-api env QSR_QUERY_API_ADDR="127.0.0.1:$QUERY_API_PORT" "$bin/query-api"
  # The demo store's kitchen settings, with this stack's ports, and a pos
  # token for the bridge's feedback endpoints (the settings file leaves
  # secrets to the environment).
  start_service pos-bridge env QSR_POS_BRIDGE_ADDR="127.0.0.1:$POS_BRIDGE_PORT" \
    QSR_POS_BRIDGE_CONFIG="$ROOT/stack/demo/pos-bridge.toml" \
    QSR_BRIDGE_COMMAND_API_URL="$COMMAND_API" \
    QSR_BRIDGE_STORE_DEMO_DOWNTOWN_PRINTERS="$PRINT_SINK" \
    QSR_BRIDGE_STORE_DEMO_DOWNTOWN_POS_TOKEN="$(mint --role pos --sub demo-bridge --store demo-downtown)" \
    "$bin/pos-bridge"
  local svc url
  for svc in "projector $PROJECTOR" "command-api $COMMAND_API" \
             "query-api $QUERY_API" "pos-bridge $POS_BRIDGE"; do
    url=${svc#* }
    wait_until "${svc%% *}" "$READY_TIMEOUT" http_ok "$url/readyz" \
      || { tail -n 20 "$LOGS/${svc%% *}.log" >&2; die "${svc%% *} did not become ready; see $LOGS/${svc%% *}.log"; }
  done
}

services_down() {
  local name pid
  # Producers first, so nothing new arrives while the consumers drain.
  for name in command-api pos-bridge query-api projector print-sink; do
    if pid=$(service_pid "$name"); then stop_pid "$name" "$pid"; fi
    rm -f "$PIDS/$name.pid"
  done
}

# Mints a development token with the built command-api (`command-api token`).
mint() {
  "$ROOT/target/release/command-api" token --ttl-hours 720 "$@"
}

# Demo tokens for each role, written to .stack/tokens.env for scripts.
mint_demo_tokens() {
  CUSTOMER_TOKEN=$(mint --role customer --sub demo-customer)
  STAFF_TOKEN=$(mint --role staff --sub demo-staff --store demo-downtown)
  POS_TOKEN=$(mint --role pos --sub demo-pos --store demo-downtown)
  ADMIN_TOKEN=$(mint --role admin --sub demo-admin)
  cat >"$STATE/tokens.env" <<TOKENS
CUSTOMER_TOKEN=$CUSTOMER_TOKEN
STAFF_TOKEN=$STAFF_TOKEN
POS_TOKEN=$POS_TOKEN
ADMIN_TOKEN=$ADMIN_TOKEN
TOKENS
}

# The demo store, its menu and three orders, through the API; safe to repeat.
seed_demo() {
  "$ROOT/target/release/loadgen" --url "$COMMAND_API" demo --query-url "$QUERY_API" \
    || die "seeding the demo data failed (loadgen demo); see $LOGS"
}

# Where to look; README.md says the rest.
banner() {
  cat <<EOF

  QSR is up: command-api $COMMAND_API, query-api $QUERY_API,
  pos-bridge $POS_BRIDGE, projector $PROJECTOR, demo printer $PRINT_SINK,
  Kafka $BROKERS, Postgres $(pg_where).
  Tokens for each role: $STATE/tokens.env.  Logs: $LOGS (make logs).
  Stop everything with 'make down'. A first order and the rest: README.md.

EOF
}

# Where Postgres is, without a password that DATABASE_URL may hold.
pg_where() {
  if [ -n "$EXTERNAL_DATABASE_URL" ]; then echo "DATABASE_URL"; else echo "$LOCAL_DATABASE_URL"; fi
}

# ---------------------------------------------------------------------------
# Commands

cmd_up() {
  infra_up
  services_up
  mint_demo_tokens
  seed_demo
  banner
}

cmd_down() {
  services_down
  infra_down
}

cmd_run() {
  local had_kafka=0 had_pg=0
  kafka_pid >/dev/null && had_kafka=1
  pg_local_running && had_pg=1
  cleanup() {
    trap - INT TERM EXIT
    log "stopping"
    services_down
    [ "$had_kafka" -eq 1 ] || kafka_down
    [ "$had_pg" -eq 1 ] || pg_down
    exit 0
  }
  trap cleanup INT TERM EXIT
  cmd_up
  log "running; press Ctrl-C to stop"
  # Wake up if any service dies, so a crash is not hidden behind a quiet terminal.
  while true; do
    local name
    for name in projector command-api query-api pos-bridge print-sink; do
      service_pid "$name" >/dev/null || { log "$name exited; see $LOGS/$name.log"; exit 1; }
    done
    kafka_pid >/dev/null || { log "Kafka exited; see $LOGS/kafka.log"; exit 1; }
    sleep 2 &
    wait $! || true
  done
}

cmd_test() {
  local started=0 rc=0
  if ! infra_running; then started=1; fi
  ensure_schemathesis
  infra_up
  (cd "$ROOT" && QSR_KAFKA_BROKERS=$BROKERS QSR_TEST_DATABASE_URL=$(pg_url) QSR_SCHEMATHESIS=$VENV/bin/st \
    cargo test --workspace "$@") || rc=$?
  if [ $started -eq 1 ]; then infra_down; fi
  return $rc
}

cmd_bench() {
  if ! curl -fsS -o /dev/null "$COMMAND_API/readyz" 2>/dev/null; then cmd_up; fi
  (cd "$ROOT" && cargo build --release --quiet -p bench)
  log "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; Kafka, Postgres and the services on this box"
  "$ROOT/target/release/loadgen" --url "$COMMAND_API" "$@"
}

cmd_status() {
  local name pid
  if pid=$(kafka_pid); then echo "kafka        running (pid $pid) on $BROKERS"; else echo "kafka        stopped"; fi
  if [ -n "$EXTERNAL_DATABASE_URL" ]; then echo "postgres     external (DATABASE_URL)";
  elif pg_local_running; then echo "postgres     running on 127.0.0.1:$PG_PORT"; else echo "postgres     stopped"; fi
  for name in "${SERVICES[@]}"; do
    if pid=$(service_pid "$name"); then printf '%-12s running (pid %s)\n' "$name" "$pid"; else printf '%-12s stopped\n' "$name"; fi
  done
}

cmd_logs() {
  local files=()
  shopt -s nullglob
  files=("$LOGS"/*.log "$PG_DIR"/postgres.log)
  [ ${#files[@]} -gt 0 ] || die "no logs yet in $LOGS"
  if [ "${1:-}" = -f ]; then tail -n 20 -F "${files[@]}"; else tail -n 30 "${files[@]}"; fi
}

case "${1:-help}" in
  up) cmd_up ;;
  down) cmd_down ;;
  run) cmd_run ;;
  infra-up) infra_up ;;
  infra-down) infra_down ;;
  test) shift; cmd_test "$@" ;;
  bench) shift; cmd_bench "$@" ;;
  status) cmd_status ;;
  logs) shift; cmd_logs "$@" ;;
  deps) ensure_tools; ensure_rust; ensure_schemathesis; fetch_kafka; check_disk ;;
  help | -h | --help) usage ;;
  *) usage >&2; exit 2 ;;
esac
