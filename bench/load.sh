#!/usr/bin/env bash
# Load test: pgbench against PostgreSQL directly, through pgbouncer (session pooling) and
# through dwproxy (phase 0), in interleaved rounds of ONE run so that drift (other jobs,
# caches, thermal) hits every target alike. Reports TPS, latency p50/p99 (from pgbench's
# per-transaction logs), failed transactions and the proxy process's own CPU time per
# transaction, with ratios vs direct and dwproxy vs pgbouncer; the report is also written
# to bench/results/<timestamp>-load.md.
# It starts and tears down everything it uses (one throwaway cluster, pgbouncer, dwproxy).
# It does not pin CPUs or tune the OS, and checks no query results: the numbers compare
# targets within one run on one machine, not across machines or runs.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

# shellcheck source=lib/harness.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib/harness.sh"

usage() {
  cat <<'USAGE'
Usage: bench/load.sh [options]
  -T, --time SEC         measured seconds per round and target (default 10)
  -r, --rounds N         interleaved rounds (default 3)
  -c, --clients N        pgbench clients (default 16)
  -j, --jobs N           pgbench threads (default 2)
  -M, --protocol P       prepared | extended | simple (default prepared)
  -b, --workload W       select-only | simple-update | tpcb-like (default select-only)
  -s, --scale N          pgbench scale factor (default 10)
      --targets LIST     comma-separated subset of direct,pgbouncer,dwproxy (default all)
      --warmup SEC       unmeasured run per target before round 1 (default 3, 0 = none)
      --proxy-threads N  pass --threads N to dwproxy (default: dwproxy's own default)
  -h, --help
Environment: DW_PROXY_BIN=/path/to/dwproxy skips the Release build and uses that binary.
USAGE
}

duration=10 rounds=3 clients=16 jobs=2 protocol=prepared workload=select-only scale=10
warmup=3 proxy_threads='' targets_arg=direct,pgbouncer,dwproxy
while (($#)); do
  case $1 in
    -T | --time) duration=${2:?}; shift ;;
    -r | --rounds) rounds=${2:?}; shift ;;
    -c | --clients) clients=${2:?}; shift ;;
    -j | --jobs) jobs=${2:?}; shift ;;
    -M | --protocol) protocol=${2:?}; shift ;;
    -b | --workload) workload=${2:?}; shift ;;
    -s | --scale) scale=${2:?}; shift ;;
    --targets) targets_arg=${2:?}; shift ;;
    --warmup) warmup=${2:?}; shift ;;
    --proxy-threads) proxy_threads=${2:?}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; dw_die "unknown option '$1'" ;;
  esac
  shift
done
for n in "$duration" "$rounds" "$clients" "$jobs" "$scale" "$warmup" ${proxy_threads:+"$proxy_threads"}; do
  [[ $n =~ ^[0-9]+$ ]] || dw_die "expected a number, got '$n'"
done
((duration > 0 && rounds > 0 && clients > 0 && jobs > 0 && scale > 0)) || dw_die "numbers must be > 0"
((jobs <= clients)) || dw_die "--jobs ($jobs) must not exceed --clients ($clients)"
[[ $protocol =~ ^(prepared|extended|simple)$ ]] || dw_die "unknown protocol '$protocol'"
[[ $workload =~ ^(select-only|simple-update|tpcb-like)$ ]] || dw_die "unknown workload '$workload'"
targets=()
IFS=, read -ra requested <<<"$targets_arg"
for t in direct pgbouncer dwproxy; do # canonical order, whatever order was given
  [[ " ${requested[*]} " == *" $t "* ]] && targets+=("$t")
done
for t in "${requested[@]}"; do
  [[ $t =~ ^(direct|pgbouncer|dwproxy)$ ]] || dw_die "unknown target '$t'"
done
((${#targets[@]} > 0)) || dw_die "no targets"
wants() { [[ " ${targets[*]} " == *" $1 "* ]]; }

declare -A port pid problem tps_list tx_sum failed_sum ticks_sum
skip_target() { # TARGET REASON
  problem[$1]=$2
  dw_warn "$1: skipped: $2"
}
active() { [[ -z ${problem[$1]:-} ]]; }

dw_install_traps
load_start=$(cut -d' ' -f1 /proc/loadavg)
dw_heading "Setup"
dw_install_deps
work=
dw_make_workdir work dwbench-load
mkdir -p "$work/out" "$work/lat"
if wants dwproxy && ! dw_build_dwproxy "$work/build.log"; then
  skip_target dwproxy "$dw_proxy_problem"
fi

# Each target holds up to `clients` server connections and pgbouncer keeps its pool open
# between rounds, so direct/dwproxy and pgbouncer's pool must fit at once.
dw_pick_port 'port[direct]'
max_conn=$((2 * clients + 50))
shared_buffers=$((scale * 20 > 128 ? scale * 20 : 128))
dw_cluster_up "$work/pg" "${port[direct]}" -c "max_connections=$max_conn" \
  -c "shared_buffers=${shared_buffers}MB"
dw_raise_nofile $((4 * clients + 256))
export PGPASSWORD=$dw_db_password

# pgbench against a target port; extra args go before the database name.
run_pgbench() { # PORT SECONDS ARGS...
  local p=$1 secs=$2
  shift 2
  pgbench -n -h 127.0.0.1 -p "$p" -U "$dw_db_user" -b "$workload" -M "$protocol" \
    -c "$clients" -j "$jobs" -T "$secs" "$@" "$dw_db_name"
}

dw_info "pgbench -i -s $scale (direct)"
pgbench -i -q -s "$scale" -h 127.0.0.1 -p "${port[direct]}" -U "$dw_db_user" "$dw_db_name" \
  >"$work/init.log" 2>&1 || {
  cat "$work/init.log" >&2
  dw_die "pgbench -i failed"
}

if wants pgbouncer; then
  dw_pick_port 'port[pgbouncer]'
  dw_pgbouncer_start "$work/pgbouncer" "${port[pgbouncer]}" "$work/pg" "${port[direct]}" \
    $((clients + 20)) $((clients + 5))
  pid[pgbouncer]=$dw_pgbouncer_pid
  dw_info "pgbouncer on 127.0.0.1:${port[pgbouncer]} (pid ${pid[pgbouncer]})"
fi
if wants dwproxy && active dwproxy; then
  dw_pick_port 'port[dwproxy]'
  proxy_args=(--old "$(dw_uri "${port[direct]}")" --log-level warn)
  [[ -n $proxy_threads ]] && proxy_args+=(--threads "$proxy_threads")
  if dw_dwproxy_start "$work/dwproxy.log" "${port[dwproxy]}" "${proxy_args[@]}"; then
    pid[dwproxy]=$dw_dwproxy_pid
    dw_info "dwproxy on 127.0.0.1:${port[dwproxy]} (pid ${pid[dwproxy]})"
  else
    skip_target dwproxy "$dw_proxy_problem"
  fi
fi

# Warm-up: fills caches and pools, and proves each path works before anything is measured.
if ((warmup > 0)); then
  dw_heading "Warm-up (${warmup}s per target, not measured)"
  for t in "${targets[@]}"; do
    active "$t" || continue
    if run_pgbench "${port[$t]}" "$warmup" >"$work/out/$t.warmup.txt" 2>&1; then
      dw_info "$t: ok"
    else
      tail -n 5 "$work/out/$t.warmup.txt" >&2
      skip_target "$t" "warm-up pgbench failed (output above)"
    fi
  done
fi

# Percentile by nearest rank over one latency (µs) per line; prints "p50_ms p99_ms".
percentiles() { # FILE
  local n
  n=$(wc -l <"$1")
  if ((n == 0)); then
    echo "n/a n/a"
    return
  fi
  LC_ALL=C sort -n -S 20% "$1" | awk -v n="$n" '
    BEGIN { i50 = int((n * 50 + 99) / 100); i99 = int((n * 99 + 99) / 100) }
    NR == i50 { p50 = $1 } NR == i99 { p99 = $1 }
    END { printf "%.3f %.3f\n", p50 / 1000, p99 / 1000 }'
}

round_rows=()
# One measured round for TARGET: pgbench with per-transaction logs, and the proxy's CPU
# ticks read from /proc just before and after. A failure drops the target from later rounds.
run_round() { # TARGET ROUND
  local t=$1 r=$2 out=$work/out/$1.r$2.txt prefix=$work/lat/$1.r$2 p=${pid[$1]:-}
  local rc=0 t0=0 t1=0 tps tx failed cpu=n/a
  [[ -n $p ]] && t0=$(dw_cpu_ticks "$p")
  run_pgbench "${port[$t]}" "$duration" --log --log-prefix="$prefix" >"$out" 2>&1 || rc=$?
  if [[ -n $p ]]; then
    if ! dw_alive "$p"; then
      skip_target "$t" "the $t process died during round $r"
      return
    fi
    t1=$(dw_cpu_ticks "$p")
  fi
  tps=$(sed -nE 's/^tps = ([0-9.]+) .*/\1/p' "$out")
  tx=$(sed -nE 's/^number of transactions actually processed: ([0-9]+).*/\1/p' "$out")
  failed=$(sed -nE 's/^number of failed transactions: ([0-9]+).*/\1/p' "$out")
  if ((rc != 0)) || [[ -z $tps || -z $tx ]]; then
    tail -n 5 "$out" >&2
    skip_target "$t" "pgbench failed in round $r (status $rc, output above)"
    return
  fi
  # Latency is the 3rd field in µs; failed/skipped transactions carry a word there instead.
  awk '$3 ~ /^[0-9]+$/ { print $3 }' "$prefix".* >>"$work/lat/$t.us"
  rm -f "$prefix".*
  tps_list[$t]+="$tps "
  tx_sum[$t]=$((${tx_sum[$t]:-0} + tx))
  failed_sum[$t]=$((${failed_sum[$t]:-0} + ${failed:-0}))
  if [[ -n $p ]]; then
    ticks_sum[$t]=$((${ticks_sum[$t]:-0} + t1 - t0))
    cpu=$(awk -v d=$((t1 - t0)) -v hz="$dw_clk_tck" -v n="$tx" 'BEGIN { printf "%.1f", n ? d * 1e6 / hz / n : 0 }')
  fi
  round_rows+=("$r|$t|$(printf '%.1f' "$tps")|$tx|${failed:-0}|$cpu")
  printf '  round %d/%d  %-9s  tps %10.1f  failed %d  proxy CPU %s us/tx\n' \
    "$r" "$rounds" "$t" "$tps" "${failed:-0}" "$cpu"
}

dw_heading "Measuring: $workload -M $protocol, $clients clients, $rounds x ${duration}s per target"
echo "note: $(nproc) CPUs shared by pgbench, postgres and the proxy; nothing is pinned,"
echo "      so read the ratios, not the absolute numbers."
dw_interleave_rounds "$rounds" "${targets[@]}"

# --- report ---------------------------------------------------------------------------

declare -A tps_mean spread p50 p99 cpu_tx
for t in "${targets[@]}"; do
  [[ -n ${tps_list[$t]:-} ]] || continue
  read -r "tps_mean[$t]" "spread[$t]" < <(awk '{ for (i = 1; i <= NF; i++) { s += $i
      if (i == 1 || $i < lo) lo = $i; if ($i > hi) hi = $i } m = s / NF
      printf "%.1f %.1f\n", m, m ? (hi - lo) / 2 / m * 100 : 0 }' <<<"${tps_list[$t]}")
  read -r "p50[$t]" "p99[$t]" < <(percentiles "$work/lat/$t.us")
  cpu_tx[$t]=n/a
  if [[ -n ${pid[$t]:-} ]]; then
    cpu_tx[$t]=$(awk -v d="${ticks_sum[$t]}" -v hz="$dw_clk_tck" -v n="${tx_sum[$t]}" \
      'BEGIN { printf "%.1f", n ? d * 1e6 / hz / n : 0 }')
  fi
done
have() { [[ -n ${tps_mean[$1]:-} ]]; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a ~ /^[0-9.]+$/) printf "%.2fx", a / b; else print "n/a" }'; }

table_rows=("target|TPS (mean)|TPS +/-%|p50 ms|p99 ms|failed|proxy CPU us/tx|TPS vs direct|p50 vs direct|p99 vs direct")
for t in "${targets[@]}"; do
  have "$t" || continue
  vs=(n/a n/a n/a)
  if have direct; then
    vs=("$(ratio "${tps_mean[$t]}" "${tps_mean[direct]}")" "$(ratio "${p50[$t]}" "${p50[direct]}")"
      "$(ratio "${p99[$t]}" "${p99[direct]}")")
  fi
  table_rows+=("$t|${tps_mean[$t]}|${spread[$t]}|${p50[$t]}|${p99[$t]}|${failed_sum[$t]}|${cpu_tx[$t]}|${vs[0]}|${vs[1]}|${vs[2]}")
done

verdict() {
  if ! have dwproxy || ! have pgbouncer; then
    local why=${problem[dwproxy]:-${problem[pgbouncer]:-not among --targets}}
    echo "foundation goals: not evaluated (needs dwproxy and pgbouncer; $why)"
    return
  fi
  # A TPS difference smaller than the rounds' own spread is flagged rather than trusted.
  awk -v dt="${tps_mean[dwproxy]}" -v bt="${tps_mean[pgbouncer]}" \
    -v dc="${cpu_tx[dwproxy]}" -v bc="${cpu_tx[pgbouncer]}" \
    -v ds="${spread[dwproxy]}" -v bs="${spread[pgbouncer]}" 'BEGIN {
      noise = ds > bs ? ds : bs; d = (dt / bt - 1) * 100; if (d < 0) d = -d
      printf "dwproxy vs pgbouncer: TPS %.2fx%s, CPU/tx %.2fx\n", dt / bt,
        (d < noise ? sprintf(" (within the rounds\047 spread of +/-%.1f%%)", noise) : ""),
        (bc > 0 ? dc / bc : 0)
      printf "foundation goals: dwproxy TPS >= pgbouncer TPS: %s; dwproxy CPU/tx <= pgbouncer CPU/tx: %s\n",
        (dt >= bt ? "MET" : "NOT MET"), (dc <= bc ? "MET" : "NOT MET") }'
}

stamp=$(date -u +%Y%m%d-%H%M%S)
load_end=$(cut -d' ' -f1 /proc/loadavg)
pg_version=$(dw_cluster_psql "$work/pg" "${port[direct]}" 'SHOW server_version')
pgbouncer_version=$(pgbouncer -V | awk 'NR == 1 { print $2 }')
commit=$(git -C "$dw_repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$dw_repo" diff --quiet HEAD 2>/dev/null || commit+=" (work tree has changes)"
report=$work/report.md
{
  echo "# Load benchmark $(date -u '+%Y-%m-%d %H:%M:%S') UTC"
  echo
  echo "- workload: pgbench -b $workload -M $protocol, $clients clients, $jobs threads, scale $scale"
  echo "- rounds: $rounds x ${duration}s per target, interleaved with a rotating start; warm-up ${warmup}s"
  echo "- targets: direct = PostgreSQL $pg_version; pgbouncer $pgbouncer_version (session pooling);" \
    "dwproxy phase 0 (${dw_proxy_bin:-not built}${proxy_threads:+, --threads $proxy_threads})"
  echo "- commit: $commit"
  echo "- machine: $(nproc) CPUs, $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), loopback only"
  echo "- load average (1 min) before/after: $load_start / $load_end$(awk -v l="$load_start" \
    'BEGIN { if (l > 1) print " (other jobs were running: expect noise)" }')"
  echo "- note: pgbench, postgres and the proxy share the CPUs and nothing is pinned; compare ratios"
  echo
  printf '%s\n' "${table_rows[@]}" | dw_markdown_table
  echo
  verdict
  for t in "${targets[@]}"; do
    [[ -n ${problem[$t]:-} ]] && echo "- $t skipped: ${problem[$t]}"
  done
  echo
  echo "Per round:"
  echo
  {
    echo "round|target|TPS|transactions|failed|proxy CPU us/tx"
    ((${#round_rows[@]} == 0)) || printf '%s\n' "${round_rows[@]}"
  } | dw_markdown_table
} >"$report"

dw_heading "Results"
cat "$report"
mkdir -p "$dw_repo/bench/results"
cp "$report" "$dw_repo/bench/results/$stamp-load.md"
echo
dw_info "written to bench/results/$stamp-load.md"
