#!/usr/bin/env bash
# The local stack: a real Apache Kafka broker (KRaft), a project-local
# PostgreSQL cluster and a mail sink (SMTP, Debian's aiosmtpd) on loopback,
# the identity service and the four services that trust its tokens, and the
# demo accounts and data (seeded by `loadgen demo`, bench/src/demo/). The Makefile calls this;
# `stack/stack.sh help` lists the commands and the ports' variables.
# The demo's credential files are sourced from the stack directory.
# shellcheck disable=SC1090
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
# The identity service's own database on the same server: personal data
# lives only there.
PG_IDENTITY_DB=qsr_identity
BROKERS=127.0.0.1:$KAFKA_PORT
LOCAL_DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/$PG_DB
# A Postgres server of the user's, used instead of the project-local cluster.
EXTERNAL_DATABASE_URL=${DATABASE_URL:-}
# Every service's port on 127.0.0.1; the defaults are the services' own.
COMMAND_API_PORT=${QSR_COMMAND_API_PORT:-8080}
QUERY_API_PORT=${QSR_QUERY_API_PORT:-8081}
POS_BRIDGE_PORT=${QSR_POS_BRIDGE_PORT:-8082}
PROJECTOR_PORT=${QSR_PROJECTOR_PORT:-8083}
IDENTITY_PORT=${QSR_IDENTITY_PORT:-8084}
# The gateway (HAProxy, gateway/haproxy.cfg): the one address of the apps,
# and its metrics for operators.
GATEWAY_PORT=${QSR_GATEWAY_PORT:-8000}
GATEWAY_METRICS_PORT=${QSR_GATEWAY_METRICS_PORT:-8405}
# The mail sink: a stand-in for the mail relay a real deployment has. It
# speaks SMTP and writes each message it takes as a file to MAIL_DIR/new.
MAIL_PORT=${QSR_MAIL_PORT:-2525}
MAIL_DIR=$STATE/mail
# Debian's Python, which has the python3-aiosmtpd package (a python3 earlier
# on the PATH, such as pyenv's, may not).
MAIL_PYTHON=${QSR_MAIL_PYTHON:-/usr/bin/python3}
# The demo printer (`pos-bridge print-sink`), the demo store's kitchen.
PRINT_SINK_PORT=${QSR_PRINT_SINK_PORT:-9100}
COMMAND_API=http://127.0.0.1:$COMMAND_API_PORT
QUERY_API=http://127.0.0.1:$QUERY_API_PORT
POS_BRIDGE=http://127.0.0.1:$POS_BRIDGE_PORT
PROJECTOR=http://127.0.0.1:$PROJECTOR_PORT
IDENTITY=http://127.0.0.1:$IDENTITY_PORT
GATEWAY=http://127.0.0.1:$GATEWAY_PORT
PRINT_SINK=127.0.0.1:$PRINT_SINK_PORT
SERVICES=(identity projector command-api query-api pos-bridge print-sink gateway)
# The demo accounts' logins (generated once per stack directory) and the
# demo store's POS client credential, for scripts; mode 600.
ACCOUNTS=$STATE/accounts.env
POS_CLIENT=$STATE/pos-client.env
DEMO_STORE=demo-downtown
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
  up            start Kafka, Postgres, the mail sink, the services and the demo
                accounts and data in the background
  down          stop everything 'up' or 'run' started
  run           like 'up', in the foreground; Ctrl-C stops everything it started
  infra-up      start only Kafka, Postgres and the mail sink
  infra-down    stop only Kafka, Postgres and the mail sink
  gateway-check check gateway/haproxy.cfg with this stack's addresses (haproxy -c)
  token ROLE    print a 15-minute access token of the demo account of ROLE
                (customer, staff, admin; pos: the demo store's POS client),
                from the identity service of a running stack
  test [ARGS]   run 'cargo test ARGS', starting the infrastructure first if it is
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
  QSR_IDENTITY_PORT     the identity service's port (default 8084)
  QSR_GATEWAY_PORT      the gateway's port, the apps' one address (default 8000)
  QSR_GATEWAY_METRICS_PORT  the gateway's Prometheus metrics and stats page (default 8405)
  QSR_GATEWAY_LOGIN_BUDGET, QSR_GATEWAY_PLACING_BUDGET, QSR_GATEWAY_READ_BUDGET
                        requests per 10 s per client address at the gateway (30, 300, 5000)
  QSR_MAIL_PORT         the mail sink's SMTP port (default 2525); mails land in $MAIL_DIR/new
  QSR_IDENTITY_DATABASE_URL  with DATABASE_URL: identity's database (default: DATABASE_URL)
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
  "$MAIL_PYTHON" -c 'import aiosmtpd' >/dev/null 2>&1 || missing+=(python3-aiosmtpd)
  command -v haproxy >/dev/null || missing+=(haproxy)
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
  local db
  for db in "$PG_DB" "$PG_IDENTITY_DB"; do
    if ! psql "$(pg_admin_url)" -Atqc "select 1 from pg_database where datname = '$db'" | grep -q 1; then
      psql "$(pg_admin_url)" -qc "create database $db" >/dev/null
      log "created database $db"
    fi
  done
}

# The identity service's database: its own on the local cluster; with
# DATABASE_URL, QSR_IDENTITY_DATABASE_URL or else the same database.
identity_db_url() {
  if [ -n "$EXTERNAL_DATABASE_URL" ]; then echo "${QSR_IDENTITY_DATABASE_URL:-$EXTERNAL_DATABASE_URL}";
  else echo "postgres://postgres@127.0.0.1:$PG_PORT/$PG_IDENTITY_DB"; fi
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

# ---------------------------------------------------------------------------
# The mail sink

mail_pid() { pid_of mail-sink 'aiosmtpd'; }

# aiosmtpd's Mailbox handler delivers each message into a Maildir: a file
# per message in MAIL_DIR/new.
mail_up() {
  mail_pid >/dev/null && return 0
  mkdir -p "$MAIL_DIR"/{tmp,new,cur} "$LOGS" "$PIDS"
  rotate_log "$LOGS/mail-sink.log"
  log "starting the mail sink on 127.0.0.1:$MAIL_PORT (mails in $MAIL_DIR/new)"
  setsid "$MAIL_PYTHON" -m aiosmtpd -n -l "127.0.0.1:$MAIL_PORT" \
    -c aiosmtpd.handlers.Mailbox "$MAIL_DIR" >>"$LOGS/mail-sink.log" 2>&1 </dev/null &
  echo $! >"$PIDS/mail-sink.pid"
  wait_until "the mail sink (127.0.0.1:$MAIL_PORT)" "$READY_TIMEOUT" smtp_ok \
    || { tail -n 20 "$LOGS/mail-sink.log" >&2; die "the mail sink did not start; see $LOGS/mail-sink.log"; }
}

# The sink answers with its SMTP greeting.
smtp_ok() { mail_pid >/dev/null && timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$MAIL_PORT && head -c 3 <&3" | grep -q 220; }

mail_down() {
  local pid
  if pid=$(mail_pid); then stop_pid mail-sink "$pid"; fi
  rm -f "$PIDS/mail-sink.pid"
}

# ---------------------------------------------------------------------------

infra_running() {
  kafka_pid >/dev/null || return 1
  mail_pid >/dev/null || return 1
  if [ -z "$EXTERNAL_DATABASE_URL" ]; then pg_local_running || return 1; fi
}

infra_up() {
  ensure_tools
  pg_up
  kafka_up
  mail_up
}

infra_down() {
  mail_down
  kafka_down
  pg_down
}

# ---------------------------------------------------------------------------
# Services

# The services, and `loadgen` for the demo data.
build_services() {
  log "building the services (cargo build --release)"
  (cd "$ROOT" && cargo build --release --quiet -p identity -p command-api -p projector -p query-api -p pos-bridge -p bench)
}

service_pid() {
  local name=$1 marker=$1
  [ "$name" = print-sink ] && marker='pos-bridge print-sink'
  [ "$name" = gateway ] && marker='haproxy'
  pid_of "$name" "$marker"
}

# The gateway's settings: its addresses and the services', as
# gateway/haproxy.cfg reads them.
gateway_env() {
  echo QSR_GATEWAY_ADDR="127.0.0.1:$GATEWAY_PORT" QSR_GATEWAY_METRICS_ADDR="127.0.0.1:$GATEWAY_METRICS_PORT" \
    QSR_GATEWAY_COMMAND_API="127.0.0.1:$COMMAND_API_PORT" QSR_GATEWAY_QUERY_API="127.0.0.1:$QUERY_API_PORT" \
    QSR_GATEWAY_IDENTITY="127.0.0.1:$IDENTITY_PORT" QSR_GATEWAY_POS_BRIDGE="127.0.0.1:$POS_BRIDGE_PORT" \
    QSR_GATEWAY_CORS_ORIGINS="$ROOT/gateway/cors-origins.txt" \
    QSR_GATEWAY_LOGIN_BUDGET="${QSR_GATEWAY_LOGIN_BUDGET:-30}" \
    QSR_GATEWAY_PLACING_BUDGET="${QSR_GATEWAY_PLACING_BUDGET:-300}" \
    QSR_GATEWAY_READ_BUDGET="${QSR_GATEWAY_READ_BUDGET:-5000}"
}

# haproxy -c: the configuration is valid with this stack's addresses.
gateway_check() {
  # shellcheck disable=SC2046 # gateway_env prints NAME=value words
  env $(gateway_env) haproxy -c -q -f "$ROOT/gateway/haproxy.cfg"
}

# Every service trusts only the identity service's tokens: ES256, verified
# with the keys it publishes, for its issuer (the gateway's address, the
# public one) and the audience `qsr`.
start_service() {
  local name=$1
  shift
  if service_pid "$name" >/dev/null; then return 0; fi
  mkdir -p "$LOGS" "$PIDS"
  rotate_log "$LOGS/$name.log"
  QSR_KAFKA_BROKERS=$BROKERS DATABASE_URL=$(pg_url) RUST_LOG=${RUST_LOG:-info} \
    QSR_JWT_JWKS_URL="$IDENTITY/.well-known/jwks.json" QSR_JWT_ISSUER="$GATEWAY" QSR_JWT_AUDIENCE=qsr \
    setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$PIDS/$name.pid"
}

http_ok() { curl -fsS -o /dev/null "$1" 2>/dev/null; }

# wait_ready NAME URL: until NAME answers URL/readyz, or dies trying.
wait_ready() {
  wait_until "$1" "$READY_TIMEOUT" http_ok "$2/readyz" \
    || { tail -n 20 "$LOGS/$1.log" >&2; die "$1 did not become ready; see $LOGS/$1.log"; }
}

services_up() {
  build_services
  local bin=$ROOT/target/release
  # Identity first: the others fetch its keys at start.
  # Its issuer is the public address, the gateway's (what its discovery
  # document names); the services fetch its keys from it directly.
  start_service identity env QSR_IDENTITY_ADDR="127.0.0.1:$IDENTITY_PORT" QSR_IDENTITY_ISSUER="$GATEWAY" \
    QSR_IDENTITY_AUDIENCE=qsr DATABASE_URL="$(identity_db_url)" QSR_SMTP_URL="smtp://127.0.0.1:$MAIL_PORT" \
    "$bin/identity"
  wait_ready identity "$IDENTITY"
  ensure_demo_accounts
  ensure_pos_client
  start_service print-sink env QSR_PRINT_SINK_ADDR="$PRINT_SINK" "$bin/pos-bridge" print-sink
  start_service projector env QSR_PROJECTOR_ADDR="127.0.0.1:$PROJECTOR_PORT" "$bin/projector"
  start_service command-api env QSR_COMMAND_API_ADDR="127.0.0.1:$COMMAND_API_PORT" "$bin/command-api"
  start_service query-api env QSR_QUERY_API_ADDR="127.0.0.1:$QUERY_API_PORT" "$bin/query-api"
  # The demo store's kitchen settings, with this stack's ports, and the
  # demo store's POS client credential (the settings file leaves secrets to
  # the environment): the bridge gets its `pos` tokens from identity.
  start_service pos-bridge env QSR_POS_BRIDGE_ADDR="127.0.0.1:$POS_BRIDGE_PORT" \
    QSR_POS_BRIDGE_CONFIG="$ROOT/stack/demo/pos-bridge.toml" \
    QSR_BRIDGE_COMMAND_API_URL="$COMMAND_API" \
    QSR_BRIDGE_TOKEN_URL="$IDENTITY/v1/auth/token" \
    QSR_BRIDGE_STORE_DEMO_DOWNTOWN_PRINTERS="$PRINT_SINK" \
    QSR_BRIDGE_STORE_DEMO_DOWNTOWN_POS_CLIENT_ID="$POS_CLIENT_ID" \
    QSR_BRIDGE_STORE_DEMO_DOWNTOWN_POS_CLIENT_SECRET="$POS_CLIENT_SECRET" \
    "$bin/pos-bridge"
  local svc
  for svc in "projector $PROJECTOR" "command-api $COMMAND_API" \
             "query-api $QUERY_API" "pos-bridge $POS_BRIDGE"; do
    wait_ready "${svc%% *}" "${svc#* }"
  done
  # The gateway last, in front of them all (master-worker: a SIGUSR2 reloads
  # its configuration without dropping connections).
  # shellcheck disable=SC2046 # gateway_env prints NAME=value words
  start_service gateway env $(gateway_env) haproxy -W -db -f "$ROOT/gateway/haproxy.cfg"
  wait_until "the gateway" "$READY_TIMEOUT" http_ok "$GATEWAY/healthz" \
    || { tail -n 20 "$LOGS/gateway.log" >&2; die "the gateway did not start; see $LOGS/gateway.log"; }
}

services_down() {
  local name pid
  # Producers first, so nothing new arrives while the consumers drain;
  # identity last, as the others fetch its keys.
  for name in gateway command-api pos-bridge query-api projector print-sink identity; do
    if pid=$(service_pid "$name"); then stop_pid "$name" "$pid"; fi
    rm -f "$PIDS/$name.pid"
  done
}

# ---------------------------------------------------------------------------
# Demo accounts

# A password for a demo account: 96 random bits, which the identity
# service's strength rules take.
new_password() { printf 'demo-%s' "$(head -c 12 /dev/urandom | base64 | tr '+/' 'xy')"; }

# The field NAME of the JSON object on stdin.
json_field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# The demo admin and staff (created with the identity CLI, as an operator
# creates the first admin) and the customer's login (`loadgen demo`
# registers it through the API). Their passwords are made once per stack
# directory and kept in ACCOUNTS; without that file, the demo accounts of an
# earlier one are replaced, as their passwords went with it.
ensure_demo_accounts() {
  local bin=$ROOT/target/release db
  db=$(identity_db_url)
  if [ ! -f "$ACCOUNTS" ]; then
    psql "$db" -qc "delete from users where lower(email) in
      ('admin@demo.qsr.test', 'staff@demo.qsr.test', 'customer@demo.qsr.test')" >/dev/null
    (umask 077 && cat >"$ACCOUNTS" <<ACCOUNTS
QSR_DEMO_ADMIN_EMAIL=admin@demo.qsr.test
QSR_DEMO_ADMIN_PASSWORD=$(new_password)
QSR_DEMO_STAFF_EMAIL=staff@demo.qsr.test
QSR_DEMO_STAFF_PASSWORD=$(new_password)
QSR_DEMO_CUSTOMER_EMAIL=customer@demo.qsr.test
QSR_DEMO_CUSTOMER_PASSWORD=$(new_password)
ACCOUNTS
    )
  fi
  . "$ACCOUNTS"
  if ! account_exists "$QSR_DEMO_ADMIN_EMAIL"; then
    printf '%s\n' "$QSR_DEMO_ADMIN_PASSWORD" | DATABASE_URL=$db "$bin/identity" admin create \
      --email "$QSR_DEMO_ADMIN_EMAIL" --name "Demo Admin" --password-stdin >>"$LOGS/identity.log" 2>&1 \
      || die "creating the demo admin failed; see $LOGS/identity.log"
    log "created the demo admin $QSR_DEMO_ADMIN_EMAIL"
  fi
  if ! account_exists "$QSR_DEMO_STAFF_EMAIL"; then
    printf '%s\n' "$QSR_DEMO_STAFF_PASSWORD" | DATABASE_URL=$db "$bin/identity" staff create \
      --email "$QSR_DEMO_STAFF_EMAIL" --name "Demo Staff" --stores "$DEMO_STORE" --password-stdin \
      >>"$LOGS/identity.log" 2>&1 || die "creating the demo staff failed; see $LOGS/identity.log"
    log "created the demo staff $QSR_DEMO_STAFF_EMAIL (store $DEMO_STORE)"
  fi
}

account_exists() {
  psql "$(identity_db_url)" -Atqc "select 1 from users where lower(email) = lower('$1')" | grep -qx 1
}

# login EMAIL PASSWORD: an access token from the identity service.
login() {
  curl -fsS -H 'content-type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"$2\"}" "$IDENTITY/v1/auth/login" | json_field access_token
}

# A `pos` token of the demo store's POS client (OAuth 2.0 client credentials).
pos_token() {
  curl -fsS -u "$POS_CLIENT_ID:$POS_CLIENT_SECRET" -d grant_type=client_credentials \
    "$IDENTITY/v1/auth/token" | json_field access_token
}

# The same, from the credential kept in POS_CLIENT.
pos_client_token() {
  . "$POS_CLIENT" && pos_token
}

# The demo store's POS client credential, issued by the demo admin once and
# kept in POS_CLIENT (issued again when identity no longer knows it).
ensure_pos_client() {
  if [ -f "$POS_CLIENT" ]; then
      . "$POS_CLIENT"
    pos_token >/dev/null 2>&1 && return 0
  fi
  local admin answer
  admin=$(login "$QSR_DEMO_ADMIN_EMAIL" "$QSR_DEMO_ADMIN_PASSWORD") || die "the demo admin cannot log in"
  answer=$(curl -fsS -X POST -H "authorization: Bearer $admin" "$IDENTITY/v1/stores/$DEMO_STORE/pos-clients") \
    || die "issuing the demo store's POS client credential failed"
  (umask 077 && cat >"$POS_CLIENT" <<CLIENT
POS_CLIENT_ID=$(json_field client_id <<<"$answer")
POS_CLIENT_SECRET=$(json_field client_secret <<<"$answer")
CLIENT
  )
  . "$POS_CLIENT"
  log "issued a POS client credential for $DEMO_STORE ($POS_CLIENT)"
}

# The demo store, its menu and three orders, through the API, as the demo
# accounts; safe to repeat.
seed_demo() {
  (set -a && . "$ACCOUNTS" && set +a &&
    QSR_IDENTITY_URL=$IDENTITY "$ROOT/target/release/loadgen" --url "$COMMAND_API" demo --query-url "$QUERY_API") \
    || die "seeding the demo data failed (loadgen demo); see $LOGS"
}

# Where to look; README.md says the rest.
banner() {
  . "$ACCOUNTS"
  cat <<EOF

  QSR is up: $GATEWAY is the address for everything (the gateway;
  its metrics at http://127.0.0.1:$GATEWAY_METRICS_PORT/metrics).
  For operators, on loopback: identity $IDENTITY, command-api $COMMAND_API,
  query-api $QUERY_API, pos-bridge $POS_BRIDGE, projector $PROJECTOR,
  demo printer $PRINT_SINK, Kafka $BROKERS, Postgres $(pg_where).

  Demo logins (POST $GATEWAY/v1/auth/login):
    admin     $QSR_DEMO_ADMIN_EMAIL     $QSR_DEMO_ADMIN_PASSWORD
    staff     $QSR_DEMO_STAFF_EMAIL     $QSR_DEMO_STAFF_PASSWORD  (store $DEMO_STORE)
    customer  $QSR_DEMO_CUSTOMER_EMAIL  $QSR_DEMO_CUSTOMER_PASSWORD
  (kept in $ACCOUNTS). A token for scripts: stack/stack.sh token customer
  Mails (verification, password reset, invitations): $MAIL_DIR/new
  Logs: $LOGS (make logs). Stop everything with 'make down'.
  A first order and the rest: README.md.

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
  seed_demo
  banner
}

# stack.sh token ROLE: an access token of the demo account of ROLE.
cmd_token() {
  [ -f "$ACCOUNTS" ] || die "no demo accounts yet: start the stack (make up)"
  . "$ACCOUNTS"
  case "${1:-}" in
    admin) login "$QSR_DEMO_ADMIN_EMAIL" "$QSR_DEMO_ADMIN_PASSWORD" ;;
    staff) login "$QSR_DEMO_STAFF_EMAIL" "$QSR_DEMO_STAFF_PASSWORD" ;;
    customer) login "$QSR_DEMO_CUSTOMER_EMAIL" "$QSR_DEMO_CUSTOMER_PASSWORD" ;;
    pos) pos_client_token ;;
    *) die "usage: stack/stack.sh token customer|staff|admin|pos" ;;
  esac || die "the identity service ($IDENTITY) refused or did not answer; is the stack up?"
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
    for name in identity projector command-api query-api pos-bridge print-sink gateway; do
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
    QSR_TEST_SMTP_URL="smtp://127.0.0.1:$MAIL_PORT" QSR_TEST_MAIL_DIR="$MAIL_DIR" \
    cargo test --workspace "$@") || rc=$?
  if [ $started -eq 1 ]; then infra_down; fi
  return $rc
}

# The load generator places many orders per customer it registers: a stack
# it starts for itself lets a customer place as many as the load needs (a
# running one keeps its limits, and the load generator says so on `429`).
cmd_bench() {
  if ! curl -fsS -o /dev/null "$COMMAND_API/readyz" 2>/dev/null; then
    QSR_PLACEMENTS_PER_MINUTE=${QSR_PLACEMENTS_PER_MINUTE:-100000000} \
      QSR_PLACEMENT_BURST=${QSR_PLACEMENT_BURST:-100000} cmd_up
  fi
  (cd "$ROOT" && cargo build --release --quiet -p bench)
  log "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; Kafka, Postgres and the services on this box"
  (set -a && . "$ACCOUNTS" && set +a &&
    QSR_IDENTITY_URL=$IDENTITY "$ROOT/target/release/loadgen" --url "$COMMAND_API" "$@")
}

cmd_status() {
  local name pid
  if pid=$(kafka_pid); then echo "kafka        running (pid $pid) on $BROKERS"; else echo "kafka        stopped"; fi
  if pid=$(mail_pid); then echo "mail-sink    running (pid $pid) on 127.0.0.1:$MAIL_PORT"; else echo "mail-sink    stopped"; fi
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
  token) shift; cmd_token "$@" ;;
  gateway-check) gateway_check ;;
  status) cmd_status ;;
  logs) shift; cmd_logs "$@" ;;
  deps) ensure_tools; ensure_rust; ensure_schemathesis; fetch_kafka; check_disk ;;
  help | -h | --help) usage ;;
  *) usage >&2; exit 2 ;;
esac
