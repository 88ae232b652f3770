#!/usr/bin/env bash
# Real application drivers through dwproxy: psycopg 3 and psycopg2 (Python), pgJDBC (Java)
# and node-postgres (Node.js), each against a throwaway PostgreSQL 15 cluster. Each driver
# program asserts its own results and exits non-zero on a mismatch. Prints
# "N passed, M failed" and exits non-zero when any failed. Run by ctest (label drivers).
# Every driver runs three times: through a phase-0 proxy (passthrough), through a phase-1
# proxy with a second cluster as NEW (dual-write), which must record no divergence, and
# through a phase-2 proxy comparing every read on NEW (shadow-read), which must record no
# divergence and no read mismatch.
#   tests/drivers/run.sh DWPROXY_BINARY DWCTL_BINARY WORK_CACHE_DIR
set -euo pipefail
here=$(cd "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../bench/lib/harness.sh
source "$here/../../bench/lib/harness.sh"
dw_proxy_bin=$1
dwctl_bin=$2
cache=$3
dw_install_traps

# node-postgres comes from the npm registry, installed once into the build tree.
if [[ ! -d $cache/node_modules/pg ]]; then
  mkdir -p "$cache"
  npm install --prefix "$cache" --no-audit --no-fund --silent pg@8 >/dev/null
fi

dw_make_workdir work dwdrivers
dw_pick_port pg_port
dw_pick_port new_port
dw_pick_port proxy_port
dw_pick_port dual_port
dw_pick_port shadow_port
dw_cluster_up "$work/pg" "$pg_port" >/dev/null
dw_cluster_up "$work/new" "$new_port" >/dev/null
dw_dwproxy_start "$work/proxy.log" "$proxy_port" --old "$(dw_uri "$pg_port")" --threads 2 ||
  dw_die "dwproxy did not start: $dw_proxy_problem"
passthrough_pid=$dw_dwproxy_pid
dw_dwproxy_start "$work/dual.log" "$dual_port" --old "$(dw_uri "$pg_port")" \
  --new "$(dw_uri "$new_port")" --phase 1 --threads 2 --control-socket "$work/ctl.sock" ||
  dw_die "dual-write dwproxy did not start: $dw_proxy_problem"
dual_pid=$dw_dwproxy_pid
printf 'shadow_reads:\n  sample_rate: 1\n  max_pending: 1000\n' >"$work/shadow.yaml"
dw_dwproxy_start "$work/shadow.log" "$shadow_port" --config "$work/shadow.yaml" \
  --old "$(dw_uri "$pg_port")" --new "$(dw_uri "$new_port")" --phase 2 --threads 2 \
  --control-socket "$work/ctl2.sock" ||
  dw_die "shadow-read dwproxy did not start: $dw_proxy_problem"
shadow_pid=$dw_dwproxy_pid
javac -d "$work" "$here/JdbcCheck.java"

passed=0
failed=0
run() { # NAME CMD...
  local name=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "driver check failed: $name" >&2
  fi
}
run_all() { # LABEL PORT
  local label=$1 port=$2
  local dsn="host=127.0.0.1 port=$port user=$dw_db_user password=$dw_db_password dbname=$dw_db_name sslmode=disable"
  run "psycopg ($label)" /usr/bin/python3 "$here/psycopg_check.py" "$dsn"
  run "jdbc ($label)" java -cp "$work:/usr/share/java/postgresql.jar" JdbcCheck \
    "jdbc:postgresql://127.0.0.1:$port/$dw_db_name?sslmode=disable" "$dw_db_user" "$dw_db_password"
  run "node-pg ($label)" env NODE_PATH="$cache/node_modules" node --no-deprecation \
    "$here/node_pg_check.js" "$port"
}
run_all passthrough "$proxy_port"
run_all dual-write "$dual_port"
run_all shadow-read "$shadow_port"

# Dual-write must have fed NEW without a single divergence.
for name in dual:ctl shadow:ctl2; do
  divergences=$("$dwctl_bin" --socket "$work/${name#*:}.sock" status --json |
    /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["divergences"])')
  if [[ $divergences != 0 ]]; then
    echo "${name%%:*}: recorded $divergences divergence(s); see $work/${name%%:*}.log" >&2
    grep -i "diverged\|differs" "$work/${name%%:*}.log" | head -20 >&2 || true
    failed=$((failed + 1))
  fi
done
# Shadow-read compared the drivers' reads (NEW holds the same data) and found no difference.
read -r samples mismatches < <("$dwctl_bin" --socket "$work/ctl2.sock" --json diffs |
  /usr/bin/python3 -c 'import json,sys; t=json.load(sys.stdin)["totals"]; print(t["samples"], t["mismatches"])')
if ((samples == 0 || mismatches != 0)); then
  echo "shadow-read: $samples reads compared, $mismatches mismatched (want >0 and 0)" >&2
  "$dwctl_bin" --socket "$work/ctl2.sock" diffs >&2 || true
  failed=$((failed + 1))
fi

for pid in "$passthrough_pid" "$dual_pid" "$shadow_pid"; do
  if ! dw_alive "$pid"; then
    echo "dwproxy (pid $pid) died during the driver checks" >&2
    failed=$((failed + 1))
  fi
done
echo "drivers: $passed passed, $failed failed"
((failed == 0))
