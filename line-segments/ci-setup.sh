#!/usr/bin/env bash
# Installs and starts what line-segments' PostgreSQL tests need: a PostgreSQL server on
# 127.0.0.1:5432 where role `line` (password `line`) owns database `line_segments`, which is the
# tests' default LINE_SEGMENTS_PG_URL=postgres://line:line@127.0.0.1:5432/line_segments.
#
# The server is a cluster of its own in $LINE_SEGMENTS_PG_DIR (default /var/tmp/line-segments-pg:
# data/, sock/, server.log), UTF-8 with the C locale, run as user `postgres` (CI runs this as root).
# If another PostgreSQL already listens on 127.0.0.1:5432 (say Debian's own `main` cluster), the
# role and database are created there instead. Idempotent: safe to run twice.
set -euo pipefail
cd /

port=5432
role=line
password=line
db=line_segments
base="${LINE_SEGMENTS_PG_DIR:-/var/tmp/line-segments-pg}"
data="$base/data"
sock="$base/sock"
log="$base/server.log"

# The newest server binaries of Debian's layout (/usr/lib/postgresql/<major>/bin).
server_bin() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/postgres" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
      echo "$d"
      return
    fi
  done
}

bin="$(server_bin)"
if [ -z "$bin" ] || ! command -v psql >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  bin="$(server_bin)"
fi
[ -n "$bin" ] || { echo "line-segments ci-setup: no PostgreSQL server binaries after install" >&2; exit 1; }

if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
  as_pg() { runuser -u postgres -- "$@"; }
else
  as_pg() { "$@"; }
fi

ready() { "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -t 2; }

if ! ready; then
  mkdir -p "$base"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$base"
  chmod 700 "$base"
  # A cluster of another major version (after an upgrade of the package) is test data: start over.
  if [ -f "$data/PG_VERSION" ] && [ "$(cat "$data/PG_VERSION")" != "$("$bin/postgres" -V | sed -E 's/.* ([0-9]+)[.].*/\1/')" ]; then
    rm -rf "$data"
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    rm -rf "$data"
    as_pg "$bin/initdb" -D "$data" -U postgres -E UTF8 --locale=C \
      --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    cat >>"$data/postgresql.conf" <<EOF

# line-segments ci-setup: loopback only, socket in our own directory, no durability (test data).
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sock'
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  fi
  as_pg mkdir -p "$sock"
  # A server killed without a clean shutdown leaves its pid file, and its children may take a moment
  # to notice and go: drop the file unless that pid is a live postgres (pids are reused; a zombie
  # is not live), and try the start a few times.
  started=
  for _ in 1 2 3 4 5; do
    if [ -f "$data/postmaster.pid" ]; then
      pid="$(head -1 "$data/postmaster.pid")"
      if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != postgres ] ||
        [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ]; then
        rm -f "$data/postmaster.pid"
      fi
    fi
    if as_pg "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null 2>&1; then
      started=1
      break
    fi
    ready && { started=1; break; }
    sleep 1
  done
  if [ -z "$started" ]; then
    echo "line-segments ci-setup: PostgreSQL did not start; the end of $log:" >&2
    tail -20 "$log" >&2 || true
    exit 1
  fi
  for _ in $(seq 1 100); do
    ready && break
    sleep 0.1
  done
fi
ready

# The superuser's socket: ours when our cluster runs, else Debian's (peer auth for `postgres`).
if [ -S "$sock/.s.PGSQL.$port" ]; then
  admin_host="$sock"
else
  admin_host=/var/run/postgresql
fi
as_pg psql -X -q -v ON_ERROR_STOP=1 -h "$admin_host" -p "$port" -U postgres -d postgres >/dev/null <<EOF
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$role') THEN
    CREATE ROLE $role LOGIN PASSWORD '$password';
  ELSE
    ALTER ROLE $role LOGIN PASSWORD '$password';
  END IF;
END
\$\$;
SELECT 'CREATE DATABASE $db OWNER $role ENCODING ''UTF8'' TEMPLATE template0'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$db')
\gexec
EOF

version="$(PGPASSWORD="$password" psql -X -At -h 127.0.0.1 -p "$port" -U "$role" -d "$db" \
  -c "SELECT current_setting('server_version')")"
echo "line-segments ci-setup: PostgreSQL $version on 127.0.0.1:$port, database $db (role $role, password $password)"
