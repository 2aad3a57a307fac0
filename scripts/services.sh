#!/usr/bin/env bash
# Local PostgreSQL and Redis for tests and development, on 127.0.0.1 only.
#
#   scripts/services.sh start [postgres|redis|all]   install (Debian packages) if missing, then start
#   scripts/services.sh stop  [postgres|redis|all]   stop by PID
#   scripts/services.sh status [postgres|redis|all]  exit 0 when all named are running, 3 otherwise
#   scripts/services.sh env                          export lines: eval "$(scripts/services.sh env)"
#
# State lives in .services/ at the repo root (git-ignored): PID files, Redis's dir, logs, and the
# Postgres data dir. Postgres refuses to run as root, so as root it runs as the `postgres` user, which
# must reach its data dir: when it cannot traverse the repo path, the data dir goes to
# /tmp/nexus-services-<sha1 of the repo path, 12 chars>/postgres instead (the PID file stays here).
# Tuned for tests, not durability: fsync off, no Redis persistence. Ports: NEXUS_PG_PORT (55432),
# NEXUS_REDIS_PORT (56379). Starting what runs already is a no-op.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE="$ROOT/.services"
PG_PORT=${NEXUS_PG_PORT:-55432}
REDIS_PORT=${NEXUS_REDIS_PORT:-56379}
PG_SOCKET_DIR=/tmp
PG_PIDFILE="$STATE/postgres.pid"
REDIS_PIDFILE="$STATE/redis.pid"

log() { echo "services: $*" >&2; }
die() { log "error: $*"; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# --- installing ---------------------------------------------------------------------------------

pg_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && echo "$dir"
}

ensure_packages() {  # ensure_packages postgres|redis ...: one apt-get update, one install, when needed
  local missing=() what
  for what in "$@"; do
    case $what in
      postgres) pg_bindir >/dev/null || missing+=(postgresql) ;;
      redis) command -v redis-server >/dev/null || missing+=(redis-server) ;;
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

# --- commands -----------------------------------------------------------------------------------

targets() {  # targets [postgres|redis|all]
  case ${1:-all} in
    postgres | pg) echo postgres ;;
    redis) echo redis ;;
    all) echo postgres redis ;;
    *) die "unknown service '$1' (postgres, redis or all)" ;;
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
}

main() {
  local cmd=${1:-} svc
  case $cmd in
    start)
      with_lock
      # shellcheck disable=SC2046
      ensure_packages $(targets "${2:-all}")
      for svc in $(targets "${2:-all}"); do "start_$svc"; done
      ;;
    stop)
      with_lock
      for svc in $(targets "${2:-all}"); do "stop_$svc"; done
      ;;
    status)
      local rc=0
      for svc in $(targets "${2:-all}"); do
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
