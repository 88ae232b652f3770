#!/usr/bin/env bash
# Real application drivers through dwproxy: psycopg 3 and psycopg2 (Python), pgJDBC (Java)
# and node-postgres (Node.js), each against a throwaway PostgreSQL 15 cluster. Each driver
# program asserts its own results and exits non-zero on a mismatch. Prints
# "N passed, M failed" and exits non-zero when any failed. Run by ctest (label drivers).
#   tests/drivers/run.sh DWPROXY_BINARY WORK_CACHE_DIR
set -euo pipefail
here=$(cd "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../bench/lib/harness.sh
source "$here/../../bench/lib/harness.sh"
dw_proxy_bin=$1
cache=$2
dw_install_traps

# node-postgres comes from the npm registry, installed once into the build tree.
if [[ ! -d $cache/node_modules/pg ]]; then
  mkdir -p "$cache"
  npm install --prefix "$cache" --no-audit --no-fund --silent pg@8 >/dev/null
fi

dw_make_workdir work dwdrivers
dw_pick_port pg_port
dw_pick_port proxy_port
dw_cluster_up "$work/pg" "$pg_port" >/dev/null
dw_dwproxy_start "$work/proxy.log" "$proxy_port" --old "$(dw_uri "$pg_port")" --threads 2 ||
  dw_die "dwproxy did not start: $dw_proxy_problem"

dsn="host=127.0.0.1 port=$proxy_port user=$dw_db_user password=$dw_db_password dbname=$dw_db_name sslmode=disable"
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
run psycopg /usr/bin/python3 "$here/psycopg_check.py" "$dsn"
javac -d "$work" "$here/JdbcCheck.java"
run jdbc java -cp "$work:/usr/share/java/postgresql.jar" JdbcCheck \
  "jdbc:postgresql://127.0.0.1:$proxy_port/$dw_db_name?sslmode=disable" "$dw_db_user" "$dw_db_password"
run node-pg env NODE_PATH="$cache/node_modules" node --no-deprecation "$here/node_pg_check.js" "$proxy_port"

if ! dw_alive "$dw_dwproxy_pid"; then
  echo "dwproxy died during the driver checks" >&2
  failed=$((failed + 1))
fi
echo "drivers: $passed passed, $failed failed"
((failed == 0))
