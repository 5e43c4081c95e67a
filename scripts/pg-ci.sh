#!/bin/bash
# pg-ci.sh: a throwaway PostgreSQL 15 for the store's tests (and anyone else's), on 127.0.0.1 only.
#
#   bash scripts/pg-ci.sh up      start it (idempotent: a running one is reused); the last line printed
#                                 is SUANLI_TEST_PG_URL=postgresql://…, also written to /run/suanli-pg/url
#   bash scripts/pg-ci.sh down    fast shutdown, then remove its data directory and the url file
#   bash scripts/pg-ci.sh status  exit 0 and print the url when it is running, exit 1 otherwise
#
# Run as root: initdb and postgres refuse to run as root, so they run as the `postgres` user via
# runuser; the data and socket directory belong to `postgres`. The server is tuned for throwaway CI
# data (fsync=off, synchronous_commit=off, full_page_writes=off): a crash loses data, by design.
# Recipe: shared/notes/local-engines.md section 2. Environment overrides: SUANLI_PG_ROOT
# (default /tmp/suanli-pg), SUANLI_PG_PORT (default 55432).
set -euo pipefail

PGBIN=/usr/lib/postgresql/15/bin
PGROOT=${SUANLI_PG_ROOT:-/tmp/suanli-pg}
PGPORT=${SUANLI_PG_PORT:-55432}
URL_DIR=/run/suanli-pg
APP_ROLE=suanli
APP_PASSWORD=suanli-ci-secret
APP_DB=suanli
URL="postgresql://$APP_ROLE:$APP_PASSWORD@127.0.0.1:$PGPORT/$APP_DB"

is_running() {
  [ -e "$PGROOT/data/postmaster.pid" ] &&
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGROOT/data" status >/dev/null 2>&1
}

superuser_sql() {
  # Over the UNIX socket in $PGROOT (trust for local connections): no password needed for setup.
  runuser -u postgres -- psql -h "$PGROOT" -p "$PGPORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt "$@"
}

up() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "pg-ci.sh up: run as root (it starts postgres as the postgres user via runuser)" >&2
    exit 1
  fi
  if [ ! -x "$PGBIN/pg_ctl" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15
  fi
  if ! is_running; then
    mkdir -p "$PGROOT"
    chown postgres:postgres "$PGROOT"
    chmod 0700 "$PGROOT"
    if [ ! -e "$PGROOT/data/PG_VERSION" ]; then
      rm -rf "$PGROOT/data"
      echo 'ci-superuser-secret' >"$PGROOT/pwfile"
      chown postgres:postgres "$PGROOT/pwfile"
      runuser -u postgres -- "$PGBIN/initdb" -D "$PGROOT/data" -U postgres --pwfile="$PGROOT/pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync >"$PGROOT/initdb.log"
    fi
    # A stale pid file from a killed server would make pg_ctl refuse to start.
    rm -f "$PGROOT/data/postmaster.pid"
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGROOT/data" -l "$PGROOT/server.log" -w -t 30 start \
      -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGROOT -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null
  fi
  # Idempotent role and database creation: `up` may be run again on a running server.
  if [ "$(superuser_sql -c "select count(*) from pg_roles where rolname = '$APP_ROLE'")" = "0" ]; then
    superuser_sql -c "create role $APP_ROLE login password '$APP_PASSWORD'"
  fi
  if [ "$(superuser_sql -c "select count(*) from pg_database where datname = '$APP_DB'")" = "0" ]; then
    superuser_sql -c "create database $APP_DB owner $APP_ROLE"
  fi
  PGPASSWORD=$APP_PASSWORD psql "$URL" -qAtc 'select 1' >/dev/null
  mkdir -p "$URL_DIR"
  echo "$URL" >"$URL_DIR/url"
  echo "PGROOT=$PGROOT"
  echo "SUANLI_TEST_PG_URL=$URL"
}

down() {
  if [ -e "$PGROOT/data/postmaster.pid" ]; then
    pid=$(head -1 "$PGROOT/data/postmaster.pid")
    kill -INT "$pid" 2>/dev/null || true # SIGINT = fast shutdown, as pg_ctl -m fast
    # postgres removes postmaster.pid once shut down (kill -0 could match a not-yet-reaped zombie)
    for _ in $(seq 1 300); do
      [ -e "$PGROOT/data/postmaster.pid" ] || break
      sleep 0.1
    done
  fi
  rm -rf "$PGROOT"
  rm -f "$URL_DIR/url"
  echo "stopped"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status)
    if is_running; then
      echo "SUANLI_TEST_PG_URL=$URL"
    else
      echo "not running"
      exit 1
    fi
    ;;
  *)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
