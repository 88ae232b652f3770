#!/usr/bin/env bash
# Memory per idle authenticated client: for pgbouncer (session pooling) and dwproxy, reads
# the proxy's RSS (VmRSS) and PSS (smaps_rollup), opens N clients (default 1000) that log
# in with SCRAM, run one `SELECT 1` and then sit idle, waits until PostgreSQL shows all N
# idle, reads the memory again and reports the growth per client in KiB. The report is also
# written to bench/results/<timestamp>-idle.md.
# The holder is pgbench itself (no compiler, no process per client): one thread per 500
# clients, a custom script `SELECT 1 AS dw_idle_holder; \sleep :hold s`, run once per client.
# It does not measure PostgreSQL's memory, pgbench's, or busy clients; each proxy gets a
# fresh process so earlier runs leave nothing behind.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

# shellcheck source=lib/harness.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib/harness.sh"

usage() {
  cat <<'USAGE'
Usage: bench/idle_clients.sh [options]
  -n, --clients N      idle clients per proxy (default 1000)
      --targets LIST   comma-separated subset of pgbouncer,dwproxy (default both)
      --timeout SEC    give up when the clients are not all idle by then (default 300)
      --goal KIB       dwproxy's goal in KiB per client (default 8)
  -h, --help
Environment: DW_PROXY_BIN=/path/to/dwproxy skips the Release build and uses that binary.
USAGE
}

clients=1000 targets_arg=pgbouncer,dwproxy timeout=300 goal=8
while (($#)); do
  case $1 in
    -n | --clients) clients=${2:?}; shift ;;
    --targets) targets_arg=${2:?}; shift ;;
    --timeout) timeout=${2:?}; shift ;;
    --goal) goal=${2:?}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; dw_die "unknown option '$1'" ;;
  esac
  shift
done
for n in "$clients" "$timeout" "$goal"; do
  if ! [[ $n =~ ^[0-9]+$ ]] || ((n == 0)); then dw_die "expected a positive number, got '$n'"; fi
done
targets=()
IFS=, read -ra requested <<<"$targets_arg"
for t in "${requested[@]}"; do
  [[ $t =~ ^(pgbouncer|dwproxy)$ ]] || dw_die "unknown target '$t'"
done
for t in pgbouncer dwproxy; do
  [[ " ${requested[*]} " == *" $t "* ]] && targets+=("$t")
done
((${#targets[@]} > 0)) || dw_die "no targets"
((timeout <= 1800)) || dw_die "--timeout must be <= 1800 (the holders sleep 2000 s)"
wants() { [[ " ${targets[*]} " == *" $1 "* ]]; }

dw_install_traps
dw_heading "Setup"
dw_install_deps
work=
dw_make_workdir work dwbench-idle
declare -A problem
if wants dwproxy && ! dw_build_dwproxy "$work/build.log"; then
  problem[dwproxy]=$dw_proxy_problem
  dw_warn "dwproxy: skipped: $dw_proxy_problem"
fi

pg_port=
dw_pick_port pg_port
max_conn=$((clients + 100 > 1100 ? clients + 100 : 1100))
dw_cluster_up "$work/pg" "$pg_port" -c "max_connections=$max_conn"
# pgbench holds N sockets, the proxy N client + N server sockets.
dw_raise_nofile $((2 * clients + 256))
export PGPASSWORD=$dw_db_password
marker=dw_idle_holder
printf 'SELECT 1 AS %s;\n\\sleep :hold s\n' "$marker" >"$work/holder.sql"

# Backends whose last statement was the holder's and that are idle now. The pattern does
# not match this polling query itself, whose text starts with "SELECT count".
idle_holders() {
  dw_cluster_psql "$work/pg" "$pg_port" "SELECT count(*) FROM pg_stat_activity
    WHERE state = 'idle' AND query LIKE 'SELECT 1 AS $marker%'"
}
client_backends() {
  dw_cluster_psql "$work/pg" "$pg_port" "SELECT count(*) FROM pg_stat_activity
    WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
}

# Waits for the event "all N holders authenticated, ran their query and are idle";
# fails when the holder pgbench exits first or the timeout passes.
wait_all_idle() { # HOLDER_PID
  local holder=$1 deadline=$((SECONDS + timeout)) n=0 last_report=$SECONDS
  while :; do
    n=$(idle_holders)
    ((n >= clients)) && return 0
    dw_alive "$holder" || return 1
    ((SECONDS < deadline)) || return 1
    if ((SECONDS - last_report >= 5)); then
      dw_info "  $n/$clients idle"
      last_report=$SECONDS
    fi
    sleep 0.5
  done
}

# After a proxy is stopped, its server connections must be gone before the next starts.
wait_no_backends() {
  local deadline=$((SECONDS + 60))
  while (($(client_backends) > 0)) && ((SECONDS < deadline)); do sleep 0.2; done
}

rows=()
# Starts TARGET fresh, measures it with N idle clients, stops it. Sets problem[TARGET] on
# failure. Baseline is read after one login through the proxy, so one-off initialisation
# (first server connection, lazily built tables) is not charged to the clients.
measure() { # TARGET
  local t=$1 port pid rss0 pss0 rss1 pss1 holder started elapsed extra=''
  dw_heading "$t: $clients idle clients"
  dw_pick_port port
  case $t in
    pgbouncer)
      dw_pgbouncer_start "$work/pgbouncer" "$port" "$work/pg" "$pg_port" $((clients + 20)) $((clients + 10))
      pid=$dw_pgbouncer_pid
      ;;
    dwproxy)
      if ! dw_dwproxy_start "$work/dwproxy.log" "$port" --old "$(dw_uri "$pg_port")" --log-level warn; then
        problem[dwproxy]=$dw_proxy_problem
        dw_warn "dwproxy: skipped: $dw_proxy_problem"
        return 0
      fi
      pid=$dw_dwproxy_pid
      ;;
  esac
  rss0=$(dw_rss_kib "$pid")
  pss0=$(dw_pss_kib "$pid")
  dw_info "baseline (pid $pid): RSS $rss0 KiB, PSS $pss0 KiB"

  started=$SECONDS
  # pgbench keeps \sleep in int microseconds: more than ~2147 s wraps to no sleep at all.
  pgbench -n -h 127.0.0.1 -p "$port" -U "$dw_db_user" -c "$clients" -j $(((clients + 499) / 500)) \
    -t 1 -f "$work/holder.sql" -D hold=2000 "$dw_db_name" >"$work/holder.$t.log" 2>&1 &
  holder=$!
  if ! wait_all_idle "$holder"; then
    problem[$t]="only $(idle_holders)/$clients clients became idle within ${timeout}s"
    tail -n 5 "$work/holder.$t.log" >&2
    dw_warn "$t: ${problem[$t]}"
    dw_stop_pid "$holder"
    dw_stop_pid "$pid"
    wait_no_backends
    return 0
  fi
  elapsed=$((SECONDS - started))
  rss1=$(dw_rss_kib "$pid")
  pss1=$(dw_pss_kib "$pid")
  dw_info "all $clients idle after ${elapsed}s: RSS $rss1 KiB, PSS $pss1 KiB"
  if [[ $t == pgbouncer ]]; then
    # Session pooling: a client that has run a query keeps its server connection linked.
    extra=$(psql -X -Aq -F'|' -h 127.0.0.1 -p "$port" -U "$dw_db_user" -d pgbouncer -c 'SHOW POOLS' |
      awk -F'|' -v db="$dw_db_name" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i }
        $1 == db { printf "cl_active %s, sv_active %s, sv_idle %s", $c["cl_active"], $c["sv_active"], $c["sv_idle"] }')
    dw_info "pgbouncer SHOW POOLS: $extra"
  fi

  dw_stop_pid "$holder"
  dw_stop_pid "$pid"
  wait_no_backends
  rows+=("$t|$clients|$rss0|$rss1|$(per_client "$rss0" "$rss1")|$pss0|$pss1|$(per_client "$pss0" "$pss1")|$(goal_for "$t" "$rss0" "$rss1")")
}
per_client() { awk -v a="$1" -v b="$2" -v n="$clients" 'BEGIN { printf "%.2f", (b - a) / n }'; }
goal_for() { # TARGET RSS0 RSS1
  [[ $1 == dwproxy ]] || {
    echo reference
    return
  }
  awk -v a="$2" -v b="$3" -v n="$clients" -v g="$goal" \
    'BEGIN { printf "< %s KiB: %s", g, ((b - a) / n < g ? "MET" : "NOT MET") }'
}

for t in "${targets[@]}"; do
  [[ -n ${problem[$t]:-} ]] || measure "$t"
done

stamp=$(date -u +%Y%m%d-%H%M%S)
report=$work/report.md
{
  echo "# Idle clients $(date -u '+%Y-%m-%d %H:%M:%S') UTC"
  echo
  echo "- $clients clients per proxy: SCRAM login, one \`SELECT 1\`, then idle (pgbench holder)"
  echo "- pgbouncer $(pgbouncer -V | awk 'NR == 1 { print $2 }') in session pooling: each of these clients keeps its server connection"
  echo "- dwproxy phase 0: ${dw_proxy_bin:-not built}"
  echo "- commit: $(git -C "$dw_repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "- growth per client = (after - baseline) / clients; the goal is judged on RSS, because PSS"
  echo "  also moves when other processes (pgbench) map the same shared libraries"
  echo
  {
    echo "proxy|clients|RSS before KiB|RSS after KiB|RSS KiB/client|PSS before KiB|PSS after KiB|PSS KiB/client|goal"
    ((${#rows[@]} == 0)) || printf '%s\n' "${rows[@]}"
  } | dw_markdown_table
  for t in "${targets[@]}"; do
    [[ -n ${problem[$t]:-} ]] && echo "- $t skipped: ${problem[$t]}"
  done
} >"$report"

dw_heading "Results"
cat "$report"
mkdir -p "$dw_repo/bench/results"
cp "$report" "$dw_repo/bench/results/$stamp-idle.md"
echo
dw_info "written to bench/results/$stamp-idle.md"
