#!/usr/bin/env bash
# "See it work" on a fresh machine: installs the dependencies, builds dwproxy (Release),
# starts two throwaway PostgreSQL 15 clusters OLD and NEW, puts dwproxy in front of them,
# creates the pgbench tables and runs a 10-second pgbench workload through the proxy, runs
# a few queries through it, then stops and removes everything (also on Ctrl-C or error).
# Works as root (the servers run as user dwpg) and as a normal user (sudo only for apt).
# It keeps no data and measures nothing (see bench/), and it does not yet walk the
# migration phases: that needs dwctl (issue 3), see walk_phases below.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

# shellcheck source=../bench/lib/harness.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/../bench/lib/harness.sh"

workload_seconds=10
workload_clients=4

# Prints a command the way a user would type it (no password: libpq reads PGPASSWORD).
show_cmd() { printf '$ %s\n' "$*"; }
psql_through_proxy() { # SQL
  show_cmd psql -h 127.0.0.1 -p "$proxy_port" -U "$dw_db_user" "$dw_db_name" -c "\"$1\""
  psql -X -q -h 127.0.0.1 -p "$proxy_port" -U "$dw_db_user" -d "$dw_db_name" -c "$1"
}
announce() { # MESSAGE CMD ARGS...
  dw_info "$1"
  shift
  "$@"
}

# Walks the migration phases while the workload runs: 0 passthrough -> 1 dual-write ->
# 2 shadow-read -> 3 cutover -> 4 cleanup, a few seconds apart, so the pgbench progress
# lines show traffic carrying on across every move, including the 2 -> 3 flip.
# TODO(issue 3): drive the moves with `dwctl phase N` once dwctl and the control socket
# exist, e.g. `for phase in 1 2 3 4; do sleep 2; dwctl phase "$phase"; done`, and check
# afterwards that NEW holds the rows written through the proxy. Until then: phase 0 only.
walk_phases() {
  dw_info "phase walk 0 -> 1 -> 2 -> 3 -> 4 arrives with dwctl (issue 3);" \
    "this run stays in phase 0 (passthrough: OLD answers, NEW gets nothing)"
}

on_exit() {
  local rc=$?
  dw_heading "Shutting down"
  dw_run_cleanup
  if ((rc == 0)); then
    dw_info "done: proxy stopped, clusters stopped and removed"
  else
    dw_info "stopped and cleaned up after a failure (status $rc)"
  fi
}
dw_install_traps
trap on_exit EXIT

dw_heading "1. Dependencies (scripts/install-deps.sh)"
dw_install_deps
dw_info "all packages present"

dw_heading "2. Build dwproxy (cmake --preset release)"
work=
dw_make_workdir work dwdemo
dw_build_dwproxy "$work/build.log" || dw_die "$dw_proxy_problem"
dw_info "binary: $dw_proxy_bin"

dw_heading "3. Two throwaway PostgreSQL 15 clusters: OLD and NEW"
old_port='' new_port='' proxy_port=''
dw_pick_port old_port
dw_pick_port new_port
dw_pick_port proxy_port
for side in old new; do
  dir=$work/$side
  port_var=${side}_port
  "$dw_pgcluster" create "$dir" "${!port_var}"
  dw_defer announce "stopping and removing the ${side^^} cluster" dw_cluster_down "$dir"
  "$dw_pgcluster" start "$dir"
  dw_info "${side^^}: PostgreSQL $(dw_cluster_psql "$dir" "${!port_var}" 'SHOW server_version' |
    cut -d' ' -f1) on 127.0.0.1:${!port_var}, data in $dir"
done
export PGPASSWORD=$dw_db_password

dw_heading "4. dwproxy in front of them (phase 0: passthrough)"
show_cmd dwproxy --listen "127.0.0.1:$proxy_port" --old "postgresql://postgres:***@127.0.0.1:$old_port/app" \
  --new "postgresql://postgres:***@127.0.0.1:$new_port/app" --phase 0
if ! dw_dwproxy_start "$work/dwproxy.log" "$proxy_port" --old "$(dw_uri "$old_port")" \
  --new "$(dw_uri "$new_port")" --phase 0 --log-level info; then
  dw_die "$dw_proxy_problem"
fi
dw_defer announce "stopping dwproxy (pid $dw_dwproxy_pid)" dw_stop_pid "$dw_dwproxy_pid"
dw_info "listening on 127.0.0.1:$proxy_port (pid $dw_dwproxy_pid); clients log in as postgres/postgres"

dw_heading "5. Create the pgbench tables through the proxy"
show_cmd pgbench -i -s 1 -h 127.0.0.1 -p "$proxy_port" -U "$dw_db_user" "$dw_db_name"
pgbench -i -s 1 -h 127.0.0.1 -p "$proxy_port" -U "$dw_db_user" "$dw_db_name" 2>&1

dw_heading "6. Live workload through the proxy (${workload_seconds}s, $workload_clients clients)"
show_cmd pgbench -T "$workload_seconds" -c "$workload_clients" -j 2 -P 2 -h 127.0.0.1 -p "$proxy_port" \
  -U "$dw_db_user" "$dw_db_name"
pgbench -T "$workload_seconds" -c "$workload_clients" -j 2 -P 2 -h 127.0.0.1 -p "$proxy_port" \
  -U "$dw_db_user" "$dw_db_name" 2>&1 &
workload_pid=$!
dw_defer dw_stop_pid "$workload_pid"
walk_phases
wait "$workload_pid" || dw_die "the workload failed (pgbench status $?)"

dw_heading "7. Queries through the proxy"
psql_through_proxy "SELECT inet_server_port() AS answered_by_port, split_part(version(), ' on ', 1) AS server"
psql_through_proxy "SELECT count(*) AS accounts, (SELECT count(*) FROM pgbench_history) AS history_rows FROM pgbench_accounts"
psql_through_proxy "SHOW transaction_isolation"
dw_info "port $old_port is OLD: in phase 0 every statement went to OLD only."
dw_info "NEW, asked directly: pgbench_accounts is $(dw_cluster_psql "$work/new" "$new_port" \
  "SELECT coalesce(to_regclass('pgbench_accounts')::text, 'absent')")"

dw_heading "8. What dwproxy logged (last lines of $work/dwproxy.log)"
tail -n 8 "$work/dwproxy.log"
