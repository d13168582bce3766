// Paced (open-loop) load worker for the fixed-rate pass. autocannon's overallRate hands each
// connection a per-second quota that it spends back-to-back at the top of every second, so its
// "fixed rate" is really short bursts at saturation; this worker spreads requests evenly instead
// (checked every 1 ms) and round-robins them over `connections` keep-alive undici clients.
// Usage: node paced.mjs '{ url, connections, durationS, warmupS, rate }' → one JSON line.
import { Client } from 'undici';
import { performance } from 'node:perf_hooks';

const opts = JSON.parse(process.argv[2] ?? '{}');
const url = new URL(opts.url);
const clients = Array.from(
  { length: opts.connections },
  () =>
    new Client(url.origin, { pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 10_000, bodyTimeout: 10_000 }),
);

function phase(durationS, rec) {
  return new Promise((resolve) => {
    let sent = 0;
    let inFlight = 0;
    let next = 0;
    const total = Math.round(durationS * opts.rate);
    const start = performance.now();
    const settle = () => {
      inFlight--;
      if (sent >= total && inFlight === 0) resolve(performance.now() - start);
    };
    const send = () => {
      const client = clients[next++ % clients.length];
      const t0 = performance.now();
      inFlight++;
      client.request({ path: url.pathname, method: 'GET' }).then(
        async ({ statusCode, body }) => {
          await body.dump();
          rec?.response(statusCode, performance.now() - t0);
          settle();
        },
        (err) => {
          rec?.error(err);
          settle();
        },
      );
    };
    const timer = setInterval(() => {
      // Catch up after a late tick rather than dropping requests: the rate is the contract.
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * opts.rate));
      while (sent < due) {
        send();
        sent++;
      }
      if (sent >= total) clearInterval(timer);
    }, 1);
    if (total === 0) {
      clearInterval(timer);
      resolve(0);
    }
  });
}

function recorder() {
  const lat = [];
  const r = { lat, ok: 0, non2xx: 0, errors: 0, timeouts: 0, statusCodes: {} };
  r.response = (status, ms) => {
    r.statusCodes[status] = (r.statusCodes[status] ?? 0) + 1;
    if (status >= 200 && status < 300) {
      r.ok++;
      lat.push(ms);
    } else r.non2xx++;
  };
  r.error = (err) => {
    if (String(err?.code ?? '').includes('TIMEOUT')) r.timeouts++;
    else r.errors++;
  };
  return r;
}

function pct(sorted, p) {
  return sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * With `opts.handshake`, the end of the warm-up is told on stdout ({"warm": true}) and the measured phase
 * waits for a line on stdin: the bench reads the proxy's loop counters in between, not during the phase.
 */
function handshake() {
  process.stdout.write('{"warm":true}\n');
  return withDeadline(
    new Promise((resolve) => {
      process.stdin.setEncoding('utf8');
      process.stdin.once('data', () => {
        process.stdin.pause();
        resolve();
      });
    }),
    15_000,
    'no go from the bench',
  );
}

async function main() {
  if (opts.warmupS > 0) await phase(opts.warmupS, null);
  if (opts.handshake) await handshake();
  const rec = recorder();
  const elapsedMs = await withDeadline(phase(opts.durationS, rec), (opts.durationS + 30) * 1000);
  const sorted = Float64Array.from(rec.lat).sort();
  const out = {
    result: true,
    url: opts.url,
    overallRate: opts.rate,
    reqPerSecMean: (rec.ok + rec.non2xx) / (elapsedMs / 1000),
    total: rec.ok + rec.non2xx,
    p50: pct(sorted, 50),
    p90: pct(sorted, 90),
    p99: pct(sorted, 99),
    p999: pct(sorted, 99.9),
    latencyMax: sorted.length ? sorted[sorted.length - 1] : null,
    samples: sorted.length,
    errors: rec.errors,
    timeouts: rec.timeouts,
    non2xx: rec.non2xx,
    statusCodes: rec.statusCodes,
    durationS: elapsedMs / 1000,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  await Promise.allSettled(clients.map((c) => c.destroy()));
}

function withDeadline(promise, ms, what = 'paced run did not finish') {
  let t;
  const deadline = new Promise((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(t));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err?.stack ?? String(err));
    process.exit(1);
  },
);
