// Loopback-only helpers: free ports and bounded readiness polls.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import { sleep } from './procs.mjs';

export const HOST = '127.0.0.1';

/** The lowest port picked: clear of the well-known and registered ports servers commonly use. */
const FLOOR = 20_000;

/** The low end of net.ipv4.ip_local_port_range (Linux's default when it cannot be read). */
function ephemeralLow() {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

function bindable(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, HOST, () => srv.close(() => resolve(true)));
  });
}

/**
 * A port free on 127.0.0.1 for a server started next (nginx, redis-server, veer). Picked below the OS's
 * ephemeral range: a port the kernel hands out with bind(0) is also where the load generator's and the
 * proxies' outgoing connections take their local ports, so one of them could hold it by the time the
 * server binds. The kernel's own pick only when that range is unusual or taken.
 */
export async function freePort() {
  const ceiling = ephemeralLow() - 1;
  for (let i = 0; ceiling - FLOOR >= 1_000 && i < 100; i++) {
    const port = FLOOR + Math.floor(Math.random() * (ceiling - FLOOR + 1));
    if (await bindable(port)) return port;
  }
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** One GET with its own timeout; resolves with the status code or null on any failure. */
export function probe(port, path, timeoutMs = 1_000) {
  return new Promise((resolve) => {
    const req = http.get({ host: HOST, port, path, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? null));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

/**
 * Poll until `ok(status)` holds, at most `attempts` times, `intervalMs` apart. `alive()` lets the
 * caller stop early when the process under test has already died.
 */
export async function pollUntil(port, path, ok, { attempts = 100, intervalMs = 100, alive = () => true } = {}) {
  let last = null;
  for (let i = 0; i < attempts; i++) {
    if (!alive()) return { ok: false, last, reason: 'process exited' };
    last = await probe(port, path);
    if (last !== null && ok(last)) return { ok: true, last };
    await sleep(intervalMs);
  }
  return { ok: false, last, reason: `not ready after ${attempts} attempts` };
}

/** One admin API call: { status, body } (the JSON answer, null when empty), bounded by `timeoutMs`. */
export async function adminCall(base, method, path, body, timeoutMs = 10_000) {
  const res = await fetch(`${base}${path}`, {
    method,
    signal: AbortSignal.timeout(timeoutMs),
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
