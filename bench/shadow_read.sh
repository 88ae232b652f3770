#!/usr/bin/env bash
# Shadow-read benchmark (issue 4): pgbench select-only in interleaved rounds of ONE run against
#   direct   PostgreSQL OLD, no proxy
#   phase1   dwproxy in phase 1 (dual-write: reads go to OLD only)
#   phase2   dwproxy in phase 2 with shadow_reads.sample_rate 1 (every read also runs on
#            NEW and is compared)
# and reports TPS, latency, and the client-visible TPS drop of phase 2 against phase 1
# (goal: under 10% at 16 clients), with how many reads phase 2 compared, matched and skipped.
# Written to bench/results/<timestamp>-shadow-read.md as well.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

# shellcheck source=lib/harness.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib/harness.sh"

usage() {
  cat <<'USAGE'
Usage: bench/shadow_read.sh [options]
  -T, --time SEC         measured seconds per round and target (default 15)
  -r, --rounds N         interleaved rounds (default 2)
  -c, --clients N        pgbench clients (default 16)
  -j, --jobs N           pgbench threads (default 2)
  -s, --scale N          pgbench scale factor (default 1)
  -M, --protocol MODE    pgbench query mode: simple, extended, prepared (default prepared)
      --rate R           shadow_reads.sample_rate of the phase2 target (default 1)
      --proxy-threads N  pass threads: N to dwproxy (default: dwproxy's own default)
  -h, --help
Environment: DW_PROXY_BIN=/path/to/dwproxy skips the Release build and uses that binary;
DW_DWCTL_BIN=/path/to/dwctl likewise.
USAGE
}

duration=15 rounds=2 clients=16 jobs=2 scale=1 mode=prepared rate=1 proxy_threads=''
while (($#)); do
  case $1 in
    -T | --time) duration=${2:?}; shift ;;
    -r | --rounds) rounds=${2:?}; shift ;;
    -c | --clients) clients=${2:?}; shift ;;
    -j | --jobs) jobs=${2:?}; shift ;;
    -s | --scale) scale=${2:?}; shift ;;
    -M | --protocol) mode=${2:?}; shift ;;
    --rate) rate=${2:?}; shift ;;
    --proxy-threads) proxy_threads=${2:?}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; dw_die "unknown option '$1'" ;;
  esac
  shift
done
for n in "$duration" "$rounds" "$clients" "$jobs" "$scale" ${proxy_threads:+"$proxy_threads"}; do
  [[ $n =~ ^[0-9]+$ ]] || dw_die "expected a number, got '$n'"
done
[[ $mode =~ ^(simple|extended|prepared)$ ]] || dw_die "--protocol must be simple, extended or prepared"
[[ $rate =~ ^(0(\.[0-9]+)?|1(\.0+)?)$ ]] || dw_die "--rate must be a number from 0 to 1"
((jobs <= clients)) || dw_die "--jobs ($jobs) must not exceed --clients ($clients)"

targets=(direct phase1 phase2)
declare -A label=(
  [direct]="direct OLD"
  [phase1]="dwproxy phase 1 (dual-write)"
  [phase2]="dwproxy phase 2, sample_rate $rate"
)
declare -A port pid problem tps_list lat_list cpu_ticks txs
skip_target() { problem[$1]=$2; dw_warn "${label[$1]}: not available: $2"; }
active() { [[ -z ${problem[$1]:-} ]]; }

dw_install_traps
dw_heading "Setup"
dw_install_deps
work=
dw_make_workdir work dwbench-shadow-read
mkdir -p "$work/out"
if ! dw_build_dwproxy "$work/build.log" || ! dw_build_dwctl "$work/build.log"; then
  skip_target phase1 "$dw_proxy_problem"
  skip_target phase2 "$dw_proxy_problem"
fi

port_new=
dw_pick_port 'port[direct]'
dw_pick_port port_new
old_dir=$work/old new_dir=$work/new
max_conn=$((3 * clients + 50))
dw_cluster_up "$old_dir" "${port[direct]}" -c "max_connections=$max_conn"
dw_cluster_up "$new_dir" "$port_new" -c "max_connections=$max_conn"
dw_raise_nofile $((6 * clients + 256))
export PGPASSWORD=$dw_db_password
for d in old new; do
  p=${port[direct]}
  [[ $d == new ]] && p=$port_new
  pgbench -i -q -s "$scale" -h "$work/$d" -p "$p" -U "$dw_db_user" "$dw_db_name" >"$work/init.log" 2>&1 ||
    { cat "$work/init.log" >&2; dw_die "pgbench -i failed on ${d^^}"; }
done

start_proxy() { # TARGET PHASE
  local t=$1 dir=$work/dw-$1
  mkdir -p "$dir"
  cat >"$dir/dwproxy.yaml" <<YAML
phase: $2
${proxy_threads:+threads: $proxy_threads}
backends:
  old: { host: 127.0.0.1, port: ${port[direct]}, dbname: $dw_db_name, user: $dw_db_user,
         password: $dw_db_password, tls: disable }
  new: { host: 127.0.0.1, port: $port_new, dbname: $dw_db_name, user: $dw_db_user,
         password: $dw_db_password, tls: disable }
shadow_reads: { sample_rate: $rate }
divergence_log: { path: $dir/divergences.jsonl }
control: { socket: $dir/control.sock }
logging: { level: warn }
YAML
  chmod 600 "$dir/dwproxy.yaml"
  dw_pick_port "port[$t]"
  if dw_dwproxy_start "$dir/dwproxy.log" "${port[$t]}" --config "$dir/dwproxy.yaml"; then
    pid[$t]=$dw_dwproxy_pid
    dw_info "${label[$t]} on 127.0.0.1:${port[$t]} (pid ${pid[$t]})"
  else
    skip_target "$t" "$dw_proxy_problem"
  fi
}
active phase1 && start_proxy phase1 1
active phase2 && start_proxy phase2 2

# CPU ticks a cluster has used: the postmaster, its live children and its reaped ones.
cluster_ticks() { # DIR
  dw_tree_cpu_ticks "$(head -n 1 "$1/postmaster.pid")"
}
# "proxy old new" ticks now; the proxy's are 0 for the direct target.
ticks_now() { # TARGET
  local proxy=0
  [[ -n ${pid[$1]:-} ]] && proxy=$(dw_cpu_ticks "${pid[$1]}")
  echo "$proxy $(cluster_ticks "$old_dir") $(cluster_ticks "$new_dir")"
}

pgbench_field() { sed -nE "s/$2/\1/p" "$1" | head -n 1; }
run_round() { # TARGET ROUND [SECONDS]
  local t=$1 r=$2 secs=${3:-$duration} out=$work/out/$1.r$2.txt rc=0 tps lat before after n
  before=$(ticks_now "$t")
  pgbench -n -S -M "$mode" -h 127.0.0.1 -p "${port[$t]}" -U "$dw_db_user" \
    -c "$clients" -j "$jobs" -T "$secs" "$dw_db_name" >"$out" 2>&1 || rc=$?
  after=$(ticks_now "$t")
  tps=$(pgbench_field "$out" '^tps = ([0-9.]+) .*')
  lat=$(pgbench_field "$out" '^latency average = ([0-9.]+) ms.*')
  n=$(pgbench_field "$out" '^number of transactions actually processed: ([0-9]+).*')
  if ((rc != 0)) || [[ -z $tps ]]; then
    tail -n 5 "$out" >&2
    skip_target "$t" "pgbench failed in round $r (status $rc)"
    return
  fi
  tps_list[$t]+="$tps "
  lat_list[$t]+="$lat "
  # Accumulated "proxy old new" ticks and transactions, for CPU per transaction.
  read -r -a b <<<"$before"
  read -r -a a <<<"$after"
  read -r -a acc <<<"${cpu_ticks[$t]:-0 0 0}"
  cpu_ticks[$t]="$((acc[0] + a[0] - b[0])) $((acc[1] + a[1] - b[1])) $((acc[2] + a[2] - b[2]))"
  txs[$t]=$((${txs[$t]:-0} + ${n:-0}))
  dw_info "round $r ${label[$t]}: $tps TPS, latency average $lat ms"
}

dw_heading "Warm-up (2 s per target)"
for t in "${targets[@]}"; do
  if active "$t"; then run_round "$t" 0 2; fi
  tps_list[$t]='' lat_list[$t]='' cpu_ticks[$t]='' txs[$t]=0
done
# Phase 2's statistics should count the measured rounds only.
active phase2 && "$dw_dwctl_bin" --socket "$work/dw-phase2/control.sock" diffs --reset >/dev/null

dw_heading "$rounds interleaved rounds of ${duration}s, pgbench -S -M $mode, $clients clients"
dw_interleave_rounds "$rounds" "${targets[@]}"

mean() { awk '{ for (i = 1; i <= NF; i++) s += $i; if (NF) printf "%.1f", s / NF; else print "n/a" }' <<<"$1"; }
declare -A tps latency
for t in "${targets[@]}"; do
  tps[$t]=$(mean "${tps_list[$t]:-}")
  latency[$t]=$(mean "${lat_list[$t]:-}")
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }
rows=("target|TPS|latency avg ms|TPS vs direct|TPS vs phase 1")
for t in "${targets[@]}"; do
  if active "$t"; then
    rows+=("${label[$t]}|${tps[$t]}|${latency[$t]}|$(ratio "${tps[$t]}" "${tps[direct]}")|$(ratio "${tps[$t]}" "${tps[phase1]}")")
  else
    rows+=("${label[$t]}|not available: ${problem[$t]}|-|-|-")
  fi
done
# CPU microseconds per transaction: where the cores went (all on this one host).
hz=$(getconf CLK_TCK)
cpu_rows=("target|dwproxy us/tx|OLD us/tx|NEW us/tx")
declare -A proxy_us
for t in "${targets[@]}"; do
  active "$t" || continue
  read -r -a c <<<"${cpu_ticks[$t]:-0 0 0}"
  per() { awk -v k="$1" -v n="${txs[$t]}" -v hz="$hz" 'BEGIN { if (n > 0) printf "%.1f", k * 1e6 / hz / n; else print "n/a" }'; }
  proxy_us[$t]=$(per "${c[0]}")
  cpu_rows+=("${label[$t]}|${proxy_us[$t]}|$(per "${c[1]}")|$(per "${c[2]}")")
done
drop=$(awk -v a="${tps[phase2]}" -v b="${tps[phase1]}" 'BEGIN { if (a ~ /^[0-9.]+$/ && b + 0 > 0) printf "%.1f", (1 - a / b) * 100; else print "n/a" }')
compared="n/a"
if active phase2; then
  json=$("$dw_dwctl_bin" --socket "$work/dw-phase2/control.sock" --json diffs 2>/dev/null || true)
  compared=$(jq -r '.totals | "\(.samples) compared: \(.matches) matched, \(.mismatches) mismatched, \(.noise) noise, \(.skipped) skipped"' <<<"$json" 2>/dev/null || echo "n/a")
fi
report=$(
  echo "# Shadow-read benchmark, $(date -u +%FT%TZ)"
  echo
  echo "pgbench -S -M $mode, $clients clients, $jobs threads, scale $scale, $rounds x ${duration}s rounds, $(nproc) cores"
  echo
  printf '%s\n' "${rows[@]}" | dw_markdown_table
  echo
  echo "CPU per transaction (ticks of each process tree during the measured rounds):"
  echo
  printf '%s\n' "${cpu_rows[@]}" | dw_markdown_table
  echo
  echo "- phase 2 (every read also run on NEW and compared) vs phase 1: TPS drop $drop% (goal: under 10%)"
  echo "- phase 2 reads during the measured rounds: $compared"
  echo "- dwproxy CPU per transaction, phase 2 vs phase 1: $(ratio "${proxy_us[phase2]:-}" "${proxy_us[phase1]:-}")x;" \
    "in phase 2 NEW runs every read too, and on one host its CPU comes out of the same $(nproc) cores" \
    "as OLD's, pgbench's and the proxy's"
)
echo
echo "$report"
mkdir -p "$dw_repo/bench/results"
echo "$report" >"$dw_repo/bench/results/$(date -u +%Y%m%dT%H%M%SZ)-shadow-read.md"
