#!/usr/bin/env bash
# Installs Debian's `redis-server` package (server + redis-cli) if redis-server is missing,
# without starting the system service, then prints where the binary is. Tests start servers of
# their own on free ports (test/support/redis-server.ts). Idempotent; safe to run from several
# test workers at once (serialised by the apt lock shared with setup-prometheus.sh). Needs root
# (or password-less sudo) the first time only.
set -euo pipefail

installed() { command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; }

print_paths() {
  echo "redis-server: $(command -v redis-server) ($(redis-server --version | head -n1))"
}

if installed; then
  print_paths
  exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    exec sudo -n --preserve-env=CI "$0" "$@"
  fi
  echo "setup-redis: redis-server is missing and installing it needs root (apt-get)" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-redis: redis-server is missing and apt-get is not available on this system" >&2
  exit 1
fi

exec 9>/tmp/piapi-apt.lock  # shared with the other setup scripts: one apt at a time
flock 9
if ! installed; then
  # The package's maintainer scripts would start redis-server.service; a policy-rc.d that
  # answers 101 ("action forbidden") stops invoke-rc.d and deb-systemd-invoke from doing so.
  policy=/usr/sbin/policy-rc.d
  added_policy=false
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    added_policy=true
  fi
  trap '$added_policy && rm -f "$policy"' EXIT

  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 redis-server >/dev/null

  # Belt and braces for systems where the policy was not consulted: never leave it running.
  if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
    systemctl disable --now redis-server.service >/dev/null 2>&1 || true
  fi
  if [[ -x /etc/init.d/redis-server ]] && [[ ! -d /run/systemd/system ]]; then
    /etc/init.d/redis-server stop >/dev/null 2>&1 || true
  fi
fi

print_paths
