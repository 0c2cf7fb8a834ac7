#!/usr/bin/env bash
# Installs Debian's `prometheus` package (server + promtool) if promtool is missing, without
# starting the system service, then prints where the binaries are. Idempotent; safe to run from
# several test workers at once (serialised by a lock). Needs root (or password-less sudo) the
# first time only.
set -euo pipefail

print_paths() {
  local promtool prometheus
  promtool="$(command -v promtool)"
  prometheus="$(command -v prometheus || true)"
  echo "promtool:   $promtool ($("$promtool" --version 2>&1 | head -n1))"
  echo "prometheus: ${prometheus:-not installed}"
}

# Both binaries come from the one package: the dashboard test runs the server, others promtool.
installed() { command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; }

if installed; then
  print_paths
  exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    exec sudo -n --preserve-env=CI "$0" "$@"
  fi
  echo "setup-prometheus: promtool is missing and installing it needs root (apt-get)" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-prometheus: promtool is missing and apt-get is not available on this system" >&2
  exit 1
fi

# Several vitest workers may call this at once: one installs, the others wait and find promtool.
exec 9>/tmp/piapi-apt.lock  # shared with the other setup scripts: one apt at a time
flock 9
if ! installed; then
  # The package's maintainer scripts would start prometheus.service; a policy-rc.d that answers
  # 101 ("action forbidden") stops invoke-rc.d and deb-systemd-invoke from doing so. Leave an
  # existing policy (container images often ship one) untouched.
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
  apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 prometheus >/dev/null

  # Belt and braces for systems where the policy was not consulted: never leave it running.
  if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
    systemctl disable --now prometheus.service >/dev/null 2>&1 || true
  fi
  if [[ -x /etc/init.d/prometheus ]] && [[ ! -d /run/systemd/system ]]; then
    /etc/init.d/prometheus stop >/dev/null 2>&1 || true
  fi
fi

print_paths
