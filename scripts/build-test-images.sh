#!/usr/bin/env bash
# Builds the local test images without any registry: every image is FROM scratch and gets the
# host's own node binary plus exactly the shared libraries `ldd` lists for it.
#   veer-test-app:1, :2, :health   test/images/app (VERSION default 1 / 2; :health adds HEALTHCHECK)
#   veer-node-base:20              test/images/node-base (node + npm + sh + CA bundle), the
#                                  NODE_IMAGE our own Dockerfile is built from in tests
# An image is rebuilt only when the hash of its inputs (label veer.inputs) changed.
# Usage: scripts/build-test-images.sh [--force]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1
export DOCKER_BUILDKIT=0 # no buildx plugin here; the classic builder is enough for FROM scratch

NODE_BIN="$(readlink -f "$(command -v node)")"
NPM_DIR="$(cd "$(dirname "$(readlink -f "$(command -v npm)")")/.." && pwd)"
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
SH_BIN="$(readlink -f /bin/sh)"
ENV_BIN="$(readlink -f /usr/bin/env)"

log() { printf '[test-images] %s\n' "$*"; }
die() { printf '[test-images] ERROR: %s\n' "$*" >&2; exit 1; }

docker info >/dev/null 2>&1 || die "no Docker engine answers (start one with scripts/docker-up.sh)"
[[ -x "$NODE_BIN" ]] || die "node not found"

# Absolute paths of the shared objects (and the dynamic loader) a binary needs.
libs_of() {
  ldd "$1" | awk '/=> \//{print $3} /^[[:space:]]*\/[^[:space:]]+/{print $1}' | sort -u
}

# Copies a file to the same absolute path under a rootfs, dereferencing symlinks: in a scratch
# image there is no /lib -> usr/lib symlink, so the path the loader asks for must be a real file.
put() {
  local src="$1" root="$2" dest="${3:-$1}"
  mkdir -p "$root$(dirname "$dest")"
  cp -L "$src" "$root$dest"
}

stage_node_rootfs() {
  local root="$1" bin lib
  shift
  mkdir -p "$root/tmp" "$root/root" "$root/app" "$root/etc"
  chmod 1777 "$root/tmp"
  put "$NODE_BIN" "$root" /usr/local/bin/node
  for bin in "$@"; do
    for lib in $(libs_of "$bin"); do put "$lib" "$root"; done
  done
  # Numeric users need no passwd entry, but libc and npm look one up for HOME/user name.
  printf 'root:x:0:0:root:/root:/bin/sh\napp:x:10001:10001:app:/tmp:/bin/sh\n' >"$root/etc/passwd"
  printf 'root:x:0:\napp:x:10001:\n' >"$root/etc/group"
}

stage_app() {
  local ctx="$1"
  stage_node_rootfs "$ctx/rootfs" "$NODE_BIN"
  cp "$ROOT/test/images/app/server.mjs" "$ROOT/test/images/app/Dockerfile" "$ctx/"
}

stage_base() {
  local ctx="$1" root="$1/rootfs"
  stage_node_rootfs "$root" "$NODE_BIN" "$SH_BIN" "$ENV_BIN"
  put "$SH_BIN" "$root" /bin/sh
  put "$ENV_BIN" "$root" /usr/bin/env
  put "$CA_BUNDLE" "$root"
  mkdir -p "$root/usr/local/lib/node_modules"
  cp -a "$NPM_DIR" "$root/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  cp "$ROOT/test/images/node-base/Dockerfile" "$ctx/"
}

# Hash of everything an image is made of; cheap enough to compute on every run (~0.5 s).
inputs_hash() {
  {
    sha256sum "${BASH_SOURCE[0]}" "$NODE_BIN" $(libs_of "$NODE_BIN") "$@" | awk '{print $1}'
    node --version
  } | sha256sum | cut -c1-16
}

current_label() {
  docker image inspect --format '{{ index .Config.Labels "veer.inputs" }}' "$1" 2>/dev/null || true
}

up_to_date() {
  local hash="$1" img
  shift
  [[ "$FORCE" == 1 ]] && return 1
  for img in "$@"; do [[ "$(current_label "$img")" == "$hash" ]] || return 1; done
}

build() {
  local ctx="$1" hash="$2" tag="$3"
  shift 3
  log "building $tag"
  # The classic builder prints a deprecation banner on every run: show its output only on failure.
  if ! docker build -q --label veer.test=1 --label "veer.inputs=$hash" -t "$tag" "$@" "$ctx" >"$WORK/build.log" 2>&1; then
    cat "$WORK/build.log" >&2
    die "docker build of $tag failed"
  fi
}

WORK="$(mktemp -d /tmp/veer-images.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

app_hash="$(inputs_hash "$ROOT/test/images/app/server.mjs" "$ROOT/test/images/app/Dockerfile")"
if up_to_date "$app_hash" veer-test-app:1 veer-test-app:2 veer-test-app:health; then
  log "veer-test-app:{1,2,health} up to date ($app_hash)"
else
  stage_app "$WORK/app"
  build "$WORK/app" "$app_hash" veer-test-app:1 --target app --build-arg VERSION=1
  build "$WORK/app" "$app_hash" veer-test-app:2 --target app --build-arg VERSION=2
  build "$WORK/app" "$app_hash" veer-test-app:health --target health --build-arg VERSION=1
fi

base_hash="$(inputs_hash "$ROOT/test/images/node-base/Dockerfile" "$NPM_DIR/package.json" "$CA_BUNDLE" "$SH_BIN" "$ENV_BIN")"
if up_to_date "$base_hash" veer-node-base:20; then
  log "veer-node-base:20 up to date ($base_hash)"
else
  stage_base "$WORK/base"
  build "$WORK/base" "$base_hash" veer-node-base:20
fi

# Old builds of these tags are left untagged; remove only those that carry our label.
docker image prune -f --filter label=veer.test=1 >/dev/null 2>&1 || true
log "done"
