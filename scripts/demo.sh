#!/usr/bin/env bash
# "See it work" on a fresh machine: installs the dependencies, builds dwproxy and dwctl
# (Release), starts two throwaway PostgreSQL 15 clusters OLD and NEW, creates the same pgbench
# tables on both, puts dwproxy in front of them and walks the migration 0 -> 1 -> 2 -> 3 -> 4
# with dwctl while pgbench traffic runs through the proxy. Then it checks that NEW holds
# exactly OLD's rows, runs a few queries, and stops and removes everything (also on Ctrl-C
# or error). Works as root (the servers run as user dwpg) and as a normal user (sudo only
# for apt). It keeps no data and measures nothing (see bench/).
#   DW_PROXY_BIN=/path/to/dwproxy   use that binary (and the dwctl of its build tree)
#   DW_DWCTL_BIN=/path/to/dwctl     use that dwctl
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

# shellcheck source=../bench/lib/harness.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/../bench/lib/harness.sh"

scale=1
# Readers (select-only) run from phase 0 to after phase 4; writers (TPC-B-like) from
# phase 1 on, across the 2 -> 3 flip. Phase moves come this many seconds apart.
readers_seconds=24
readers_clients=2
writers_seconds=14
writers_clients=4
move_gap=4
pgbench_tables=(pgbench_branches pgbench_tellers pgbench_accounts pgbench_history)

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

# dwctl as typed (DWCTL_SOCKET names the control socket), with its answer indented.
# Returns dwctl's exit status.
dwctl_shown() { # ARGS...
  local out rc=0
  show_cmd dwctl "$@"
  out=$("$dw_dwctl_bin" "$@" 2>&1) || rc=$?
  if [[ -n $out ]]; then printf '%s\n' "$out" | sed 's/^./    &/'; fi
  return "$rc"
}

# One phase move. A refused or failed move ends the demo: dwctl's answer above says why,
# and the status below shows what blocks.
move_to() { # PHASE
  local rc=0
  dwctl_shown phase "$1" || rc=$?
  ((rc == 0)) && return 0
  dwctl_shown status || true
  dw_die "the phase walk stopped: dwctl phase $1 failed (exit status $rc); its reason is printed above"
}

# pgbench in the background with its output lines tagged; sets VAR to pgbench's own pid.
start_pgbench() { # VAR TAG ARGS...
  local var=$1 tag=$2
  shift 2
  show_cmd pgbench "$@" -h 127.0.0.1 -p "$proxy_port" -U "$dw_db_user" "$dw_db_name"
  pgbench "$@" -h 127.0.0.1 -p "$proxy_port" -U "$dw_db_user" "$dw_db_name" \
    > >(sed -u "s/^/[$tag] /") 2>&1 &
  printf -v "$var" '%s' "$!"
  dw_defer dw_stop_pid "$!"
}

# "N rows, md5 ..." of TABLE: every row as text, in text order, so any difference in any
# column shows. pgbench_history has no key; ordering by the whole row still makes it exact.
table_fingerprint() { # DIR PORT TABLE
  dw_cluster_psql "$1" "$2" "SELECT count(*) || ' rows, md5 ' ||
    md5(coalesce(string_agg(r::text, E'\\n' ORDER BY r::text), '')) FROM $3 r"
}

# Prints a table of OLD's and NEW's fingerprints of the pgbench tables; returns 1 when any
# table differs.
compare_clusters() {
  local t old new same=0 rows=("table|OLD (port $old_port)|NEW (port $new_port)|same")
  for t in "${pgbench_tables[@]}"; do
    old=$(table_fingerprint "$work/old" "$old_port" "$t")
    new=$(table_fingerprint "$work/new" "$new_port" "$t")
    if [[ $old == "$new" ]]; then
      rows+=("$t|$old|$new|yes")
    else
      rows+=("$t|$old|$new|NO")
      same=1
    fi
  done
  printf '%s\n' "${rows[@]}" | dw_markdown_table
  return "$same"
}

# Walks the migration while the workload runs. Readers open their sessions in phase 0, so
# 0 -> 1 has to reach sessions that are already open. Writers start only once NEW receives
# the writes (phase 1): a write in phase 0 goes to OLD alone, and bringing such rows over is
# the job of the backfill (issue 5). Phase 4 comes after the check: in cleanup OLD no
# longer receives writes, so it is behind NEW from then on by design.
walk_phases() {
  local readers_pid writers_pid rc=0 tries
  export DWCTL_SOCKET=$control_socket
  show_cmd export "DWCTL_SOCKET=$control_socket"
  start_pgbench readers_pid readers -S -n -T "$readers_seconds" -c "$readers_clients" -j 1 -P 4
  sleep 2
  dwctl_shown status || dw_die "dwctl status failed (exit status $?)"
  move_to 1
  start_pgbench writers_pid writers -n -T "$writers_seconds" -c "$writers_clients" -j 2 -P 2
  sleep "$move_gap"
  move_to 2
  sleep "$move_gap"
  # Phase 2 compared a sample of the reads on NEW; the 2 -> 3 gate judges these numbers.
  dwctl_shown diffs --limit 5 || dw_die "dwctl diffs failed (exit status $?)"
  move_to 3
  wait "$writers_pid" || dw_die "the writers failed (pgbench status $?)"

  dw_heading "6. Does NEW hold exactly OLD's rows? (count and md5 of every pgbench table)"
  # The shadow applies a session's last COMMIT just after the primary did: give it a moment.
  for ((tries = 1; ; tries++)); do
    rc=0
    compare_clusters >"$work/compare.txt" || rc=$?
    ((rc != 0 && tries < 5)) || break
    sleep 1
  done
  cat "$work/compare.txt"
  if ((rc != 0)); then
    show_divergences
    dw_die "NEW and OLD differ after the walk (see the table above)"
  fi
  dw_info "identical: every row written through the proxy is on both clusters"

  dw_heading "7. dwctl phase 4 (cleanup): OLD receives nothing from now on"
  move_to 4
  dwctl_shown status || dw_die "dwctl status failed (exit status $?)"
  wait "$readers_pid" || dw_die "the readers failed (pgbench status $?)"
}

show_divergences() {
  local log=$work/divergences.jsonl n=0
  if [[ -f $log ]]; then n=$(wc -l <"$log"); fi
  dw_info "divergence log $log: $n record(s)"
  if ((n > 0)); then head -n 3 "$log"; fi
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

dw_heading "2. Build dwproxy and dwctl (cmake --preset release)"
work=
dw_make_workdir work dwdemo
dw_build_dwproxy "$work/build.log" || dw_die "$dw_proxy_problem"
dw_build_dwctl "$work/build.log" || dw_die "$dw_proxy_problem"
dw_info "binaries: $dw_proxy_bin, $dw_dwctl_bin"

dw_heading "3. Two throwaway PostgreSQL 15 clusters, OLD and NEW, with the same pgbench tables"
old_port='' new_port='' proxy_port=''
dw_pick_port old_port
dw_pick_port new_port
dw_pick_port proxy_port
export PGPASSWORD=$dw_db_password
for side in old new; do
  dir=$work/$side
  port_var=${side}_port
  "$dw_pgcluster" create "$dir" "${!port_var}"
  dw_defer announce "stopping and removing the ${side^^} cluster" dw_cluster_down "$dir"
  "$dw_pgcluster" start "$dir"
  dw_info "${side^^}: PostgreSQL $(dw_cluster_psql "$dir" "${!port_var}" 'SHOW server_version' |
    cut -d' ' -f1) on 127.0.0.1:${!port_var}, data in $dir"
done
# pgbench -i fills the tables with the same deterministic data every time, so NEW starts
# as an exact copy of OLD; the table below proves it rather than trusting it.
for side in old new; do
  port_var=${side}_port
  show_cmd pgbench -i -s "$scale" -h 127.0.0.1 -p "${!port_var}" -U "$dw_db_user" "$dw_db_name" "  # ${side^^}"
  pgbench -i -s "$scale" -h 127.0.0.1 -p "${!port_var}" -U "$dw_db_user" "$dw_db_name" 2>&1
done
compare_clusters || dw_die "pgbench -i left different data on OLD and NEW"

dw_heading "4. dwproxy in front of them (phase 0: passthrough), with a control socket"
control_socket=$work/control.sock
printf '%s\n' "$dw_db_password" >"$work/db.pw"
chmod 600 "$work/db.pw"
cat >"$work/dwproxy.yaml" <<YAML
# Generated by scripts/demo.sh. Listen addresses come from --listen.
phase: 0
state_file: $work/state.json
backends:
  old: { host: 127.0.0.1, port: $old_port, dbname: $dw_db_name, user: $dw_db_user, password_file: $work/db.pw, tls: disable }
  new: { host: 127.0.0.1, port: $new_port, dbname: $dw_db_name, user: $dw_db_user, password_file: $work/db.pw, tls: disable }
logging: { level: info }
control: { socket: $control_socket }
divergence_log: { path: $work/divergences.jsonl }
YAML
show_cmd cat "$work/dwproxy.yaml"
sed 's/^/    /' "$work/dwproxy.yaml"
show_cmd dwproxy --config "$work/dwproxy.yaml" --listen "127.0.0.1:$proxy_port"
if ! dw_dwproxy_start "$work/dwproxy.log" "$proxy_port" --config "$work/dwproxy.yaml"; then
  dw_die "$dw_proxy_problem"
fi
dw_defer announce "stopping dwproxy (pid $dw_dwproxy_pid)" dw_stop_pid "$dw_dwproxy_pid"
dw_info "listening on 127.0.0.1:$proxy_port (pid $dw_dwproxy_pid); clients log in as" \
  "$dw_db_user/$dw_db_password (the OLD backend's credentials); dwctl on $control_socket"

dw_heading "5. Traffic through the proxy while dwctl walks 0 -> 1 -> 2 -> 3"
dw_info "$readers_clients readers (pgbench -S) for ${readers_seconds}s from phase 0 on," \
  "$writers_clients writers (pgbench TPC-B-like) for ${writers_seconds}s from phase 1 on;" \
  "a move every ${move_gap}s"
walk_phases
show_divergences

dw_heading "8. Queries through the proxy"
psql_through_proxy "SELECT inet_server_port() AS answered_by_port, split_part(version(), ' on ', 1) AS server"
psql_through_proxy "SELECT count(*) AS accounts, (SELECT count(*) FROM pgbench_history) AS history_rows FROM pgbench_accounts"
dw_info "port $new_port is NEW: in phase 4 (cleanup) NEW answers every statement and OLD gets none."

dw_heading "9. What dwproxy logged (last lines of $work/dwproxy.log)"
tail -n 8 "$work/dwproxy.log"
