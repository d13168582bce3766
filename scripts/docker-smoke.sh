#!/usr/bin/env bash
# Proves the engine can do what the tests need, in ~1 s: run a FROM scratch test image, publish its
# port on 127.0.0.1 only (random host port), answer an HTTP request through it, stop on SIGTERM.
set -euo pipefail

die() { printf '[docker-smoke] ERROR: %s\n' "$*" >&2; exit 1; }

cids=()
trap 'for c in "${cids[@]}"; do docker rm -f "$c" >/dev/null 2>&1 || true; done' EXIT

# Runs one container, checks the published port answers, stops it; returns 0 on a graceful stop (exit
# 0) and 2 otherwise, after printing what the engine and the app said. Dies if the engine cannot run
# or publish at all.
smoke_once() {
  local cid addr code t0 state
  cid="$(docker run -d --label veer.test=1 -p 127.0.0.1:0:8080 -e VERSION=smoke veer-test-app:1)" \
    || die "docker run veer-test-app:1 failed"
  cids+=("$cid")
  addr="$(docker port "$cid" 8080/tcp | head -n1)"
  [[ "$addr" == 127.0.0.1:* ]] || die "expected a port published on 127.0.0.1, got '$addr'"
  # Bounded: up to 10 s for the app to answer through the published port.
  node -e '
    const url = `http://${process.argv[1]}/smoke`;
    const deadline = Date.now() + 10_000;
    (async () => {
      for (let i = 0; i < 100 && Date.now() < deadline; i++) {
        try {
          const r = await fetch(url, { signal: AbortSignal.timeout(1_000) });
          const body = await r.json();
          if (r.headers.get("x-app-version") !== "smoke" || body.version !== "smoke") throw new Error("wrong app answered");
          console.log(`[docker-smoke] ${url} -> ${r.status} version=${body.version}`);
          process.exit(r.status === 200 ? 0 : 1);
        } catch (e) { await new Promise((res) => setTimeout(res, 100)); }
      }
      console.error(`[docker-smoke] ERROR: no answer from ${url} within 10 s`);
      process.exit(1);
    })();
  ' "$addr" || { docker logs "$cid" >&2 || true; die "published port does not answer"; }

  # The app bounds its own graceful stop at 5 s; give it more than that before the engine kills it.
  t0=$SECONDS
  docker stop -t 10 "$cid" >/dev/null
  code="$(docker inspect -f '{{.State.ExitCode}}' "$cid")"
  [[ "$code" == 0 ]] && return 0
  state="$(docker inspect -f 'oom={{.State.OOMKilled}} error={{.State.Error}} started={{.State.StartedAt}} finished={{.State.FinishedAt}}' "$cid")"
  printf '[docker-smoke] test app exited %s on SIGTERM (expected 0); stop took %ss; %s\n' \
    "$code" "$((SECONDS - t0))" "$state" >&2
  echo "[docker-smoke] the app's output (a graceful stop prints 'app got SIGTERM'):" >&2
  docker logs "$cid" 2>&1 | tail -n 5 | sed 's/^/    /' >&2
  return 2
}

# Seen once in CI: the first container of a just-started engine was killed after the whole grace
# period. One more container tells a one-off of the engine from an app or engine that cannot stop
# gracefully at all, which fails here; either way the output above says what happened.
rc=0
smoke_once || rc=$?
if ((rc != 0)); then
  echo "[docker-smoke] trying a second container" >&2
  smoke_once || die "test app did not stop gracefully on SIGTERM twice in a row"
  echo "[docker-smoke] WARNING: the first container did not stop gracefully; the second did" >&2
fi
echo "[docker-smoke] ok: run, publish on 127.0.0.1, HTTP, graceful stop"
