#!/usr/bin/env bash
# Installs the Debian 12 packages dwproxy needs to build, test, demo and benchmark.
# Idempotent: packages already present are skipped, and apt is not touched at all
# when nothing is missing. Both README commands call this first.
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

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
# Package scripts must not start system-wide PostgreSQL/pgbouncer/pgpool services:
# the tests and the demo start their own throwaway servers on loopback.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee "$policy" >/dev/null
  "${sudo_cmd[@]}" chmod +x "$policy"
  created_policy=1
fi
trap '[[ $created_policy == 1 ]] && "${sudo_cmd[@]}" rm -f "$policy"' EXIT
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
