#!/usr/bin/env bash
# Installs the Debian 12 packages dwproxy needs to build, test, demo and benchmark.
# Idempotent: packages already present are skipped, and apt is not touched at all
# when nothing is missing. Both README commands call this first.
#   scripts/install-deps.sh            the packages above
#   scripts/install-deps.sh regress    also what scripts/regress.sh needs: the server headers
#                                      at the installed server's exact version (regress.so is
#                                      built against them) and the tools that fetch and check
#                                      the PostgreSQL source
set -euo pipefail

packages=(
  build-essential cmake pkg-config ninja-build
  libboost1.81-dev            # Asio, Beast, boost::system::result
  libpq-dev libssl-dev libspdlog-dev libfmt-dev libyaml-cpp-dev libpg-query-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev # libFuzzer targets
  postgresql-15 postgresql-client-15 postgresql-contrib
  pgbouncer pgpool2           # benchmark peers
  util-linux procps jq        # runuser, ps for the harness; jq reads dwctl --json in bench/
  python3-psycopg python3-psycopg2 libpostgresql-jdbc-java  # driver tests
  python3-yaml                # tests/docker/check_compose.py
)
# Driver tests also need a JDK and Node.js with npm; use the machine's own when it has them
# (Debian's npm alone pulls in hundreds of packages).
command -v javac >/dev/null 2>&1 || packages+=(default-jdk-headless)
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

group=${1:-}
if [[ -n $group && $group != regress ]]; then
  echo "install-deps: unknown group '$group' (known: regress)" >&2
  exit 2
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
installed_version() { installed "$1" && dpkg-query -W -f='${Version}' "$1"; }

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
apt_ready=0
created_policy=0
policy=/usr/sbin/policy-rc.d
trap '[[ $created_policy == 1 ]] && "${sudo_cmd[@]}" rm -f "$policy"' EXIT

apt_install() {
  echo "install-deps: installing $*" >&2
  if ((apt_ready == 0)); then
    apt_ready=1
    # Package scripts must not start system-wide PostgreSQL/pgbouncer/pgpool services:
    # the tests and the demo start their own throwaway servers on loopback.
    if [[ ! -e $policy ]]; then
      printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee "$policy" >/dev/null
      "${sudo_cmd[@]}" chmod +x "$policy"
      created_policy=1
    fi
    "${sudo_cmd[@]}" apt-get update -qq
  fi
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "$@"
}

# Installs whichever of the named packages are missing; apt is not touched when none is.
install_missing() {
  local p missing=()
  for p in "$@"; do
    installed "$p" || missing+=("$p")
  done
  ((${#missing[@]} == 0)) || apt_install "${missing[@]}"
}

install_missing "${packages[@]}"

if [[ $group == regress ]]; then
  install_missing curl xz-utils bzip2 gpgv debian-archive-keyring
  # The headers must match the running server exactly: a newer point release of
  # postgresql-server-dev-15 would drag a newer libpq along, and regress.so would be built
  # against another minor version than the server that loads it.
  server=$(installed_version postgresql-15)
  if [[ $(installed_version postgresql-server-dev-15 || true) != "$server" ]]; then
    apt_install "postgresql-server-dev-15=$server"
  fi
fi
