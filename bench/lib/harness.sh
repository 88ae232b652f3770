# shellcheck shell=bash
# shellcheck disable=SC2034 # dw_* variables set here are read by the sourcing scripts
# Shared helpers for bench/*.sh and scripts/demo.sh: headings, an EXIT cleanup stack,
# free loopback ports, building dwproxy, throwaway clusters (via scripts/pgcluster.sh),
# pgbouncer and dwproxy started in the background and awaited by a real login, and
# /proc readings (CPU ticks, RSS, PSS) of those processes.
# Sourced, never executed; sets no shell options (the caller runs `set -euo pipefail`).
# It measures and reports nothing itself: the scripts decide what to run and print.

dw_repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
dw_pgcluster=$dw_repo/scripts/pgcluster.sh
dw_prog=$(basename -- "$0")
# pgcluster.sh makes superuser postgres/postgres (SCRAM on 127.0.0.1) and database app.
dw_db_user=postgres
dw_db_password=postgres
dw_db_name=app
# PostgreSQL and pgbouncer both refuse to run as root; pgcluster.sh uses this user then.
dw_service_user=dwpg
dw_clk_tck=$(getconf CLK_TCK)

dw_heading() { printf '\n=== %s ===\n' "$*"; }
dw_info() { printf '%s: %s\n' "$dw_prog" "$*"; }
dw_warn() { printf '%s: warning: %s\n' "$dw_prog" "$*" >&2; }
dw_die() {
  printf '%s: error: %s\n' "$dw_prog" "$*" >&2
  exit 1
}
dw_is_root() { [[ $(id -u) -eq 0 ]]; }

# --- cleanup stack: dw_defer CMD ARGS... runs at exit, last deferred first ----------

dw_cleanup_cmds=()
dw_defer() { dw_cleanup_cmds+=("$(printf '%q ' "$@")"); }
dw_run_cleanup() {
  local i
  for ((i = ${#dw_cleanup_cmds[@]} - 1; i >= 0; i--)); do
    eval "${dw_cleanup_cmds[i]}" || true
  done
  dw_cleanup_cmds=()
}
# INT/TERM become a normal exit so the EXIT trap tears everything down exactly once.
dw_install_traps() {
  trap dw_run_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# A private work dir, removed at exit. pgcluster.sh makes it traversable for dwpg.
dw_make_workdir() { # VAR PREFIX
  local dir
  dir=$(mktemp -d "${TMPDIR:-/tmp}/$2.XXXXXX")
  dw_defer rm -rf "$dir"
  printf -v "$1" '%s' "$dir"
}

# A subdirectory the service user can write (pgbouncer's config, logs, pid file).
dw_make_service_dir() { # DIR
  mkdir -p "$1"
  if dw_is_root; then chown "$dw_service_user:" "$1"; fi
}

# Replaces the current (sub)shell with CMD in a session of its own, as a daemon would run:
# Linux's autogroup scheduler shares CPU per session, and every PostgreSQL backend is a
# session of its own, so a proxy left in the script's session would split one share with
# pgbench. setsid execs without forking here (a background job is no group leader), so
# `dw_exec_daemon cmd &` leaves the server's own pid in $!.
dw_exec_daemon() {
  exec setsid -- "$@"
}
# The same, run as the service user when root (pgbouncer refuses to run as root).
dw_exec_daemon_as_service_user() {
  cd / || exit 1
  if dw_is_root; then
    dw_exec_daemon setpriv --reuid="$dw_service_user" --regid="$dw_service_user" --init-groups -- "$@"
  fi
  dw_exec_daemon "$@"
}

# Raises the soft open-files limit to at least N (up to the hard limit).
dw_raise_nofile() { # N
  local want=$1 hard
  hard=$(ulimit -Hn)
  [[ $hard != unlimited ]] && ((want > hard)) && want=$hard
  (($(ulimit -Sn) >= want)) || ulimit -Sn "$want"
  (($(ulimit -Sn) >= $1)) || dw_warn "open-files limit is $(ulimit -Sn), wanted $1"
}

# --- ports ---------------------------------------------------------------------------

dw_ports_taken=()
# Sets VAR to a TCP port that no socket uses in any state and this run has not handed out.
# Ports come from below the kernel's ephemeral range: the many client connections of a
# benchmark take ephemeral local ports, and one of those would make the listen fail.
dw_pick_port() { # VAR
  local p tries low
  read -r low _ </proc/sys/net/ipv4/ip_local_port_range
  ((low > 12000)) || dw_die "ephemeral port range starts at $low; no room below it"
  for ((tries = 0; tries < 500; tries++)); do
    p=$((10000 + RANDOM % (low - 10000)))
    [[ " ${dw_ports_taken[*]} " == *" $p "* ]] && continue
    [[ -n $(ss -Htan "sport = :$p") ]] && continue
    dw_ports_taken+=("$p")
    printf -v "$1" '%s' "$p"
    return 0
  done
  dw_die "found no free TCP port"
}

# libpq URI for the superuser on a loopback port (the form dwproxy's --old/--new take).
dw_uri() { printf 'postgresql://%s:%s@127.0.0.1:%s/%s' "$dw_db_user" "$dw_db_password" "$1" "$dw_db_name"; }

# --- processes and /proc --------------------------------------------------------------

dw_alive() { # PID
  local state
  state=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z && $state != X ]]
}

# TERM (or SIG), up to T seconds' grace, then KILL. Reaps it when it is our child.
dw_stop_pid() { # PID [SIG] [T]
  local pid=$1 sig=${2:-TERM} grace=${3:-10} deadline
  if dw_alive "$pid"; then
    kill -s "$sig" "$pid" 2>/dev/null || true
    deadline=$((SECONDS + grace))
    while dw_alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
    if dw_alive "$pid"; then
      dw_warn "pid $pid ignored SIG$sig for ${grace}s; killing it"
      kill -s KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
}

# utime + stime of the whole process (all threads), in clock ticks (dw_clk_tck per s).
# The comm field may hold spaces, so fields are counted after its closing parenthesis.
dw_cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
# The same for PID and every live process below it, each with the times of the children it
# has reaped (a PostgreSQL server: its backends, those gone included; pgpool: its children).
# A reaped process counts once, in its parent's cutime/cstime; a live one in its own.
dw_tree_cpu_ticks() { # PID
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" '
    { pid = $1; rest = $0; sub(/.*\) /, "", rest); split(rest, f, " ")
      parent[pid] = f[2]; ticks[pid] = f[12] + f[13] + f[14] + f[15] }
    END {
      if (!(root in ticks)) { print 0; exit }
      mine[root] = 1
      do { grew = 0
           for (p in parent) if (!(p in mine) && (parent[p] in mine)) { mine[p] = 1; grew = 1 }
      } while (grew)
      for (p in mine) sum += ticks[p]
      print sum }'
}
dw_rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
# Proportional set size: shared pages (libraries) split between the processes using them.
dw_pss_kib() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup"; }

# Polls a real login (SCRAM included) through URI until it works. Fails as soon as PID
# is gone, or after TIMEOUT seconds.
dw_wait_login() { # URI PID TIMEOUT
  local uri=$1 pid=$2 deadline=$((SECONDS + ${3:-20}))
  until PGCONNECT_TIMEOUT=3 psql -X -Atq -d "$uri" -c 'SELECT 1' >/dev/null 2>&1; do
    dw_alive "$pid" || return 1
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# --- building dwproxy -------------------------------------------------------------------

dw_install_deps() { "$dw_repo/scripts/install-deps.sh"; }

# Sets dw_proxy_bin to DW_PROXY_BIN, or builds the Release preset and uses its binary.
# On failure returns 1 with dw_proxy_problem saying why (the build log's tail is shown).
dw_proxy_bin=
dw_proxy_problem=
dw_build_dwproxy() { # BUILD_LOG
  local log=$1
  if [[ -n ${DW_PROXY_BIN:-} ]]; then
    if [[ -x $DW_PROXY_BIN ]]; then
      dw_proxy_bin=$DW_PROXY_BIN
      dw_info "using DW_PROXY_BIN=$dw_proxy_bin (not rebuilding)"
      return 0
    fi
    dw_proxy_problem="DW_PROXY_BIN=$DW_PROXY_BIN is not an executable file"
    return 1
  fi
  : >"$log"
  dw_release_build dwproxy "$log" proxy/dwproxy || return 1
  dw_proxy_bin=$dw_repo/build/release/proxy/dwproxy
}

# Sets dw_dwctl_bin after dw_build_dwproxy: DW_DWCTL_BIN, else the dwctl of the same build
# tree as dw_proxy_bin (BUILD/proxy/dwproxy -> BUILD/control/dwctl), else builds the Release
# preset's dwctl. On failure returns 1 with dw_proxy_problem saying why.
dw_dwctl_bin=
dw_build_dwctl() { # BUILD_LOG
  local log=$1 sibling
  if [[ -n ${DW_DWCTL_BIN:-} ]]; then
    [[ -x $DW_DWCTL_BIN ]] && dw_dwctl_bin=$DW_DWCTL_BIN && return 0
    dw_proxy_problem="DW_DWCTL_BIN=$DW_DWCTL_BIN is not an executable file"
    return 1
  fi
  sibling=$(dirname -- "$(dirname -- "$dw_proxy_bin")")/control/dwctl
  if [[ -n $dw_proxy_bin && -x $sibling && $dw_proxy_bin != "$dw_repo/build/release/proxy/dwproxy" ]]; then
    dw_dwctl_bin=$sibling
    dw_info "using $dw_dwctl_bin (beside $dw_proxy_bin)"
    return 0
  fi
  dw_release_build dwctl "$log" control/dwctl || return 1
  dw_dwctl_bin=$dw_repo/build/release/control/dwctl
}

# Builds TARGET with the Release preset (output appended to LOG) and checks that
# build/release/PATH came out; on failure returns 1 with dw_proxy_problem saying why.
dw_release_build() { # TARGET LOG PATH
  local target=$1 log=$2 built=$dw_repo/build/release/$3
  dw_info "building $target (cmake --preset release; log: $log)"
  if ! (cd "$dw_repo" && cmake --preset release && cmake --build --preset release --target "$target") \
    >>"$log" 2>&1; then
    tail -n 25 "$log" >&2
    dw_proxy_problem="the Release build of $target failed (cmake --build --preset release --target $target)"
    return 1
  fi
  [[ -x $built ]] || {
    dw_proxy_problem="the build succeeded but $built is missing"
    return 1
  }
}

# --- servers ----------------------------------------------------------------------------

# Creates and starts a throwaway cluster; at exit it is stopped (fast) and destroyed.
dw_cluster_up() { # DIR PORT [-c name=value ...]
  local dir=$1
  "$dw_pgcluster" create "$@"
  dw_defer dw_cluster_down "$dir"
  "$dw_pgcluster" start "$dir"
}
dw_cluster_down() { # DIR
  "$dw_pgcluster" stop "$1" fast 2>/dev/null || true
  "$dw_pgcluster" destroy "$1"
}

# psql as the superuser over the cluster's Unix socket (trust): for setup and polling,
# so that it never competes with the measured TCP/SCRAM paths' connection limits.
dw_cluster_psql() { # DIR PORT SQL
  psql -X -Atq -v ON_ERROR_STOP=1 -h "$1" -p "$2" -U "$dw_db_user" -d "$dw_db_name" -c "$3"
}

# Starts pgbouncer (session pooling, SCRAM with the superuser's verifier copied from
# pg_authid) as the service user. Sets dw_pgbouncer_pid; stopped at exit.
# pgbouncer logs in to PostgreSQL by SCRAM pass-through: it reuses the keys the client
# proved, which works because its auth_file holds the server's own verifier.
dw_pgbouncer_pid=
dw_pgbouncer_start() { # DIR LISTEN_PORT CLUSTER_DIR PG_PORT MAX_CLIENTS POOL_SIZE
  local dir=$1 port=$2 cdir=$3 pg_port=$4 max_clients=$5 pool=$6 verifier
  dw_make_service_dir "$dir"
  verifier=$(dw_cluster_psql "$cdir" "$pg_port" \
    "SELECT rolpassword FROM pg_authid WHERE rolname = '$dw_db_user'")
  [[ $verifier == SCRAM-SHA-256\$* ]] || dw_die "no SCRAM verifier for $dw_db_user in pg_authid"
  printf '"%s" "%s"\n' "$dw_db_user" "$verifier" >"$dir/userlist.txt"
  cat >"$dir/pgbouncer.ini" <<INI
[databases]
$dw_db_name = host=127.0.0.1 port=$pg_port dbname=$dw_db_name

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $dir/userlist.txt
admin_users = $dw_db_user
pool_mode = session
max_client_conn = $max_clients
default_pool_size = $pool
max_db_connections = 0
server_tls_sslmode = disable
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
log_connections = 0
log_disconnections = 0
log_pooler_errors = 1
log_stats = 0
verbose = 0
INI
  chmod 600 "$dir/userlist.txt" "$dir/pgbouncer.ini"
  if dw_is_root; then chown "$dw_service_user:" "$dir/userlist.txt" "$dir/pgbouncer.ini"; fi
  dw_exec_daemon_as_service_user pgbouncer -q "$dir/pgbouncer.ini" >>"$dir/pgbouncer.stderr" 2>&1 &
  dw_pgbouncer_pid=$!
  dw_defer dw_stop_pid "$dw_pgbouncer_pid"
  if ! dw_wait_login "$(dw_uri "$port")" "$dw_pgbouncer_pid" 20; then
    tail -n 20 "$dir/pgbouncer.log" "$dir/pgbouncer.stderr" >&2 2>/dev/null || true
    dw_die "pgbouncer did not accept a login on 127.0.0.1:$port"
  fi
}

# Starts dwproxy (dw_proxy_bin) listening on LISTEN_PORT; extra args go to dwproxy as is.
# Sets dw_dwproxy_pid and returns 0 once a login through it works; otherwise stops it,
# shows its log tail, sets dw_proxy_problem and returns 1. Stopped at exit either way.
dw_dwproxy_pid=
dw_dwproxy_start() { # LOG LISTEN_PORT ARGS...
  local log=$1 port=$2
  shift 2
  dw_exec_daemon "$dw_proxy_bin" --listen "127.0.0.1:$port" "$@" >>"$log" 2>&1 &
  dw_dwproxy_pid=$!
  dw_defer dw_stop_pid "$dw_dwproxy_pid"
  if dw_wait_login "$(dw_uri "$port")" "$dw_dwproxy_pid" 20; then
    return 0
  fi
  if dw_alive "$dw_dwproxy_pid"; then
    dw_proxy_problem="dwproxy is running but no login through 127.0.0.1:$port worked within 20 s"
  else
    local rc=0
    wait "$dw_dwproxy_pid" 2>/dev/null || rc=$?
    dw_proxy_problem="dwproxy exited (status $rc) before accepting a login"
  fi
  dw_stop_pid "$dw_dwproxy_pid"
  if [[ -s $log ]]; then
    printf '%s\n' "--- last lines of $log ---" >&2
    tail -n 15 "$log" >&2
  fi
  return 1
}

# Calls the script's `run_round TARGET ROUND` for every target its `active TARGET` accepts,
# ROUNDS times, each round starting at the next target, so no target always runs first.
dw_interleave_rounds() { # ROUNDS TARGET...
  local rounds=$1
  shift
  local targets=("$@")
  local n=${#targets[@]} r i t
  for ((r = 1; r <= rounds; r++)); do
    for ((i = 0; i < n; i++)); do
      t=${targets[$(((r - 1 + i) % n))]}
      if active "$t"; then run_round "$t" "$r"; fi
    done
  done
}

# --- reporting ---------------------------------------------------------------------------

# Reads '|'-separated rows on stdin (first row = header) and prints an aligned markdown
# table, so the same text reads well in a terminal and renders in a .md file.
dw_markdown_table() {
  awk -F'|' '
    { rows[NR] = $0; for (i = 1; i <= NF; i++) { v = $i; gsub(/^ +| +$/, "", v); cell[NR, i] = v
        if (length(v) > w[i]) w[i] = length(v); if (w[i] < 3) w[i] = 3 } if (NF > nf) nf = NF }
    END {
      for (r = 1; r <= NR; r++) {
        line = "|"
        for (i = 1; i <= nf; i++) line = line sprintf(" %-" w[i] "s |", cell[r, i])
        print line
        if (r == 1) { line = "|"; for (i = 1; i <= nf; i++) { d = ""; for (k = 0; k < w[i]; k++) d = d "-"
            line = line " " d " |" } print line }
      }
    }'
}
