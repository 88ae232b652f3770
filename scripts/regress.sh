#!/usr/bin/env bash
# PostgreSQL's own regression suite (src/test/regress, parallel_schedule) run by pg_regress
# directly against a throwaway cluster and through dwproxy, to find what the proxy changes
# for a client. The source is the Debian orig tarball of the installed server's version,
# fetched once (the chain InRelease -> Sources.xz -> tarball is checked: gpgv, sha256) and
# cached. Every mode gets fresh clusters made by scripts/pgcluster.sh, so they start alike.
#   scripts/regress.sh [MODE...]   modes, run in this order (default: direct phase0 dual):
#     direct   pg_regress against the cluster
#     phase0   through dwproxy in phase 0 (passthrough, one backend)
#     dual     through dwproxy in phase DW_REGRESS_PHASE (default 2) with OLD and NEW, two
#              clusters in the same initial state; reports divergences and read diffs too
#   DW_REGRESS_PHASE=1|2             the phase of mode dual
#   DW_REGRESS_TESTS="boolean char"  only these tests, one at a time, instead of the schedule
#   DW_REGRESS_OUT=DIR               where results go (default build/regress/results)
#   DW_REGRESS_CACHE=DIR             tarball cache (default ~/.cache/dwproxy)
#   DW_REGRESS_TIMEOUT=SECONDS       per mode, then pg_regress is stopped (default 1200)
#   DW_PROXY_BIN / DW_DWCTL_BIN      binaries to use (default: the Release build)
# Prints per mode the tests passed and failed, and the tests that fail through the proxy
# but pass directly. Exit status: 0 when there are none, 1 when there are (or a run broke),
# 2 on a usage error. Without a direct run in the same call, the proxy modes are compared
# with the last one kept in DW_REGRESS_OUT, if any.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

# shellcheck source=../bench/lib/harness.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/../bench/lib/harness.sh"

pg_bin=/usr/lib/postgresql/15/bin
pg_regress=/usr/lib/postgresql/15/lib/pgxs/src/test/regress/pg_regress
debian_mirror=${DW_DEBIAN_MIRROR:-http://deb.debian.org}
cache_dir=${DW_REGRESS_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/dwproxy}
build_dir=$dw_repo/build/regress
out_dir=${DW_REGRESS_OUT:-$build_dir/results}
dual_phase=${DW_REGRESS_PHASE:-2}
run_timeout=${DW_REGRESS_TIMEOUT:-1200}

usage() { sed -n '7,22p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

modes=()
for m in "$@"; do
  case $m in
    direct | phase0 | dual) modes+=("$m") ;;
    -h | --help) usage ;;
    *) echo "regress.sh: unknown mode '$m'" >&2; usage ;;
  esac
done
((${#modes[@]} > 0)) || modes=(direct phase0 dual)
[[ $dual_phase == 1 || $dual_phase == 2 ]] || dw_die "DW_REGRESS_PHASE must be 1 or 2"

# --- the source: Debian's orig tarball of the installed server's version ---------------

# Sets src_version (15.18) and deb_version (15.18-0+deb12u1) from the installed server.
server_version() {
  deb_version=$(dpkg-query -W -f='${Version}' postgresql-15 2>/dev/null) ||
    dw_die "postgresql-15 is not installed (scripts/install-deps.sh installs it)"
  src_version=${deb_version%%-*}
}

# Prints "SHA256 SIZE FILE DIRECTORY" of postgresql-15's orig tarball at deb_version, from
# the signed index of SUITE at BASE; nothing when that suite does not have the version.
find_in_suite() { # BASE SUITE WORKDIR
  local base=$1 suite=$2 w=$3 want got
  curl -fsSL --retry 2 -o "$w/InRelease" "$base/dists/$suite/InRelease" || return 0
  gpgv --keyring /usr/share/keyrings/debian-archive-keyring.gpg "$w/InRelease" 2>/dev/null ||
    dw_die "the signature of $base/dists/$suite/InRelease does not verify"
  want=$(awk '/^SHA256:/ { on = 1; next } /^[^ ]/ { on = 0 }
              on && $3 == "main/source/Sources.xz" { print $1; exit }' "$w/InRelease")
  [[ -n $want ]] || return 0
  curl -fsSL --retry 2 -o "$w/Sources.xz" "$base/dists/$suite/main/source/Sources.xz" || return 0
  got=$(sha256sum "$w/Sources.xz" | cut -d' ' -f1)
  [[ $got == "$want" ]] || dw_die "$suite Sources.xz: sha256 $got, InRelease says $want"
  # awk stops at the entry: xz's SIGPIPE is expected.
  { xz -dc "$w/Sources.xz" || true; } | awk -v ver="$deb_version" '
    BEGIN { RS = ""; FS = "\n" }
    $0 ~ /^Package: postgresql-15\n/ {
      dir = ""; v = ""; sums = 0; line = ""
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^Version: /) v = substr($i, 10)
        else if ($i ~ /^Directory: /) dir = substr($i, 12)
        else if ($i ~ /^Checksums-Sha256:/) sums = 1
        else if ($i !~ /^ /) sums = 0
        else if (sums && $i ~ /\.orig\.tar\./) { split($i, f, " "); line = f[1] " " f[2] " " f[3] }
      }
      if (v == ver && line != "") { print line " " dir; exit }
    }'
}

# Sets tarball to the cached, checked orig tarball, downloading it the first time.
fetch_source() {
  local stem=postgresql-15_$src_version.orig
  local sum_file=$cache_dir/$stem.sha256 w entry suite base sha size file dir
  mkdir -p "$cache_dir"
  if [[ -f $sum_file ]]; then
    read -r sha file <"$sum_file"
    tarball=$cache_dir/$file
    if [[ -f $tarball ]] && [[ $(sha256sum "$tarball" | cut -d' ' -f1) == "$sha" ]]; then
      return 0
    fi
  fi
  w=$(mktemp -d "${TMPDIR:-/tmp}/dwregress-fetch.XXXXXX")
  entry=
  for suite in bookworm bookworm-updates bookworm-security; do
    base=$debian_mirror/debian
    [[ $suite == *-security ]] && base=$debian_mirror/debian-security
    entry=$(find_in_suite "$base" "$suite" "$w")
    [[ -n $entry ]] && break
  done
  [[ -n $entry ]] || { rm -rf "$w"; dw_die "no Debian suite lists postgresql-15 $deb_version"; }
  read -r sha size file dir <<<"$entry"
  dw_info "downloading $file ($size bytes) from $base/$dir"
  curl -fsSL --retry 2 -o "$w/$file" "$base/$dir/$file" || { rm -rf "$w"; dw_die "download of $file failed"; }
  if [[ $(sha256sum "$w/$file" | cut -d' ' -f1) != "$sha" ]]; then
    rm -rf "$w"
    dw_die "$file does not match the sha256 in $suite's Sources"
  fi
  mv "$w/$file" "$cache_dir/$file"
  printf '%s %s\n' "$sha" "$file" >"$sum_file"
  rm -rf "$w"
  tarball=$cache_dir/$file
}

# Sets suite_src (src/test/regress) and lib_dir (regress.so, autoinc.so, refint.so): the
# tests load these C functions from --dlpath. Built once per version, against the server
# headers of the same version (scripts/install-deps.sh regress).
prepare_suite() {
  local root=$build_dir/postgresql-$src_version
  if [[ ! -f $root/.extracted ]]; then
    rm -rf "$root"
    mkdir -p "$build_dir"
    tar -xjf "$tarball" -C "$build_dir" "postgresql-$src_version/src/test/regress" \
      "postgresql-$src_version/contrib/spi"
    touch "$root/.extracted"
  fi
  suite_src=$root/src/test/regress
  lib_dir=$root/lib
  mkdir -p "$lib_dir"
  local include c name
  include=$("$pg_bin/pg_config" --includedir-server 2>/dev/null || pg_config --includedir-server)
  for c in "$suite_src/regress.c" "$root/contrib/spi/autoinc.c" "$root/contrib/spi/refint.c"; do
    name=$(basename "$c" .c)
    [[ -f $lib_dir/$name.so ]] && continue
    # REFINT_VERBOSE as contrib/spi's Makefile sets it: the triggers test expects its NOTICEs.
    gcc -O2 -fPIC -shared -fno-strict-aliasing -fwrapv -DREFINT_VERBOSE -I"$include" -o "$lib_dir/$name.so" "$c" ||
      dw_die "building $name.so failed"
  done
}

# --- running one mode ------------------------------------------------------------------

# pg_regress runs as the service user when root: the servers run as that user and read the
# suite's data files and write into its output folder (COPY ... TO/FROM a file).
as_service_user=()
dw_is_root && as_service_user=(runuser -u "$dw_service_user" --)

# pg_regress without --use-existing: that is installcheck, which drops and creates the
# database `regression` (--use-existing would expect it to exist already).
run_pg_regress() { # MODE PORT
  local mode=$1 port=$2 out=$work/out/$1 schedule=()
  mkdir -p "$out"
  dw_is_root && chown -R "$dw_service_user:" "$out"
  if [[ -n ${DW_REGRESS_TESTS:-} ]]; then
    # shellcheck disable=SC2206 # word splitting intended: a list of test names
    schedule=(test_setup $DW_REGRESS_TESTS)
  else
    schedule=(--schedule="$work/suite/parallel_schedule")
  fi
  local started=$SECONDS rc=0
  # A hang (a proxy bug) must end the run, not block it: pg_regress and its psqls are killed.
  # From the work folder: the service user may not be allowed into the caller's. In the
  # background, so that INT/TERM reach the trap at once (bash runs it only once a foreground
  # command ends) and the cleanup stops pg_regress with everything else.
  (cd "$work" && exec timeout -k 10 "$run_timeout" \
    "${as_service_user[@]}" env PGPASSWORD="$dw_db_password" "$pg_regress" \
    --bindir="$pg_bin" --inputdir="$work/suite" --outputdir="$out" --dlpath="$work/lib" \
    --host=127.0.0.1 --port="$port" --user="$dw_db_user" --max-concurrent-tests=20 \
    "${schedule[@]}") >"$out/pg_regress.log" 2>&1 &
  local pid=$!
  dw_defer dw_stop_pid "$pid"
  wait "$pid" || rc=$?
  seconds[$mode]=$((SECONDS - started))
  ((rc != 124 && rc != 137)) || broken+=("$mode: pg_regress was stopped after ${run_timeout}s (DW_REGRESS_TIMEOUT)")
  # "test name ... ok 12 ms" or, inside a parallel group, "     name ... FAILED 40 ms".
  sed -nE 's/^(test +| +)([A-Za-z0-9_]+) +\.\.\. +(ok|FAILED|failed \(ignored\)).*/\2 \3/p' \
    "$out/pg_regress.log" | sed 's/failed (ignored)/ignored/' >"$out/status"
  if [[ ! -s $out/status ]]; then
    tail -n 20 "$out/pg_regress.log" >&2
    broken+=("$mode: pg_regress ran no test (exit $rc)")
  fi
  save_results "$mode"
}

save_results() { # MODE
  local dest=$out_dir/$1
  rm -rf "$dest"
  mkdir -p "$dest"
  cp "$work/out/$1/pg_regress.log" "$work/out/$1/status" "$dest/" 2>/dev/null || true
  cp "$work/out/$1"/regression.{diffs,out} "$dest/" 2>/dev/null || true
}

# Clusters tuned like pg_regress's own temporary instance where the expected files care.
cluster() { # DIR PORT
  dw_cluster_up "$1" "$2" -c max_prepared_transactions=2
}

start_proxy() { # MODE PORT OLD_PORT [NEW_PORT PHASE]
  local mode=$1 port=$2 cfg=$work/$1.yaml args=()
  cat >"$cfg" <<YAML
divergence_log: { path: "$work/$mode-divergences.jsonl", redaction: none, max_bytes: 0 }
shadow_reads: { sample_rate: 1.0 }
YAML
  args=(--config "$cfg" --control-socket "$work/$mode.sock"
    --old "postgresql://$dw_db_user:$dw_db_password@127.0.0.1:$3")
  if (($# > 3)); then
    args+=(--new "postgresql://$dw_db_user:$dw_db_password@127.0.0.1:$4" --phase "$5")
  fi
  dw_dwproxy_start "$work/$mode-dwproxy.log" "$port" "${args[@]}" || dw_die "$dw_proxy_problem"
}

run_mode() { # MODE
  local mode=$1 old_port new_port proxy_port
  dw_heading "$mode"
  dw_pick_port old_port
  cluster "$work/$mode-old" "$old_port"
  case $mode in
    direct) run_pg_regress direct "$old_port" ;;
    phase0)
      dw_pick_port proxy_port
      start_proxy phase0 "$proxy_port" "$old_port"
      run_pg_regress phase0 "$proxy_port"
      ;;
    dual)
      dw_pick_port new_port
      dw_pick_port proxy_port
      cluster "$work/$mode-new" "$new_port"
      start_proxy dual "$proxy_port" "$old_port" "$new_port" "$dual_phase"
      run_pg_regress dual "$proxy_port"
      report_dual
      compare_tables "$old_port" "$new_port"
      ;;
  esac
  dw_run_cleanup_mode
  # Copied once the proxy has stopped, so that what it logs on its way out (a sanitizer
  # build's leak report) is kept too.
  [[ ! -f $work/$mode-dwproxy.log ]] || cp "$work/$mode-dwproxy.log" "$out_dir/$mode/dwproxy.log"
}

# What the shadow made of it: divergences by kind and statement, and the status line.
report_dual() {
  local log=$work/dual-divergences.jsonl dest=$out_dir/dual
  "$dw_dwctl_bin" --socket "$work/dual.sock" status >"$dest/dwctl-status.txt" 2>&1 || true
  "$dw_dwctl_bin" --socket "$work/dual.sock" diffs --limit 30 >"$dest/dwctl-diffs.txt" 2>&1 || true
  divergences=0
  if [[ -s $log ]]; then
    cp "$log" "$dest/divergences.jsonl"
    divergences=$(wc -l <"$log")
    jq -r '[.kind, (.statement // "" | gsub("\\s+"; " ") | .[0:110])] | @tsv' "$log" |
      sort | uniq -c | sort -rn >"$dest/divergences-summary.txt"
  fi
}

# What the suite left in the database `regression` on OLD and on NEW: per table the row count
# and an md5 of its rows in text form, sorted. Tables holding OIDs, xids, random() or
# now() values written in ways the proxy cannot see (column defaults, functions) differ
# legitimately; the list is for reading, it fails nothing.
compare_tables() { # OLD_PORT NEW_PORT
  local dest=$out_dir/dual side
  local list="SELECT format('SELECT %L, count(*), md5(coalesce(string_agg(t::text, %L ORDER BY t::text), %L)) FROM %I.%I t;',
                 n.nspname || '.' || c.relname, '|', '', n.nspname, c.relname)
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'm') AND c.relpersistence <> 't'
               AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
             ORDER BY 1"
  psql -X -Atq -h "$work/dual-old" -p "$1" -U "$dw_db_user" -d regression -c "$list" \
    >"$work/digests.sql" 2>/dev/null || return 0
  for side in old new; do
    local port=$1
    [[ $side == new ]] && port=$2
    # A table missing on one side shows as an error line; a table only on NEW is not listed.
    psql -X -Atq -F' ' -h "$work/dual-$side" -p "$port" -U "$dw_db_user" -d regression \
      -f "$work/digests.sql" >"$work/digests-$side.txt" 2>&1 || true
  done
  diff "$work/digests-old.txt" "$work/digests-new.txt" >"$dest/tables-differ.diff" || true
  tables_total=$(wc -l <"$work/digests.sql")
  tables_differ=$(grep -c '^<' "$dest/tables-differ.diff" || true)
}

# --- the report --------------------------------------------------------------------------

count() { awk -v s="$2" '$2 == s' "$work/out/$1/status" | wc -l; }

report() {
  dw_heading "results (logs and diffs in $out_dir)"
  {
    echo "mode|tests|passed|failed|ignored|seconds|failing here but passing directly"
    local m only
    for m in "${modes[@]}"; do
      [[ -f $work/out/$m/status ]] || continue
      only=-
      if [[ $m != direct && -n $direct_status ]]; then
        only=$(proxy_only "$m" | tr '\n' ' ')
        [[ -n $only ]] || only=none
      fi
      echo "$m|$(wc -l <"$work/out/$m/status")|$(count "$m" ok)|$(count "$m" FAILED)|$(count "$m" ignored)|${seconds[$m]}|$only"
    done
  } | dw_markdown_table
  if [[ -n $direct_status ]]; then
    echo
    echo "failing directly: $(awk '$2 != "ok" { printf "%s ", $1 }' "$direct_status")"
    [[ $direct_status == "$work"/* ]] || echo "(the direct results are an earlier run's: $direct_status)"
  fi
  [[ -n ${divergences:-} ]] && echo "dual (phase $dual_phase): $divergences divergence record(s), see $out_dir/dual/divergences-summary.txt"
  [[ -n ${tables_total:-} ]] && echo "dual: $tables_differ of $tables_total tables in database regression differ between OLD and NEW, see $out_dir/dual/tables-differ.diff"
  return 0
}

proxy_only() { # MODE: tests not ok in MODE that are ok directly
  awk 'NR == FNR { if ($2 == "ok") ok[$1] = 1; next } $2 != "ok" && ($1 in ok) { print $1 }' \
    "$direct_status" "$work/out/$1/status"
}

# --- main ----------------------------------------------------------------------------------

dw_install_traps
dw_heading "dependencies (scripts/install-deps.sh regress)"
"$dw_repo/scripts/install-deps.sh" regress
server_version
fetch_source
prepare_suite
dw_info "PostgreSQL $src_version regression suite from $tarball"

if [[ " ${modes[*]} " != " direct " ]]; then
  dw_build_dwproxy "$build_dir/build.log" || dw_die "$dw_proxy_problem"
  dw_build_dwctl "$build_dir/build.log" || dw_die "$dw_proxy_problem"
fi

work=  # set by dw_make_workdir: clusters, the suite's copy, pg_regress's output
dw_make_workdir work dwregress
mkdir -p "$work/suite" "$work/lib" "$work/out"
cp -a "$suite_src"/{sql,expected,data,parallel_schedule,resultmap} "$work/suite/"
cp -a "$lib_dir"/*.so "$work/lib/"
dw_is_root && chown -R "$dw_service_user:" "$work"
mkdir -p "$out_dir"

declare -A seconds=()
broken=()
# Each mode's servers and proxy stop when the mode ends: the cleanup stack is cut back to
# what it held before the mode.
dw_run_cleanup_mode() {
  local i
  for ((i = ${#dw_cleanup_cmds[@]} - 1; i >= mode_mark; i--)); do
    eval "${dw_cleanup_cmds[i]}" || true
  done
  dw_cleanup_cmds=("${dw_cleanup_cmds[@]:0:mode_mark}")
}
for mode in "${modes[@]}"; do
  mode_mark=${#dw_cleanup_cmds[@]}
  run_mode "$mode"
done
direct_status=
if [[ -f $work/out/direct/status ]]; then
  direct_status=$work/out/direct/status
elif [[ -f $out_dir/direct/status ]]; then
  direct_status=$out_dir/direct/status
fi
report

if ((${#broken[@]} > 0)); then
  printf 'regress.sh: %s\n' "${broken[@]}" >&2
  exit 1
fi
if [[ -n $direct_status ]]; then
  for m in "${modes[@]}"; do
    [[ $m == direct ]] && continue
    [[ -z $(proxy_only "$m") ]] || exit 1
  done
fi
exit 0
