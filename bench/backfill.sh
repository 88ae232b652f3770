#!/usr/bin/env bash
# Backfill benchmark (issue 5): copying one table of N rows (default 2M) from OLD to NEW, in
# interleaved rounds of ONE run, with
#   backfill     dwctl backfill: key-ordered binary COPY chunks, rows locked FOR SHARE on OLD
#                while each chunk lands on NEW (the table exists on NEW with its primary key)
#   dump         pg_dump -t T | psql into an empty database (CREATE TABLE, COPY, then the
#                primary key built once at the end)
#   dump-data    pg_dump --data-only -t T | psql into the existing, empty table with its key:
#                the conditions backfill works in
# then dwctl verify on the copied table (seconds and rows/s, and that it passed).
# Every backfill round's result is checked (row count on NEW); the last one is verified.
# Reports seconds, rows/s and MB/s per target, against the goal: backfill at least as fast
# as pg_dump | psql. Written to bench/results/<timestamp>-backfill.md as well.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

# shellcheck source=lib/harness.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib/harness.sh"

usage() {
  cat <<'USAGE'
Usage: bench/backfill.sh [options]
  -n, --rows N        rows in the table (default 2000000)
  -r, --rounds N      interleaved rounds (default 3)
      --jobs N        dwctl backfill --jobs (default 2)
      --targets LIST  a subset of backfill,dump,dump-data (default: all)
  -h, --help
Environment: DW_DWCTL_BIN=/path/to/dwctl skips the Release build and uses that binary.
USAGE
}

rows=2000000 rounds=3 jobs=2 target_list=backfill,dump,dump-data
while (($#)); do
  case $1 in
    -n | --rows) rows=${2:?}; shift ;;
    -r | --rounds) rounds=${2:?}; shift ;;
    --jobs) jobs=${2:?}; shift ;;
    --targets) target_list=${2:?}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; dw_die "unknown option '$1'" ;;
  esac
  shift
done
for n in "$rows" "$rounds" "$jobs"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || dw_die "expected a positive number, got '$n'"
done
IFS=, read -r -a targets <<<"$target_list"
declare -A label=(
  [backfill]="dwctl backfill (binary COPY chunks, rows locked on OLD)"
  [dump]="pg_dump -t T piped to psql (new table, key built after)"
  [dump-data]="pg_dump --data-only -t T piped to psql (existing table with key)"
)
for t in "${targets[@]}"; do [[ -n ${label[$t]:-} ]] || dw_die "unknown target '$t'"; done
active() { true; }

dw_install_traps
dw_heading "Setup"
dw_install_deps
work=
dw_make_workdir work dwbench-backfill
if [[ -n ${DW_DWCTL_BIN:-} ]]; then
  [[ -x $DW_DWCTL_BIN ]] || dw_die "DW_DWCTL_BIN=$DW_DWCTL_BIN is not an executable file"
  dwctl=$DW_DWCTL_BIN
else
  dw_build_dwctl "$work/build.log" || dw_die "$dw_proxy_problem"
  dwctl=$dw_dwctl_bin
fi

port_old= port_new=
dw_pick_port port_old
dw_pick_port port_new
old_dir=$work/old new_dir=$work/new
dw_cluster_up "$old_dir" "$port_old"
dw_cluster_up "$new_dir" "$port_new"
export PGPASSWORD=$dw_db_password
export PGOPTIONS='-c client_min_messages=warning'
old_uri=$(dw_uri "$port_old") new_uri=$(dw_uri "$port_new")

table=events
schema="CREATE TABLE $table (id bigint PRIMARY KEY, account int NOT NULL, kind text,
  amount numeric(12,2), at timestamptz, payload jsonb)"
dw_info "filling OLD with $rows rows"
dw_cluster_psql "$old_dir" "$port_old" "$schema"
dw_cluster_psql "$old_dir" "$port_old" "INSERT INTO $table SELECT g, g % 5000,
  CASE WHEN g % 3 = 0 THEN NULL ELSE 'k' || g % 17 END, g / 100.0,
  '2024-01-01'::timestamptz + g * interval '1 second',
  CASE WHEN g % 10 = 0 THEN jsonb_build_object('g', g, 'note', md5(g::text)) END
  FROM generate_series(1, $rows) g"
dw_cluster_psql "$old_dir" "$port_old" "VACUUM ANALYZE $table"
table_mb=$(dw_cluster_psql "$old_dir" "$port_old" \
  "SELECT round(pg_table_size('$table') / 1e6, 1)")
dw_info "table: $table_mb MB on OLD (heap and TOAST, without its index)"

new_psql() { psql -X -Atq -v ON_ERROR_STOP=1 -h "$new_dir" -p "$port_new" -U "$dw_db_user" "$@"; }
now_ms() { date +%s%3N; }

# Each round starts NEW from the same state: database `app` holding the empty table with
# its key (backfill, dump-data), or database `dumped` empty (dump).
prepare() { # TARGET
  if [[ $1 == dump ]]; then
    new_psql -d postgres -c "DROP DATABASE IF EXISTS dumped" -c "CREATE DATABASE dumped"
  else
    new_psql -d "$dw_db_name" -c "DROP TABLE IF EXISTS $table" -c "$schema"
  fi
}

copy_with() { # TARGET -> copies; fails on any error
  case $1 in
    backfill)
      "$dwctl" backfill --old "$old_uri" --new "$new_uri" --tables "$table" --jobs "$jobs" \
        --quiet --restart --checkpoint "$work/cp.json" >"$work/backfill.out"
      ;;
    dump)
      pg_dump -h "$old_dir" -p "$port_old" -U "$dw_db_user" -t "$table" "$dw_db_name" |
        new_psql -d dumped >/dev/null
      ;;
    dump-data)
      pg_dump --data-only -h "$old_dir" -p "$port_old" -U "$dw_db_user" -t "$table" \
        "$dw_db_name" | new_psql -d "$dw_db_name" >/dev/null
      ;;
  esac
}

declare -A times=()
run_round() { # TARGET ROUND
  local t=$1 start end db count
  prepare "$t" >/dev/null
  start=$(now_ms)
  copy_with "$t" || dw_die "${label[$t]} failed in round $2"
  end=$(now_ms)
  db=$dw_db_name
  [[ $t == dump ]] && db=dumped
  count=$(new_psql -d "$db" -c "SELECT count(*) FROM $table")
  ((count == rows)) || dw_die "${label[$t]}: NEW has $count rows, expected $rows"
  times[$t]+="$((end - start)) "
  dw_info "round $2: ${label[$t]}: $(((end - start)))ms"
}

dw_heading "Copying $rows rows, $rounds round(s)"
dw_interleave_rounds "$rounds" "${targets[@]}"

# The last round of each target left NEW's `app` table as backfill or dump-data wrote it;
# copy once more with backfill, so verify compares what dwctl itself wrote.
dw_heading "Verify"
prepare backfill >/dev/null
copy_with backfill
start=$(now_ms)
"$dwctl" verify --old "$old_uri" --new "$new_uri" --tables "$table" --json --quiet \
  >"$work/verify.json" || dw_die "dwctl verify did not pass: $(head -c 2000 "$work/verify.json")"
end=$(now_ms)
verify_ms=$((end - start))
verify_passed=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["passed"])' \
  "$work/verify.json")

stats() { # "ms ms ms" -> "mean_s spread_pct"
  awk '{ s = 0; mn = $1; mx = $1; for (i = 1; i <= NF; i++) { s += $i; if ($i < mn) mn = $i
           if ($i > mx) mx = $i } m = s / NF
         printf "%.2f %.0f", m / 1000, (m > 0 ? 50 * (mx - mn) / m : 0) }' <<<"$1"
}
report=$work/report.md
stamp=$(date -u +%Y%m%dT%H%M%SZ)
{
  echo "# Backfill benchmark, $stamp"
  echo
  echo "$rows rows ($table_mb MB), $rounds interleaved round(s), $(nproc) CPU(s), load" \
    "average $(cut -d' ' -f1-3 /proc/loadavg); clusters from scripts/pgcluster.sh (fsync off)."
  echo
  {
    echo "target | seconds (mean) | +/-% | rows/s | MB/s"
    for t in "${targets[@]}"; do
      read -r mean spread <<<"$(stats "${times[$t]}")"
      echo "${label[$t]} | $mean | $spread | $(awk -v r="$rows" -v s="$mean" 'BEGIN { printf "%.0f", r / s }') | $(awk -v m="$table_mb" -v s="$mean" 'BEGIN { printf "%.1f", m / s }')"
    done
  } | dw_markdown_table
  echo
  if [[ -n ${times[backfill]:-} && -n ${times[dump]:-} ]]; then
    read -r b _ <<<"$(stats "${times[backfill]}")"
    read -r d _ <<<"$(stats "${times[dump]}")"
    awk -v b="$b" -v d="$d" 'BEGIN { r = d / b
      printf "backfill vs pg_dump piped to psql: %.2fx the throughput (goal: >= 1.00x): %s\n", r,
        (r >= 1 ? "met" : "NOT met") }'
  fi
  if [[ -n ${times[backfill]:-} && -n ${times[dump-data]:-} ]]; then
    read -r b _ <<<"$(stats "${times[backfill]}")"
    read -r d _ <<<"$(stats "${times[dump-data]}")"
    awk -v b="$b" -v d="$d" 'BEGIN { printf "backfill vs pg_dump --data-only into the same" \
      " keyed table: %.2fx the throughput\n", d / b }'
  fi
  echo
  awk -v r="$rows" -v ms="$verify_ms" -v p="$verify_passed" 'BEGIN {
    printf "dwctl verify on %d rows: %.2f s, %.0f rows/s, passed: %s\n", r, ms / 1000, r * 1000 / ms, p }'
  echo
  echo "Per round (ms):"
  for t in "${targets[@]}"; do echo "- ${label[$t]}: ${times[$t]}"; done
} >"$report"
dw_heading "Report"
cat "$report"
mkdir -p "$dw_repo/bench/results"
cp "$report" "$dw_repo/bench/results/$stamp-backfill.md"
dw_info "written to bench/results/$stamp-backfill.md"
