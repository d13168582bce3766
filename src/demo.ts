// `npm run demo`: veer's main job on the embedded default — no Redis, no Docker. Small demo
// upstreams behind veer: v1 (stable), v2 (a good release) and v3 (a release that fails 20% of its
// requests). Through the admin API, like an operator or a CI job would, the script moves traffic by
// hand, rolls v2 out progressively (promoted), then tries v3 (rolled back on its own), and keeps
// serving until Ctrl+C (or exits with --once).
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { parseConfigObject } from './config/load.js';
import { formatProblems } from './config/problems.js';
import { errorMessage } from './domain/errors.js';
import { jsonLogger } from './domain/log.js';
import { startVeer, type RunningVeer } from './main.js';

function demoUpstream(version: string, errorEvery = 0): Promise<Server> {
  let n = 0;
  const server = createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200).end('ok');
      return;
    }
    if (errorEvery > 0 && ++n % errorEvery === 0) {
      res.writeHead(500, { 'x-app-version': version }).end('release bug');
      return;
    }
    const body = JSON.stringify({ version, path: req.url, forwardedFor: req.headers['x-forwarded-for'] ?? null });
    res.writeHead(200, { 'content-type': 'application/json', 'x-app-version': version });
    res.end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const port = (s: Server): number => (s.address() as AddressInfo).port;

const ACCESS_LOG = '.veer/demo-access.log';

async function tryStart(v1: Server, v2: Server, dataPort: number, adminPort: number): Promise<RunningVeer> {
  mkdirSync(dirname(ACCESS_LOG), { recursive: true }); // the state file's directory too
  const parsed = parseConfigObject(
    {
      listen: `127.0.0.1:${dataPort}`,
      admin: { listen: `127.0.0.1:${adminPort}` },
      state: { store: 'file', path: '.veer/demo-state.json' },
      // A line per request would bury the walkthrough on stdout: the access log goes to a file.
      accessLog: { output: ACCESS_LOG },
      services: [
        {
          name: 'web',
          stable: { targets: [`127.0.0.1:${port(v1)}`] },
          canary: { targets: [`127.0.0.1:${port(v2)}`] },
          sticky: { cookie: 'veer-web' },
          healthCheck: { path: '/healthz', interval: '2s' },
          // A fast policy so the demo takes seconds; production defaults are 30 s steps, 200 requests.
          rollout: {
            steps: [10, 50, 100],
            stepInterval: '2s',
            analysisInterval: '500ms',
            minRequests: 40,
            drainTimeout: '1s',
          },
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
  const res = await fetch(`${admin}/v1/services/web/shift`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ weight }),
  });
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
  console.log(`  upstreams: v1 (stable) 127.0.0.1:${port(v1)}, v2 (canary) 127.0.0.1:${port(v2)}`);
  console.log(`  access log (a JSON line per request): ${ACCESS_LOG}\n`);

  for (const weight of [0, 10, 50, 100, 0]) {
    await shift(admin, weight);
    const fresh = await split(base, 200, false);
    const oneClient = await split(base, 20, true);
    console.log(
      `shift web → ${String(weight).padStart(3)}%   ` +
        `200 new visitors: ${fmt(fresh)}   one sticky visitor x20: ${fmt(oneClient)}`,
    );
  }
  const v3 = await demoUpstream('v3', 5);
  console.log('\nprogressive delivery of v2 (healthy), judged from the live traffic veer proxies:');
  await rollout(base, admin, port(v2));
  console.log('\nprogressive delivery of v3 (fails 20% of its requests):');
  await rollout(base, admin, port(v3));

  const status = (await (await fetch(`${admin}/v1/services/web`)).json()) as {
    pools: { stable: { targets: Array<{ id: string }> } };
    metrics: Record<string, { requests: number; p99Ms: number }>;
  };
  console.log(
    [
      `\nstable pool is now ${status.pools.stable.targets.map((t) => t.id).join(', ')} (v2). Try:`,
      `  curl -i ${base}/            # Set-Cookie pins you to a pool`,
      `  node dist/cli.js status web --admin ${admin}`,
      `  curl ${admin}/v1/services/web/events`,
      `  curl ${admin}/metrics`,
    ].join('\n'),
  );

  const stop = async (): Promise<void> => {
    await veer.close();
    for (const s of [v1, v2, v3]) s.close();
  };
  if (once) return stop();
  console.log('\nserving until Ctrl+C');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await stop();
}

interface Rollout {
  phase: string;
  step: number;
  weight: number;
  reason: string | null;
  steps: number[];
  lastVerdict: { result: string; reason: string } | null;
}

/** Starts a rollout, keeps traffic flowing and prints each change until it ends (bounded). */
async function rollout(base: string, admin: string, targetPort: number): Promise<void> {
  const res = await fetch(`${admin}/v1/services/web/rollouts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ canary: { targets: [`127.0.0.1:${targetPort}`] } }),
  });
  if (res.status !== 201) throw new Error(`rollout refused: ${res.status} ${await res.text()}`);
  let failed = 0;
  let sent = 0;
  let done = false;
  const load = Promise.all(
    Array.from({ length: 4 }, async () => {
      while (!done) {
        const r = await fetch(`${base}/`).catch(() => null);
        sent++;
        if (r === null || r.status >= 500) failed++;
        await r?.arrayBuffer();
        await new Promise((ok) => setTimeout(ok, 5));
      }
    }),
  );
  let last = '';
  const deadline = Date.now() + 60_000;
  let r: Rollout | null = null;
  while (Date.now() < deadline) {
    r = ((await (await fetch(`${admin}/v1/services/web`)).json()) as { rollout: Rollout | null }).rollout;
    if (r !== null) {
      const verdict = r.lastVerdict ? `${r.lastVerdict.result}: ${r.lastVerdict.reason}` : '';
      const line =
        `  ${r.phase.padEnd(12)} step ${r.step + 1}/${r.steps.length}  ` +
        `weight ${String(r.weight).padStart(3)}%  ${verdict}`;
      if (line !== last) console.log(line.slice(0, 150));
      last = line;
      if (['succeeded', 'rolled-back', 'aborted'].includes(r.phase)) break;
    }
    await new Promise((ok) => setTimeout(ok, 200));
  }
  done = true;
  await load;
  console.log(
    `  → ${r?.phase ?? 'unknown'}${r?.phase === 'rolled-back' ? ` (${r.reason})` : ''}; ` +
      `${sent} requests served during the rollout, ${failed} failed`,
  );
}

const fmt = (c: Record<string, number>): string =>
  Object.entries(c)
    .sort()
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')
    .padEnd(16);

main().catch((e: unknown) => {
  console.error(`demo failed: ${errorMessage(e)}`);
  process.exit(1);
});
