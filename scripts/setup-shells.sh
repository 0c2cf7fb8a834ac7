#!/usr/bin/env bash
# Installs zsh and fish from Debian's packages if missing (for the `piapi env` tests), idempotent.
set -euo pipefail
missing=()
for shell in zsh fish; do command -v "$shell" >/dev/null 2>&1 || missing+=("$shell"); done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then exec sudo -n "$0" "$@"; fi
  echo "setup-shells: ${missing[*]} missing and installing needs root" >&2
  exit 1
fi
exec 9>/tmp/piapi-apt.lock
flock 9
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=300 update -qq >/dev/null
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
