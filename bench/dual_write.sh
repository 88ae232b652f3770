#!/usr/bin/env bash
# Dual-write benchmark (issue 3): pgbench tpcb-like in interleaved rounds of ONE run against
#   direct    PostgreSQL OLD, no proxy
#   ordered   dwproxy in phase 1 (dual-write), shadow.mode ordered
#   async     dwproxy in phase 1, shadow.mode async
#   pgpool    pgpool-II in native replication mode over the same OLD and NEW
# then the flip stall: while the same load runs through dwproxy (ordered), `dwctl phase 2`,
# `dwctl phase 3` (the flip) and `dwctl phase 2` (the flip back), with the longest
# transaction around each move taken from pgbench's per-transaction logs.
# Every run starts from freshly initialised pgbench tables on both clusters. After each
# dwproxy or pgpool run, OLD's and NEW's tables are compared (row count and md5 of the
# sorted rows): both tools are meant to keep them identical.
# Reports TPS, p50/p99 latency, failed transactions, OLD=NEW, TPS vs pgpool, and the flip
# rows, against the goals: phase-1 ordered TPS >= 2x pgpool's, flip stall < 100 ms,
# 0 failed. Written to bench/results/<timestamp>-dual-write.md as well.
# A dwproxy that refuses to start, log in or move phases gives a "not available" row with
# the reason; the other targets still run.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

# shellcheck source=lib/harness.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib/harness.sh"

usage() {
  cat <<'USAGE'
Usage: bench/dual_write.sh [options]
  -T, --time SEC         measured seconds per round and target (default 20)
  -r, --rounds N         interleaved rounds (default 2)
  -c, --clients N        pgbench clients (default 16)
  -j, --jobs N           pgbench threads (default 2)
  -s, --scale N          pgbench scale factor (default: the number of clients)
      --warmup SEC       unmeasured run per target before round 1 (default 2, 0 = none)
      --skip-pgpool      no pgpool-II target
      --skip-flip        no flip measurement
      --flip-gap SEC     load time before, between and after the flip moves (default 4)
      --proxy-threads N  pass threads: N to dwproxy (default: dwproxy's own default)
      --proxy-phase N    phase the dwproxy targets start in (default 1; with 0 nothing
                         reaches NEW: dwproxy's cost without dual-write)
  -h, --help
Environment: DW_PROXY_BIN=/path/to/dwproxy skips the Release build and uses that binary;
DW_DWCTL_BIN=/path/to/dwctl likewise (default: the dwctl beside DW_PROXY_BIN's build).
USAGE
}

duration=20 rounds=2 clients=16 jobs=2 scale='' warmup=2 flip_gap=4 proxy_threads=''
proxy_phase=1 skip_pgpool=0 skip_flip=0
while (($#)); do
  case $1 in
    -T | --time) duration=${2:?}; shift ;;
    -r | --rounds) rounds=${2:?}; shift ;;
    -c | --clients) clients=${2:?}; shift ;;
    -j | --jobs) jobs=${2:?}; shift ;;
    -s | --scale) scale=${2:?}; shift ;;
    --warmup) warmup=${2:?}; shift ;;
    --skip-pgpool) skip_pgpool=1 ;;
    --skip-flip) skip_flip=1 ;;
    --flip-gap) flip_gap=${2:?}; shift ;;
    --proxy-threads) proxy_threads=${2:?}; shift ;;
    --proxy-phase) proxy_phase=${2:?}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; dw_die "unknown option '$1'" ;;
  esac
  shift
done
# pgbench's documentation: a scale below the client count mostly measures contention on
# pgbench_branches' few rows (at scale 1, every transaction updates the one branch row).
scale=${scale:-$clients}
for n in "$duration" "$rounds" "$clients" "$jobs" "$scale" "$warmup" "$flip_gap" "$proxy_phase" \
  ${proxy_threads:+"$proxy_threads"}; do
  [[ $n =~ ^[0-9]+$ ]] || dw_die "expected a number, got '$n'"
done
((duration > 0 && rounds > 0 && clients > 0 && jobs > 0 && scale > 0 && flip_gap > 0)) ||
  dw_die "numbers must be > 0"
((jobs <= clients)) || dw_die "--jobs ($jobs) must not exceed --clients ($clients)"
((proxy_phase <= 1)) || dw_die "--proxy-phase must be 0 or 1"

targets=(direct ordered async pgpool)
((skip_pgpool)) && targets=(direct ordered async)
declare -A label=(
  [direct]="direct OLD"
  [ordered]="dwproxy phase $proxy_phase, shadow ordered"
  [async]="dwproxy phase $proxy_phase, shadow async"
  [pgpool]="pgpool-II native replication"
)
declare -A port pid problem note tps_list tx_sum failed_sum same cpu_sum
skip_target() { # TARGET REASON
  problem[$1]=$2
  dw_warn "${label[$1]}: not available: $2"
}
active() { [[ -z ${problem[$1]:-} ]]; }
replicated() { [[ $1 != direct ]]; }

dw_install_traps
load_start=$(cut -d' ' -f1 /proc/loadavg)
dw_heading "Setup"
dw_install_deps
work=
dw_make_workdir work dwbench-dual
mkdir -p "$work/out" "$work/lat"
if dw_build_dwproxy "$work/build.log" && dw_build_dwctl "$work/build.log"; then
  :
else
  skip_target ordered "$dw_proxy_problem"
  skip_target async "$dw_proxy_problem"
fi

# OLD and NEW. Each may hold at once: pgpool's cached connections (clients + 2), the
# clients of a run and, from dwproxy, their shadow connections.
port_new=
dw_pick_port 'port[direct]'
dw_pick_port port_new
old_dir=$work/old new_dir=$work/new
max_conn=$((3 * clients + 50))
dw_cluster_up "$old_dir" "${port[direct]}" -c "max_connections=$max_conn"
dw_cluster_up "$new_dir" "$port_new" -c "max_connections=$max_conn"
dw_raise_nofile $((6 * clients + 256))
export PGPASSWORD=$dw_db_password

# Fresh pgbench tables on both clusters (over their Unix sockets, trust), so that every run
# starts from the same state and OLD = NEW holds before it. pgbench -i is deterministic.
reinit() {
  local d p
  for d in old new; do
    if [[ $d == old ]]; then p=${port[direct]}; else p=$port_new; fi
    pgbench -i -q -s "$scale" -h "$work/$d" -p "$p" -U "$dw_db_user" "$dw_db_name" \
      >"$work/init.log" 2>&1 || {
      cat "$work/init.log" >&2
      dw_die "pgbench -i failed on ${d^^}"
    }
  done
}

# Prints "" when OLD and NEW hold the same pgbench tables, else the names of those that
# differ. Row count + md5 over the rows sorted as text: pgbench_history has no key, and
# its rows arrive in a different order on each side.
tables=(pgbench_accounts pgbench_branches pgbench_tellers pgbench_history)
table_digest() { # DIR PORT TABLE
  dw_cluster_psql "$1" "$2" \
    "SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '-') FROM $3 t"
}
differing_tables() {
  local t differ=()
  for t in "${tables[@]}"; do
    [[ $(table_digest "$old_dir" "${port[direct]}" "$t") == "$(table_digest "$new_dir" "$port_new" "$t")" ]] ||
      differ+=("${t#pgbench_}")
  done
  echo "${differ[*]}"
}
# The same, retried for up to 5 s: a shadow may still be applying its last statements
# when pgbench has already disconnected.
settled_difference() {
  local diff deadline=$((SECONDS + 5))
  while :; do
    diff=$(differing_tables)
    [[ -z $diff ]] || ((SECONDS >= deadline)) && break
    sleep 0.5
  done
  echo "$diff"
}
new_history_rows() { dw_cluster_psql "$new_dir" "$port_new" 'SELECT count(*) FROM pgbench_history'; }

# pgbench against a target port; extra args go before the database name.
run_pgbench() { # PORT SECONDS ARGS...
  local p=$1 secs=$2
  shift 2
  pgbench -n -h 127.0.0.1 -p "$p" -U "$dw_db_user" -b tpcb-like -M simple \
    -c "$clients" -j "$jobs" -T "$secs" "$@" "$dw_db_name"
}

dw_info "pgbench -i -s $scale on OLD (127.0.0.1:${port[direct]}) and NEW (127.0.0.1:$port_new)"
reinit

# --- pgpool-II: native replication over OLD and NEW ------------------------------------
# Runs as the service user with everything (config, pid, sockets, status file, log) in
# its own dir. Clients log in with SCRAM: pool_passwd holds the password in clear
# ("TEXT" prefix), which pgpool needs to log in to two SCRAM backends on a client's
# behalf; the client's SCRAM exchange is checked against the same entry.
pgpool_start() { # DIR LISTEN_PORT
  local dir=$1 p=$2 pcp_port
  dw_pick_port pcp_port
  dw_make_service_dir "$dir"
  dw_make_service_dir "$dir/oiddir"
  printf '%s:TEXT%s\n' "$dw_db_user" "$dw_db_password" >"$dir/pool_passwd"
  : >"$dir/pcp.conf"
  cat >"$dir/pgpool.conf" <<CONF
backend_clustering_mode = 'native_replication'
listen_addresses = '127.0.0.1'
port = $p
socket_dir = '$dir'
pcp_listen_addresses = ''
pcp_port = $pcp_port
pcp_socket_dir = '$dir'
wd_ipc_socket_dir = '$dir'
pid_file_name = '$dir/pgpool.pid'
logdir = '$dir'
memqcache_oiddir = '$dir/oiddir'
backend_hostname0 = '127.0.0.1'
backend_port0 = ${port[direct]}
backend_weight0 = 1
backend_flag0 = 'DISALLOW_TO_FAILOVER'
backend_hostname1 = '127.0.0.1'
backend_port1 = $port_new
backend_weight1 = 1
backend_flag1 = 'DISALLOW_TO_FAILOVER'
enable_pool_hba = off
pool_passwd = '$dir/pool_passwd'
num_init_children = $((clients + 2))
max_pool = 1
connection_cache = on
replicate_select = off
load_balance_mode = off
insert_lock = off
failover_on_backend_error = off
health_check_period = 0
sr_check_period = 0
use_watchdog = off
memory_cache_enabled = off
log_destination = 'stderr'
log_min_messages = warning
CONF
  chmod 600 "$dir/pool_passwd" "$dir/pcp.conf" "$dir/pgpool.conf"
  if dw_is_root; then chown "$dw_service_user:" "$dir/pool_passwd" "$dir/pcp.conf" "$dir/pgpool.conf"; fi
  dw_exec_daemon_as_service_user /usr/sbin/pgpool -n -f "$dir/pgpool.conf" -F "$dir/pcp.conf" \
    >>"$dir/pgpool.log" 2>&1 &
  pid[pgpool]=$!
  # SIGINT is pgpool's fast shutdown (SIGTERM, smart, would wait for clients).
  dw_defer dw_stop_pid "${pid[pgpool]}" INT
  if ! dw_wait_login "$(dw_uri "$p")" "${pid[pgpool]}" 30; then
    tail -n 20 "$dir/pgpool.log" >&2 || true
    dw_stop_pid "${pid[pgpool]}" INT
    return 1
  fi
}
if ((!skip_pgpool)); then
  dw_pick_port 'port[pgpool]'
  if pgpool_start "$work/pgpool" "${port[pgpool]}"; then
    dw_info "pgpool-II on 127.0.0.1:${port[pgpool]} (pid ${pid[pgpool]})"
  else
    skip_target pgpool "pgpool did not accept a login within 30 s (log above: $work/pgpool/pgpool.log)"
  fi
fi

# --- dwproxy: one process per shadow mode (shadow.mode is bound at start-up) ------------
dwproxy_config() { # DIR MODE
  local dir=$1 mode=$2
  mkdir -p "$dir"
  cat >"$dir/dwproxy.yaml" <<YAML
phase: $proxy_phase
${proxy_threads:+threads: $proxy_threads}
backends:
  old: { host: 127.0.0.1, port: ${port[direct]}, dbname: $dw_db_name, user: $dw_db_user,
         password: $dw_db_password, tls: disable }
  new: { host: 127.0.0.1, port: $port_new, dbname: $dw_db_name, user: $dw_db_user,
         password: $dw_db_password, tls: disable }
shadow: { mode: $mode }
divergence_log: { path: $dir/divergences.jsonl }
control: { socket: $dir/control.sock }
logging: { level: warn }
YAML
  chmod 600 "$dir/dwproxy.yaml"
}
for t in ordered async; do
  active "$t" || continue
  dwproxy_config "$work/dw-$t" "$t"
  dw_pick_port "port[$t]"
  if ! "$dw_proxy_bin" --check-config "$work/dw-$t/dwproxy.yaml" >"$work/dw-$t/check.log" 2>&1; then
    cat "$work/dw-$t/check.log" >&2
    skip_target "$t" "dwproxy --check-config refused the config: $(head -n 1 "$work/dw-$t/check.log")"
  elif dw_dwproxy_start "$work/dw-$t/dwproxy.log" "${port[$t]}" --config "$work/dw-$t/dwproxy.yaml"; then
    pid[$t]=$dw_dwproxy_pid
    dw_info "dwproxy ($t) on 127.0.0.1:${port[$t]} (pid ${pid[$t]})"
  else
    skip_target "$t" "$dw_proxy_problem"
  fi
done

# Warm-up: proves each path works before anything is measured, and shows whether writes
# through dwproxy reach NEW at all.
if ((warmup > 0)); then
  dw_heading "Warm-up (${warmup}s per target, not measured)"
  for t in "${targets[@]}"; do
    active "$t" || continue
    reinit
    if ! run_pgbench "${port[$t]}" "$warmup" >"$work/out/$t.warmup.txt" 2>&1; then
      tail -n 5 "$work/out/$t.warmup.txt" >&2
      skip_target "$t" "warm-up pgbench failed: $(grep -m1 -iE 'error|fatal|abort' "$work/out/$t.warmup.txt" || echo 'see output above')"
      continue
    fi
    if replicated "$t" && [[ $(new_history_rows) == 0 ]]; then
      note[$t]="no write reached NEW during the warm-up"
      dw_warn "${label[$t]}: ${note[$t]}"
    fi
    dw_info "${label[$t]}: ok"
  done
fi

# Percentile by nearest rank over one latency (µs) per line; prints "p50_ms p99_ms".
percentiles() { # FILE
  local n
  n=$(wc -l <"$1" 2>/dev/null || echo 0)
  if ((n == 0)); then
    echo "n/a n/a"
    return
  fi
  LC_ALL=C sort -n -S 20% "$1" | awk -v n="$n" '
    BEGIN { i50 = int((n * 50 + 99) / 100); i99 = int((n * 99 + 99) / 100) }
    NR == i50 { p50 = $1 } NR == i99 { p99 = $1 }
    END { printf "%.3f %.3f\n", p50 / 1000, p99 / 1000 }'
}
pgbench_field() { # FILE REGEX-WITH-ONE-GROUP
  sed -nE "s/$2/\1/p" "$1" | head -n 1
}

round_rows=()
# CPU ticks of the target's proxy (0 for direct), and of OLD's and NEW's servers with all
# their backends (those that exited included), as "PROXY OLD NEW".
cpu_snapshot() { # TARGET
  local proxy=0 dir servers=()
  [[ -n ${pid[$1]:-} ]] && proxy=$(dw_tree_cpu_ticks "${pid[$1]}")
  for dir in "$old_dir" "$new_dir"; do
    servers+=("$(dw_tree_cpu_ticks "$(head -n 1 "$dir/postmaster.pid")")")
  done
  echo "$proxy ${servers[*]}"
}

run_round() { # TARGET ROUND
  local t=$1 r=$2 out=$work/out/$1.r$2.txt prefix=$work/lat/$1.r$2 rc=0 tps tx failed diff=n/a
  local cpu_before cpu_after
  reinit
  cpu_before=$(cpu_snapshot "$t")
  run_pgbench "${port[$t]}" "$duration" --log --log-prefix="$prefix" >"$out" 2>&1 || rc=$?
  cpu_after=$(cpu_snapshot "$t")
  if [[ -n ${pid[$t]:-} ]] && ! dw_alive "${pid[$t]}"; then
    skip_target "$t" "the process died during round $r"
    return
  fi
  tps=$(pgbench_field "$out" '^tps = ([0-9.]+) .*')
  tx=$(pgbench_field "$out" '^number of transactions actually processed: ([0-9]+).*')
  failed=$(pgbench_field "$out" '^number of failed transactions: ([0-9]+).*')
  if ((rc != 0)) || [[ -z $tps || -z $tx ]]; then
    tail -n 5 "$out" >&2
    skip_target "$t" "pgbench failed in round $r (status $rc): $(grep -m1 -iE 'error|fatal|abort' "$out" || echo 'see output above')"
    return
  fi
  # Latency is the 3rd field in µs; failed transactions carry a word there instead.
  awk '$3 ~ /^[0-9]+$/ { print $3 }' "$prefix".* >>"$work/lat/$t.us"
  rm -f "$prefix".*
  tps_list[$t]+="$tps "
  tx_sum[$t]=$((${tx_sum[$t]:-0} + tx))
  cpu_sum[$t]=$(awk -v a="$cpu_before" -v b="$cpu_after" -v s="${cpu_sum[$t]:-0 0 0}" 'BEGIN {
    split(a, x, " "); split(b, y, " "); split(s, z, " ")
    for (i = 1; i <= 3; i++) printf "%d%s", z[i] + y[i] - x[i], (i < 3 ? " " : "\n") }')
  failed_sum[$t]=$((${failed_sum[$t]:-0} + ${failed:-0}))
  if replicated "$t"; then
    diff=$(settled_difference)
    if [[ -z $diff ]]; then
      diff=yes
    else
      same[$t]+="r$r ${diff// /, }; "
      diff="NO (${diff// /, })"
    fi
  fi
  round_rows+=("$r|${label[$t]}|$(printf '%.1f' "$tps")|$tx|${failed:-0}|$diff")
  printf '  round %d/%d  %-32s  tps %8.1f  failed %d  OLD=NEW %s\n' \
    "$r" "$rounds" "${label[$t]}" "$tps" "${failed:-0}" "$diff"
}

dw_heading "Measuring: tpcb-like -M simple, scale $scale, $clients clients, $rounds x ${duration}s per target"
echo "note: $(nproc) CPUs shared by pgbench, two postgres servers and the proxy; nothing is"
echo "      pinned, so read the ratios, not the absolute numbers."
dw_interleave_rounds "$rounds" "${targets[@]}"

# --- the flip stall ---------------------------------------------------------------------
# pgbench runs through the ordered dwproxy while dwctl moves it 1 -> 2, 2 -> 3 (the flip)
# and 3 -> 2 (the flip back), flip_gap seconds apart (with --proxy-phase 0, 0 -> 1 first).
# For each move, the window runs from just before dwctl starts until it returns. From the
# per-transaction log (end = epoch timestamp, start = end - latency):
#   stall      the longest latency of a transaction that was running at some point in it
#   commit gap the longest time without any transaction ending that overlaps it
#   failed     failed transactions that ended in it (or up to 1 s after)
# The same two figures before the first move are the load's own, for comparison.
flip_rows=()
flip_problem=
flip_lines=()
now_us() { date +%s%6N; }
json_num() { jq -r "($2) | if . == null then \"n/a\" else tostring end" <<<"$1" 2>/dev/null || echo n/a; }
measure_flip() {
  local dir=$work/dw-ordered prefix=$work/lat/fliplog out=$work/out/flip.txt
  local secs bench_pid rc=0 i target t0 t1 json mrc msg
  local -a moves=() t0s=() t1s=() names=() took=() paused=()
  # Forward one phase at a time up to 3 (from the stand-in phase 0 that includes 0 -> 1),
  # then the flip back to 2.
  for ((i = proxy_phase + 1; i <= 3; i++)); do moves+=("$i"); done
  moves+=(2)
  secs=$(((${#moves[@]} + 1) * flip_gap + 6))
  reinit
  run_pgbench "${port[ordered]}" "$secs" --log --log-prefix="$prefix" >"$out" 2>&1 &
  bench_pid=$!
  dw_defer dw_stop_pid "$bench_pid"
  sleep "$flip_gap"
  for i in "${!moves[@]}"; do
    target=${moves[i]}
    if ! dw_alive "$bench_pid"; then
      flip_lines+=("- move to phase $target not tried: pgbench had already ended")
      break
    fi
    t0=$(now_us)
    mrc=0
    json=$("$dw_dwctl_bin" --socket "$dir/control.sock" --json --timeout 60 phase "$target" 2>"$work/out/dwctl.err") || mrc=$?
    t1=$(now_us)
    printf '%s\n' "$json" >>"$work/out/dwctl.json"
    if ((mrc != 0)); then
      msg=$(jq -r '.error // .message // empty' <<<"$json" 2>/dev/null || true)
      [[ -n $msg ]] || msg=$(head -c 300 "$work/out/dwctl.err")
      [[ -n $msg ]] || msg=$(head -c 300 <<<"$json")
      flip_problem="dwctl phase $target was refused (exit $mrc): ${msg:-no message}"
      dw_warn "$flip_problem"
      break
    fi
    names+=("$(json_num "$json" .from) -> $(json_num "$json" .phase)")
    [[ $(json_num "$json" .flip) != true ]] || names[-1]+=" (flip)"
    took+=("$(json_num "$json" .took_ms)")
    paused+=("$(json_num "$json" .paused_for_ms)")
    t0s+=("$t0")
    t1s+=("$t1")
    dw_info "dwctl phase $target: ${names[-1]}, took ${took[-1]} ms, held new transactions ${paused[-1]} ms"
    sleep "$flip_gap"
  done
  wait "$bench_pid" || rc=$?
  flip_lines+=("- load: pgbench $clients clients for ${secs}s through dwproxy (ordered), exit status $rc:\
 $(pgbench_field "$out" '^number of failed transactions: ([0-9]+).*') failed transactions,\
 $(grep -c 'aborted' "$out" || true) client abort line(s)")
  ((rc == 0)) || tail -n 5 "$out" >&2
  cat "$prefix".* >"$work/lat/flip.txt" 2>/dev/null || : >"$work/lat/flip.txt"
  rm -f "$prefix".*
  awk '{ printf "%.0f\n", $5 * 1000000 + $6 }' "$work/lat/flip.txt" | sort -n >"$work/lat/flip-ends.us"
  # Longest time between two consecutive transaction ends that overlaps [T0, T1].
  commit_gap() { # T0 T1
    awk -v t0="$1" -v t1="$2" 'NR > 1 && $1 >= t0 && prev <= t1 && $1 - prev > max { max = $1 - prev }
      { prev = $1 } END { printf "%.1f\n", max / 1000 }' "$work/lat/flip-ends.us"
  }
  if ((${#t0s[@]} > 0)); then
    # Steady-state reference: transactions that ended before the first move began.
    awk -v t0="${t0s[0]}" '$3 ~ /^[0-9]+$/ && $5 * 1000000 + $6 < t0 { print $3 }' \
      "$work/lat/flip.txt" >"$work/lat/flip-before.us"
    read -r flip_p50 flip_p99 < <(percentiles "$work/lat/flip-before.us")
    flip_before_max=$(LC_ALL=C sort -n "$work/lat/flip-before.us" | awk 'END { printf "%.1f\n", $1 / 1000 }')
    flip_before_gap=$(commit_gap 0 $((t0s[0] - 1)))
    flip_lines+=("- before the first move (the load's own): latency p50 $flip_p50 ms, p99 $flip_p99 ms,\
 longest $flip_before_max ms; longest commit gap $flip_before_gap ms")
  fi
  for i in "${!t0s[@]}"; do
    read -r stall failed < <(awk -v t0="${t0s[i]}" -v t1="${t1s[i]}" '
      { end = $5 * 1000000 + $6 }
      $3 ~ /^[0-9]+$/ && end >= t0 && end - $3 <= t1 && $3 > max { max = $3 }
      $3 !~ /^[0-9]+$/ && end >= t0 && end <= t1 + 1000000 { failed++ }
      END { printf "%.1f %d\n", max / 1000, failed }' "$work/lat/flip.txt")
    flip_rows+=("${names[i]}|$stall|$(commit_gap "${t0s[i]}" "${t1s[i]}")|${took[i]}|${paused[i]}|$failed")
  done
  local diff
  diff=$(settled_difference)
  flip_lines+=("- OLD=NEW after the moves: $([[ -z $diff ]] && echo yes || echo "NO (${diff// /, })")")
}
if ((skip_flip)); then
  flip_problem="skipped (--skip-flip)"
elif ! active ordered; then
  flip_problem="needs the ordered dwproxy, which is not available: ${problem[ordered]}"
else
  dw_heading "Flip stall: dwctl phase moves under $clients-client load (ordered dwproxy)"
  measure_flip
fi

# --- report -------------------------------------------------------------------------------

declare -A tps_mean spread p50 p99
for t in "${targets[@]}"; do
  [[ -n ${tps_list[$t]:-} ]] || continue
  read -r "tps_mean[$t]" "spread[$t]" < <(awk '{ for (i = 1; i <= NF; i++) { s += $i
      if (i == 1 || $i < lo) lo = $i; if ($i > hi) hi = $i } m = s / NF
      printf "%.1f %.1f\n", m, m ? (hi - lo) / 2 / m * 100 : 0 }' <<<"${tps_list[$t]}")
  read -r "p50[$t]" "p99[$t]" < <(percentiles "$work/lat/$t.us")
done
have() { [[ -n ${tps_mean[$1]:-} ]]; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a ~ /^[0-9.]+$/) printf "%.2fx", a / b; else print "n/a" }'; }

table_rows=("target|TPS|p50 ms|p99 ms|failed tx|OLD=NEW after|TPS vs pgpool")
for t in "${targets[@]}"; do
  if ! have "$t"; then
    table_rows+=("${label[$t]}|not available|-|-|-|-|-")
    continue
  fi
  same_cell=n/a
  if replicated "$t"; then
    if [[ -n ${same[$t]:-} ]]; then same_cell="NO: ${same[$t]%; }"; else same_cell="yes, every round"; fi
  fi
  vs=n/a
  have pgpool && vs=$(ratio "${tps_mean[$t]}" "${tps_mean[pgpool]}")
  table_rows+=("${label[$t]}|${tps_mean[$t]} (+/-${spread[$t]}%)|${p50[$t]}|${p99[$t]}|${failed_sum[$t]}|$same_cell|$vs")
done

# Where the CPU of a transaction goes: this machine's CPUs serve pgbench, both servers and
# the proxy at once, so a target's TPS is bounded by nproc / (its CPU per transaction).
cpu_rows=("target|proxy us/tx|OLD us/tx|NEW us/tx|sum us/tx|CPUs busy at that TPS")
for t in "${targets[@]}"; do
  have "$t" || continue
  cpu_rows+=("$(awk -v s="${cpu_sum[$t]}" -v n="${tx_sum[$t]}" -v hz="$dw_clk_tck" -v tps="${tps_mean[$t]}" \
    -v name="${label[$t]}" -v direct="$( [[ $t == direct ]] && echo 1 || echo 0)" 'BEGIN {
      split(s, c, " "); for (i = 1; i <= 3; i++) { us[i] = c[i] * 1e6 / hz / n; sum += us[i] }
      if (direct) printf "%s|-|%.0f|-|%.0f|%.2f", name, us[2], us[2], us[2] * tps / 1e6
      else printf "%s|%.0f|%.0f|%.0f|%.0f|%.2f", name, us[1], us[2], us[3], sum, sum * tps / 1e6 }')")
done

goals() {
  local total_failed=0 t verdict
  if ((proxy_phase != 1)); then
    echo "- phase-1 ordered TPS >= 2x pgpool's: not evaluated (dwproxy ran in phase $proxy_phase)"
  elif have ordered && have pgpool; then
    verdict=$(awk -v a="${tps_mean[ordered]}" -v b="${tps_mean[pgpool]}" \
      'BEGIN { printf "%.2fx: %s", a / b, (a >= 2 * b ? "MET" : "NOT MET") }')
    if [[ -n ${same[ordered]:-} ]]; then
      verdict="not evaluated: ${verdict%%:*} of pgpool's, but OLD and NEW differed after the ordered runs, so this was no real dual-write"
    fi
    echo "- phase-1 ordered TPS >= 2x pgpool's: $verdict"
  else
    echo "- phase-1 ordered TPS >= 2x pgpool's: not evaluated (${problem[ordered]:-${problem[pgpool]:-pgpool skipped}})"
  fi
  if ((${#flip_rows[@]} == 0)); then
    echo "- flip stall < 100 ms: not evaluated (${flip_problem:-no move was measured})"
  else
    awk -F'|' -v p99="${flip_p99:-0}" '$1 ~ /flip/ { n++; if ($2 + 0 >= 100) bad = bad sprintf(" %s: %s ms;", $1, $2) }
      END { if (!n) { print "- flip stall < 100 ms: not evaluated (no move was a flip)"; exit }
            print "- flip stall < 100 ms (longest stall): " (bad == "" ? "MET" : "NOT MET (" substr(bad, 2, length(bad) - 2) ")")
            if (p99 + 0 >= 100) printf "  (the load alone had a p99 of %s ms before the moves, so latency cannot" \
              " show a 100 ms stall here; see the commit gaps)\n", p99 }' \
      < <(printf '%s\n' "${flip_rows[@]}")
  fi
  if ! have ordered && ! have async && ((${#flip_rows[@]} == 0)); then
    echo "- 0 failed transactions through dwproxy: not evaluated (no dwproxy run was measured)"
    return
  fi
  for t in ordered async; do total_failed=$((total_failed + ${failed_sum[$t]:-0})); done
  for t in "${flip_rows[@]}"; do total_failed=$((total_failed + ${t##*|})); done
  echo "- 0 failed transactions through dwproxy (rounds and flip moves): $total_failed failed:" \
    "$( ((total_failed == 0)) && echo MET || echo NOT MET)"
}

stamp=$(date -u +%Y%m%d-%H%M%S)
load_end=$(cut -d' ' -f1 /proc/loadavg)
pg_version=$(dw_cluster_psql "$old_dir" "${port[direct]}" 'SHOW server_version')
pgpool_version=$(/usr/sbin/pgpool --version 2>&1 | awk '{ print $3 }')
commit=$(git -C "$dw_repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$dw_repo" diff --quiet HEAD 2>/dev/null || commit+=" (work tree has changes)"
report=$work/report.md
{
  echo "# Dual-write benchmark $(date -u '+%Y-%m-%d %H:%M:%S') UTC"
  echo
  echo "- workload: pgbench -b tpcb-like -M simple, $clients clients, $jobs threads, scale $scale;" \
    "tables re-initialised on OLD and NEW before every run"
  echo "- rounds: $rounds x ${duration}s per target, interleaved with a rotating start; warm-up ${warmup}s"
  echo "- OLD, NEW: PostgreSQL $pg_version (fsync off); pgpool-II: $( ((skip_pgpool)) && echo skipped ||
    echo "$pgpool_version, native_replication, connection_cache on, num_init_children $((clients + 2))")"
  echo "- dwproxy: ${dw_proxy_bin:-not built} (phase $proxy_phase${proxy_threads:+, threads $proxy_threads});" \
    "dwctl: ${dw_dwctl_bin:-none}"
  echo "- commit: $commit"
  echo "- machine: $(nproc) CPUs, $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), loopback only"
  echo "- load average (1 min) before/after: $load_start / $load_end$(awk -v l="$load_start" \
    'BEGIN { if (l > 1) print " (other jobs were running: expect noise)" }')"
  echo
  printf '%s\n' "${table_rows[@]}" | dw_markdown_table
  echo
  echo "TPS: mean of the rounds (+/- half their range). p50/p99: every transaction of every round."
  echo "OLD=NEW: row count and md5 of the sorted rows of the four pgbench tables, after each run."
  echo
  echo "CPU per transaction (user + system, over the measured rounds; pgbench's own not counted):"
  echo
  printf '%s\n' "${cpu_rows[@]}" | dw_markdown_table
  echo
  echo "proxy: dwproxy, or pgpool-II with all its processes; OLD, NEW: the server with all its"
  echo "backends. The machine has $(nproc) CPUs: where the last column nears that, the servers and the"
  echo "proxy are competing for CPU, and TPS ratios measure CPU cost more than latency."
  for t in "${targets[@]}"; do
    [[ -n ${problem[$t]:-} ]] && echo "- ${label[$t]}: not available: ${problem[$t]}"
    [[ -n ${note[$t]:-} ]] && echo "- ${label[$t]}: ${note[$t]}"
    if [[ -n ${pid[$t]:-} && -d $work/dw-$t ]]; then
      echo "- ${label[$t]}: $(wc -l 2>/dev/null <"$work/dw-$t/divergences.jsonl" || echo 0) divergence record(s)" \
        "in its divergence log over the whole run$([[ $t == ordered ]] && echo ', flip included')"
    fi
  done
  echo
  echo "Flip stall (dwproxy, shadow ordered, $clients clients of tpcb-like running throughout):"
  echo
  {
    echo "move|longest stall ms|commit gap ms|dwctl took ms|paused_for ms|failed tx"
    if ((${#flip_rows[@]} == 0)); then
      echo "1 -> 2, 2 -> 3 (flip), 3 -> 2 (flip)|not available|-|-|-|-"
    else
      printf '%s\n' "${flip_rows[@]}"
    fi
  } | dw_markdown_table
  echo
  echo "longest stall: the longest latency of a transaction running while dwctl's move was under way;"
  echo "commit gap: the longest time in which no transaction ended, overlapping that window."
  [[ -n $flip_problem ]] && echo "- not available: $flip_problem"
  ((${#flip_lines[@]} == 0)) || printf '%s\n' "${flip_lines[@]}"
  echo
  echo "Goals:"
  echo
  goals
  echo
  echo "Per round:"
  echo
  {
    echo "round|target|TPS|transactions|failed|OLD=NEW"
    ((${#round_rows[@]} == 0)) || printf '%s\n' "${round_rows[@]}"
  } | dw_markdown_table
} >"$report"

dw_heading "Results"
cat "$report"
mkdir -p "$dw_repo/bench/results"
cp "$report" "$dw_repo/bench/results/$stamp-dual-write.md"
echo
dw_info "written to bench/results/$stamp-dual-write.md"
