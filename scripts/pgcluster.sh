#!/usr/bin/env bash
# Throwaway PostgreSQL 15 clusters for the integration tests, the demo and the benchmarks.
# Data is disposable: fsync and full-page writes are off. One initdb is cached as a
# template (roles for every backend auth method, database `app`) and copied per cluster.
# PostgreSQL refuses to run as root, so as root every server command runs as user `dwpg`.
#
#   pgcluster.sh create DIR PORT [-c name=value ...]   initdb (from template) + config
#   pgcluster.sh start DIR                             start, wait until accepting
#   pgcluster.sh stop DIR [smart|fast|immediate]       default fast
#   pgcluster.sh destroy DIR                           stop immediate if running, rm -rf
#   pgcluster.sh env DIR                               PGHOST/PGPORT/PGUSER lines for eval
set -euo pipefail

pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
pg_user=dwpg
cache_dir=${XDG_CACHE_HOME:-/tmp}

die() { echo "pgcluster: $*" >&2; exit 1; }
usage() { sed -n '7,11p' "$0" | sed 's/^# //' >&2; exit 2; }

[[ -x $pg_bin/postgres ]] || die "no PostgreSQL server in $pg_bin (run scripts/install-deps.sh)"
pg_version=$("$pg_bin/postgres" --version | sed -E 's/.* ([0-9]+)[.0-9]*.*/\1/')
is_root() { [[ $(id -u) -eq 0 ]]; }
# Per owning user: a template made by root belongs to dwpg and is unreadable to others.
if is_root; then template_owner=$pg_user; else template_owner=$(id -un); fi
template=$cache_dir/dwproxy-pg-template-$pg_version-$template_owner

# Runs a server tool as the unprivileged owner. cd / because the caller's cwd (e.g. /root)
# may not be readable by dwpg, and initdb/pg_ctl complain about that.
as_pg() {
  if is_root; then
    (cd / && runuser -u "$pg_user" -- "$@")
  else
    (cd / && "$@")
  fi
}

ensure_pg_user() {
  is_root || return 0
  id -u "$pg_user" >/dev/null 2>&1 && return 0
  # Two concurrent creates may both get here; the loser's useradd fails harmlessly.
  useradd --system --user-group --no-create-home --home-dir / --shell /usr/sbin/nologin \
    "$pg_user" 2>/dev/null || true
  id -u "$pg_user" >/dev/null 2>&1 || die "could not create user $pg_user"
}

# dwpg must be able to reach DIR: mkdtemp makes 0700 parents, so grant search (x) only.
ensure_traversable() {
  is_root || return 0
  local d
  d=$(dirname "$1")
  while [[ $d != / ]]; do
    if ! runuser -u "$pg_user" -- test -x "$d" 2>/dev/null; then
      chmod a+x "$d"
    fi
    d=$(dirname "$d")
  done
}

# Creates the cached template once; flock makes concurrent first runs wait, not race.
ensure_template() {
  [[ -f $template/PG_VERSION ]] && return 0
  mkdir -p "$cache_dir"
  exec 9>"$template.lock"
  flock 9
  if [[ ! -f $template/PG_VERSION ]]; then
    build_template
  fi
  flock -u 9
  exec 9>&-
}

build_template() {
  local stage
  stage=$(mktemp -d "$template.stage.XXXXXX")
  chmod 0755 "$stage"
  is_root && chown "$pg_user:" "$stage"
  ensure_traversable "$stage/data"
  printf 'postgres\n' >"$stage/pwfile"
  is_root && chown "$pg_user:" "$stage/pwfile"

  as_pg "$pg_bin/initdb" -D "$stage/data" -U postgres --pwfile="$stage/pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C --no-sync >"$stage/initdb.log" 2>&1 \
    || { cat "$stage/initdb.log" >&2; rm -rf "$stage"; die "initdb failed"; }
  rm -f "$stage/pwfile"
  write_hba "$stage/data/pg_hba.conf"

  # Start privately (no TCP, socket in the stage dir) to create the test roles.
  as_pg "$pg_bin/pg_ctl" -D "$stage/data" -w -t 60 -l "$stage/setup.log" \
    -o "-c listen_addresses='' -c unix_socket_directories='$stage' -c port=5432 -c fsync=off" \
    start >/dev/null || { cat "$stage/setup.log" >&2; rm -rf "$stage"; die "template start failed"; }
  local ok=1
  as_pg "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$stage" -p 5432 -U postgres -d postgres \
    >"$stage/roles.log" 2>&1 <<'SQL' || ok=0
SET password_encryption = 'md5';
CREATE ROLE md5user LOGIN PASSWORD 'secret-md5user';
RESET password_encryption;
CREATE ROLE plainuser LOGIN PASSWORD 'secret-plainuser';
CREATE ROLE scramuser LOGIN PASSWORD 'secret-scramuser';
CREATE DATABASE app OWNER postgres;
\c app
GRANT ALL ON SCHEMA public TO md5user, plainuser, scramuser;
SQL
  as_pg "$pg_bin/pg_ctl" -D "$stage/data" -w -m fast stop >/dev/null || true
  if ((ok == 0)); then
    cat "$stage/roles.log" >&2
    rm -rf "$stage"
    die "creating template roles failed"
  fi
  rm -rf "$stage/data/log" "$stage/data/postmaster.opts"
  mv "$stage/data" "$template"
  rm -rf "$stage"
}

write_hba() {
  cat >"$1" <<'HBA'
# dwproxy test cluster: one role per backend auth method (see scripts/pgcluster.sh).
# TYPE  DATABASE USER       ADDRESS        METHOD
local   all      all                       trust
host    all      md5user    127.0.0.1/32   md5
host    all      plainuser  127.0.0.1/32   password
host    all      all        127.0.0.1/32   scram-sha-256
HBA
}

# Quotes a GUC value for postgresql.conf; quoted values are accepted for every GUC type.
conf_quote() { printf "'%s'" "${1//\'/\'\'}"; }

cmd_create() {
  (($# >= 2)) || usage
  local dir port
  dir=$(realpath -m "$1")
  port=$2
  shift 2
  [[ $port =~ ^[0-9]+$ ]] || die "PORT must be a number, got '$port'"
  if [[ -e $dir ]] && [[ -n $(ls -A "$dir") ]]; then
    die "$dir exists and is not empty"
  fi
  local extra=()
  while (($#)); do
    [[ $1 == -c && $# -ge 2 && $2 == *=* ]] || die "expected -c name=value, got '$*'"
    extra+=("$2")
    shift 2
  done

  ensure_pg_user
  ensure_template
  mkdir -p "$dir"
  ensure_traversable "$dir"
  cp -a "$template/." "$dir/"
  mkdir -p "$dir/log"
  # cp -a as root already kept dwpg as the owner of the copied files.
  is_root && chown "$pg_user:" "$dir" "$dir/log"
  chmod 0700 "$dir"

  {
    echo
    echo "# --- pgcluster.sh: throwaway test cluster, durability off on purpose ---"
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "unix_socket_directories = $(conf_quote "$dir")"
    echo "max_connections = 300"
    echo "fsync = off"
    echo "synchronous_commit = off"
    echo "full_page_writes = off"
    echo "shared_buffers = 128MB"
    echo "logging_collector = on"
    echo "log_directory = 'log'"
    echo "log_filename = 'postgresql-%Y%m%d-%H%M%S.log'"
    local kv
    for kv in "${extra[@]}"; do
      echo "${kv%%=*} = $(conf_quote "${kv#*=}")"
    done
  } >>"$dir/postgresql.conf"
}

data_dir() {
  local dir
  dir=$(realpath -m "$1")
  [[ -f $dir/PG_VERSION ]] || die "$dir is not a cluster made by pgcluster.sh create"
  printf '%s' "$dir"
}

# The last `port = N` line wins, as in PostgreSQL.
cluster_port() { sed -nE "s/^port = '?([0-9]+)'?.*/\1/p" "$1/postgresql.conf" | tail -n1; }

cmd_start() {
  (($# == 1)) || usage
  local dir
  dir=$(data_dir "$1")
  # pg_ctl -w returns once postmaster.pid says "ready", i.e. accepting connections.
  if ! as_pg "$pg_bin/pg_ctl" -D "$dir" -w -t 60 -l "$dir/log/startup.log" start >/dev/null; then
    cat "$dir/log/startup.log" >&2 || true
    tail -n 20 "$dir"/log/postgresql-*.log >&2 2>/dev/null || true
    die "start failed for $dir"
  fi
  "$pg_bin/pg_isready" -q -h "$dir" -p "$(cluster_port "$dir")" -t 30 \
    || die "$dir started but does not accept connections"
}

cmd_stop() {
  (($# >= 1 && $# <= 2)) || usage
  local dir mode=${2:-fast}
  dir=$(data_dir "$1")
  [[ $mode =~ ^(smart|fast|immediate)$ ]] || die "stop mode must be smart, fast or immediate"
  as_pg "$pg_bin/pg_ctl" -D "$dir" -w -t 60 -m "$mode" stop >/dev/null
}

cmd_destroy() {
  (($# == 1)) || usage
  local dir
  dir=$(realpath -m "$1")
  [[ -e $dir ]] || return 0
  if [[ -f $dir/postmaster.pid ]]; then
    as_pg "$pg_bin/pg_ctl" -D "$dir" -w -t 30 -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

cmd_env() {
  (($# == 1)) || usage
  local dir
  dir=$(data_dir "$1")
  echo "PGHOST=$dir"
  echo "PGPORT=$(cluster_port "$dir")"
  echo "PGUSER=postgres"
}

(($# >= 1)) || usage
cmd=$1
shift
case $cmd in
  create) cmd_create "$@" ;;
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  destroy) cmd_destroy "$@" ;;
  env) cmd_env "$@" ;;
  -h | --help | help) usage ;;
  *) die "unknown command '$cmd'" ;;
esac
