#!/usr/bin/env bash
# `npm test`: from a fresh Debian machine (root, Node 20, npm registry + Debian apt only) to a full
# test run. Installs what is missing, starts a Docker engine if none answers, builds the local test
# images, compiles, and runs every vitest test. Idempotent: a second run skips what is done.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a NEEDRESTART_SUSPEND=1
START=$SECONDS

# shellcheck source=scripts/retry.sh
source "$ROOT/scripts/retry.sh"
section() { printf '\n\033[1m==== %s\033[0m  (+%ss)\n' "$*" "$((SECONDS - START))"; }
warn() { printf '[test] WARNING: %s\n' "$*" >&2; }
die() { printf '[test] ERROR: %s\n' "$*" >&2; exit 1; }
SUDO=""
[[ "$(id -u)" == 0 ]] || SUDO="sudo"

APT_UPDATED=0
apt_install() {
  if [[ "$APT_UPDATED" == 0 ]]; then
    $SUDO apt-get -o DPkg::Lock::Timeout=120 update -qq
    APT_UPDATED=1
  fi
  $SUDO apt-get -o DPkg::Lock::Timeout=120 -o Dpkg::Options::=--force-confold install -y -qq "$@"
}

section "1/7 system packages"
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v dockerd >/dev/null || missing+=(docker.io)
# The compose end-to-end test drives Debian's docker-compose (v1), as veer's users run it.
command -v docker-compose >/dev/null || missing+=(docker-compose)
# The ssh:// endpoint tests run their own sshd on a free loopback port (test/helpers/sshd.ts), not
# the package's system service.
[[ -x /usr/sbin/sshd ]] || missing+=(openssh-server)
# The ACME tests run Let's Encrypt's test server (pebble) on free loopback ports.
command -v pebble >/dev/null || missing+=(pebble)
# The dashboard's end-to-end test clicks through it in Debian's chromium (driven by playwright-core).
command -v chromium >/dev/null || missing+=(chromium)
if ((${#missing[@]} > 0)); then
  echo "installing: ${missing[*]}"
  apt_install "${missing[@]}" || die "apt-get install ${missing[*]} failed"
else
  echo "redis-server, dockerd, docker-compose, sshd, pebble and chromium present"
fi
# nginx is only the benchmark's baseline: nice to have, never a reason to fail.
if ! command -v nginx >/dev/null; then
  apt_install nginx-light || warn "nginx-light could not be installed (only the benchmark uses it)"
fi

section "2/7 npm dependencies"
# npm ci writes node_modules/.package-lock.json; older than the lock file means stale.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  retry 3 npm ci --no-audit --no-fund
else
  echo "node_modules up to date"
fi

section "3/7 docker engine"
bash scripts/docker-up.sh
docker info --format 'engine {{.ServerVersion}}, storage {{.Driver}}, cgroup {{.CgroupVersion}}'
# Leftovers of an interrupted run (only containers carrying our test label, only stopped ones or
# ones older than an hour, so a test run going on in parallel keeps its containers).
docker container prune -f --filter label=veer.test=1 >/dev/null || true
for id in $(docker ps -q --filter label=veer.test=1); do
  created="$(docker inspect -f '{{.Created}}' "$id")"
  if (($(date +%s) - $(date -d "$created" +%s) > 3600)); then docker rm -f "$id" >/dev/null || true; fi
done

# Each image build whose sources changed leaves its old build stage behind untagged; drop those.
docker image prune -f >/dev/null || true

section "4/7 test images"
bash scripts/build-test-images.sh
bash scripts/docker-smoke.sh

section "5/7 build (tsc), types and format of src, test and bench"
build_rc=0
npm run build || build_rc=$?
((build_rc == 0)) || warn "npm run build failed (exit $build_rc); running the tests anyway for a full report"
lint_rc=0
npm run --silent lint || lint_rc=$?
((lint_rc == 0)) || warn "npm run lint failed (exit $lint_rc: type errors, or files not formatted - npm run format fixes those); running the tests anyway"

section "6/7 tests (vitest, the machine's Node)"
export VEER_REQUIRE_DOCKER=1
VEER_NPM_REGISTRY="$(npm config get registry 2>/dev/null)"
export VEER_NPM_REGISTRY
test_rc=0
RESULTS="$(mktemp -t veer-vitest-XXXXXX.json)"
SERIAL_RESULTS="$(mktemp -t veer-vitest-serial-XXXXXX.json)"
# Everything vitest prints is also kept, so the summary can repeat its failure blocks (failed suites and hooks,
# unhandled errors): CI shows only the end of a long log, and a failed hook leaves no failed test in the JSON.
VITEST_LOG="$(mktemp -t veer-vitest-log-XXXXXX)"
npx vitest run --reporter=default --reporter=json --outputFile.json="$RESULTS" 2>&1 | tee -a "$VITEST_LOG" || test_rc=$?
# Every suite runs on veer's own HTTP/1.1 front and upstream client (proxy.front: lean, proxy.upstreamClient: lean,
# the defaults); the request path's suites (limits, fuzz, smuggling, client faults, TLS, gRPC) run again on
# node:http's front and undici's upstream client (proxy.front: node, proxy.upstreamClient: undici, veer before
# 2026-12): every test veer starts in-process uses them (test/helpers/veer.ts).
NODE_FRONT_RESULTS="$(mktemp -t veer-vitest-node-front-XXXXXX.json)"
echo "---- the request path on node:http's front and undici's client (proxy.front: node, proxy.upstreamClient: undici) ----"
VEER_TEST_FRONT=node VEER_TEST_UPSTREAM=undici npx vitest run test/integration/dataplane test/integration/tls test/integration/grpc \
  --reporter=default --reporter=json --outputFile.json="$NODE_FRONT_RESULTS" 2>&1 | tee -a "$VITEST_LOG" || test_rc=$?
# Tests that restart the Docker engine run alone, after everything else.
echo "---- serial tests (they restart the Docker engine) ----"
VEER_SERIAL=1 npx vitest run --reporter=default --reporter=json --outputFile.json="$SERIAL_RESULTS" 2>&1 |
  tee -a "$VITEST_LOG" || test_rc=$?

# Node 20 is past its end of life: users run veer on the current LTS, so the suite runs there too: the unit
# and integration tests (HTTP/1.1, HTTP/2, TLS, gRPC, Redis, Docker endpoints, the CLI), not the end-to-end
# Docker workflows and engine restarts, which exercise dockerd and compose rather than Node and would add
# 10 minutes. VEER_SKIP_LTS=1 skips this pass locally.
LTS_RESULTS="$(mktemp -t veer-vitest-lts-XXXXXX.json)"
lts_rc=0
if [[ "${VEER_SKIP_LTS:-0}" != 1 ]]; then
  section "7/7 the same tests on the current Node LTS"
  if LTS_NODE="$(bash scripts/lts-node.sh)"; then
    echo "node $("$LTS_NODE" --version) ($LTS_NODE)"
    PATH="$(dirname "$LTS_NODE"):$PATH" npx vitest run test/unit test/integration --reporter=default \
      --reporter=json --outputFile.json="$LTS_RESULTS" 2>&1 | tee -a "$VITEST_LOG" || lts_rc=$?
  else
    warn "the LTS Node could not be fetched from the npm registry"
    lts_rc=1
  fi
fi

section "summary"
echo "build: $([[ $build_rc == 0 ]] && echo ok || echo "FAILED ($build_rc)")"
echo "lint: $([[ $lint_rc == 0 ]] && echo ok || echo "FAILED ($lint_rc)")"
echo "tests: $([[ $test_rc == 0 ]] && echo ok || echo "FAILED ($test_rc)")"
echo "tests on the Node LTS: $([[ "${VEER_SKIP_LTS:-0}" == 1 ]] && echo skipped || ([[ $lts_rc == 0 ]] && echo ok || echo "FAILED ($lts_rc)"))"
echo "took $((SECONDS - START))s"
# The plain closing line CI reads: "N passed, N failed[, N skipped]".
node -e '
  const fs = require("fs");
  const t = { passed: 0, failed: 0, skipped: 0 };
  const names = ["machine Node", "machine Node, serial", "Node LTS", "machine Node, node:http front + undici client"];
  for (const [i, f] of process.argv.slice(1).entries()) {
    if (!fs.existsSync(f) || fs.statSync(f).size === 0) continue;
    const r = JSON.parse(fs.readFileSync(f, "utf8"));
    console.log(`  ${names[i]}: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
    t.passed += r.numPassedTests;
    t.failed += r.numFailedTests;
    t.skipped += r.numPendingTests + r.numTodoTests;
    // The failed tests by name, with their first message line: the summary is what a truncated log keeps.
    for (const file of r.testResults ?? []) {
      for (const a of file.assertionResults ?? []) {
        if (a.status !== "failed") continue;
        const why = String((a.failureMessages ?? [])[0] ?? "").split("\n")[0].slice(0, 600);
        console.log(`    FAILED ${file.name.replace(process.cwd() + "/", "")} > ${a.fullName}: ${why}`);
      }
      // A file can fail with no failed test: a hook that threw or timed out skips its tests instead.
      const failedTests = (file.assertionResults ?? []).filter((a) => a.status === "failed").length;
      if (file.status === "failed" && failedTests === 0) {
        const skipped = (file.assertionResults ?? []).filter((a) => a.status !== "passed").map((a) => a.fullName);
        const why = String(file.message ?? "").split("\n")[0].slice(0, 300);
        console.log(`    FAILED ${file.name.replace(process.cwd() + "/", "")}: ${why || "(a hook failed)"}`);
        if (skipped.length > 0) console.log(`      not run: ${skipped.slice(0, 5).join("; ")}`);
      }
    }
  }
  console.log(`tests: ${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped`);
' "$RESULTS" "$SERIAL_RESULTS" "$LTS_RESULTS" "$NODE_FRONT_RESULTS" 2>/dev/null || echo "tests: no result file (vitest did not finish)"
# vitest's own failure blocks, bounded: the hook or unhandled error the JSON above cannot name.
if [[ -s "$VITEST_LOG" ]] && grep -q '⎯⎯' "$VITEST_LOG"; then
  echo "vitest's failure blocks:"
  sed 's/\x1b\[[0-9;]*m//g' "$VITEST_LOG" | awk '/⎯⎯ (Failed|Unhandled)/ { n = 30 } n > 0 { print "  | " $0; n-- }' | head -120
fi
# A failed replica test's view of its upstreams' sockets (test/helpers/socket-report.ts), last: where the
# requests it never got answers to were held.
if [[ -s "$VITEST_LOG" ]] && grep -q '^--- sockets with bytes queued' "$VITEST_LOG"; then
  echo "sockets of the failed replica tests:"
  sed 's/\x1b\[[0-9;]*m//g' "$VITEST_LOG" | awk '/^--- sockets with bytes queued/ { n = 16 } n > 0 { print "  | " $0; n-- }' | head -48
fi
rm -f "$RESULTS" "$SERIAL_RESULTS" "$LTS_RESULTS" "$NODE_FRONT_RESULTS" "$VITEST_LOG"
((build_rc == 0 && lint_rc == 0 && test_rc == 0 && lts_rc == 0)) || exit 1
