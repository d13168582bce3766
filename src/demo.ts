// `npm run demo`: veer's main job on the embedded default — no Redis, no Docker. Two small demo
// upstreams (v1 stable, v2 canary) behind veer; the script moves the canary weight through the
// admin API like an operator would, shows the split it measures at each step, then keeps serving
// until Ctrl+C (or exits at once with --once).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseConfigObject } from './config/load.js';
import { formatProblems } from './config/problems.js';
import { jsonLogger } from './domain/log.js';
import { startVeer, type RunningVeer } from './main.js';

function demoUpstream(version: string): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200).end('ok');
      return;
    }
    const body = JSON.stringify({ version, path: req.url, forwardedFor: req.headers['x-forwarded-for'] ?? null });
    res.writeHead(200, { 'content-type': 'application/json', 'x-app-version': version });
    res.end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const port = (s: Server): number => (s.address() as AddressInfo).port;

async function tryStart(v1: Server, v2: Server, dataPort: number, adminPort: number): Promise<RunningVeer> {
  const parsed = parseConfigObject(
    {
      listen: `127.0.0.1:${dataPort}`,
      admin: { listen: `127.0.0.1:${adminPort}` },
      state: { store: 'file', path: '.veer/demo-state.json' },
      services: [
        {
          name: 'web',
          stable: { targets: [`127.0.0.1:${port(v1)}`] },
          canary: { targets: [`127.0.0.1:${port(v2)}`] },
          sticky: { cookie: 'veer-web' },
          healthCheck: { path: '/healthz', interval: '2s' },
        },
      ],
    },
    process.env,
  );
  if (!parsed.ok) throw new Error(formatProblems(parsed.error));
  return startVeer(parsed.value, { log: jsonLogger('warn') });
}

async function split(base: string, n: number, sticky: boolean): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  let cookie: string | undefined;
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${base}/hello`, { headers: cookie ? { cookie } : {} });
    if (sticky && !cookie) cookie = res.headers.get('set-cookie')?.split(';')[0];
    const v = res.headers.get('x-app-version') ?? `HTTP ${res.status}`;
    counts[v] = (counts[v] ?? 0) + 1;
    await res.arrayBuffer();
  }
  return counts;
}

async function shift(admin: string, weight: number): Promise<void> {
  const res = await fetch(`${admin}/v1/services/web/shift`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ weight }) });
  if (!res.ok) throw new Error(`shift failed: ${res.status} ${await res.text()}`);
}

async function main(): Promise<void> {
  const once = process.argv.includes('--once') || process.env.CI === 'true';
  const v1 = await demoUpstream('v1');
  const v2 = await demoUpstream('v2');
  // Preferred ports first; if they are taken, any free port (the script prints which).
  const veer = await tryStart(v1, v2, 8080, 9090).catch(() => tryStart(v1, v2, 0, 0));
  const base = `http://127.0.0.1:${veer.data.port}`;
  const admin = `http://127.0.0.1:${veer.admin.port}`;
  console.log(`veer demo: proxy on ${base}, admin API on ${admin}`);
  console.log(`  upstreams: v1 (stable) 127.0.0.1:${port(v1)}, v2 (canary) 127.0.0.1:${port(v2)}\n`);

  for (const weight of [0, 10, 50, 100, 0]) {
    await shift(admin, weight);
    const fresh = await split(base, 200, false);
    const oneClient = await split(base, 20, true);
    console.log(`shift web → ${String(weight).padStart(3)}%   200 new visitors: ${fmt(fresh)}   one sticky visitor x20: ${fmt(oneClient)}`);
  }
  await shift(admin, 25);
  const status = (await (await fetch(`${admin}/v1/services/web`)).json()) as { metrics: Record<string, { requests: number; p99Ms: number }> };
  console.log(`\nlast minute, measured by veer: stable ${status.metrics.stable?.requests} req (p99 ${status.metrics.stable?.p99Ms.toFixed(2)} ms), canary ${status.metrics.canary?.requests} req (p99 ${status.metrics.canary?.p99Ms.toFixed(2)} ms)`);
  console.log(`\nweight left at 25%. Try:\n  curl -i ${base}/            # Set-Cookie pins you to a pool\n  curl -H 'x-veer-pool: canary' ${base}/\n  node dist/cli.js status --admin ${admin}\n  node dist/cli.js shift web 75 --admin ${admin}\n  curl ${admin}/metrics`);

  const stop = async (): Promise<void> => {
    await veer.close();
    v1.close();
    v2.close();
  };
  if (once) return stop();
  console.log('\nserving until Ctrl+C');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await stop();
}

const fmt = (c: Record<string, number>): string =>
  Object.entries(c)
    .sort()
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')
    .padEnd(16);

main().catch((e: unknown) => {
  console.error(`demo failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
