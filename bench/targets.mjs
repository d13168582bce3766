// The targets and how one is measured: start its proxy (none for direct) pinned to the proxy
// CPU, run one or more load passes from a worker pinned to the load CPU, stop the proxy by pid.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChild, stopChild, waitForJsonLine } from './procs.mjs';
import { HOST } from './net.mjs';
import { startNginx, startNginxOrigin } from './nginx.mjs';
import { startVeer } from './veer.mjs';
import { snapshotOthers, otherCores, treeSeconds, DISTURBED_CORES } from './cpu.mjs';
import { runWrk } from './wrk.mjs';
import { latenessBetween, latenessOf } from './lateness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const TARGETS = [
  'direct',
  'veer',
  'veer-nolog',
  'veer-node',
  'bare',
  'lean',
  'http-proxy',
  'nginx',
  'veer-lts',
  'bare-lts',
];
/** The targets run on the current Node LTS (ctx.ltsNode) rather than the machine's Node. */
export const LTS_TARGETS = new Set(['veer-lts', 'bare-lts']);
/** Seconds of saturated load before a paced pass's own warm-up (see runLoad). */
export const JIT_WARMUP_S = 3;
/** wrk's `load` at saturation for JIT_WARMUP_S: what a paced pass runs first, so V8 is done compiling. */
export const warmJit = (wrk, load) => runWrk(wrk, { ...load, durationS: JIT_WARMUP_S, warmupS: 0 });

/**
 * An upstream: nginx when installed (fast enough not to cap the load CPU), else the Node one. { port, stop() }.
 * `framing`: 'length' (a Content-Length) or 'chunked' (the same body in chunked coding).
 */
export async function startUpstream(name, cpu, nginxBin, framing = 'length') {
  if (nginxBin) return startNginxOrigin(nginxBin, { name, cpu, framing });
  const args = [path.join(here, 'upstream.mjs'), name, framing];
  const child = startChild(`upstream ${name}`, process.execPath, args, { cpu });
  const { port } = await waitForJsonLine(child, (v) => typeof v.port === 'number', 10_000);
  return { port, stop: () => stopChild(child) };
}

/**
 * One load pass in a pinned worker. `pass.kind` is 'saturate' (wrk, else autocannon: closed loop),
 * 'autocannon-rate' (autocannon overallRate) or 'paced' (even spacing: wrk-paced.lua, else paced.mjs).
 */
async function runLoad(s, port, pass, adminPort, pid) {
  const base = {
    url: `http://${HOST}:${port}/`,
    connections: s.connections,
    durationS: s.durationS,
    warmupS: s.warmupS,
  };
  const before = snapshotOthers();
  const t0 = Date.now();
  if (pass.kind === 'saturate' && s.wrk) {
    const r = await runWrk(s.wrk, { ...base, cpu: s.loadCpu });
    return { ...r, otherCores: otherCores(before, snapshotOthers(), (Date.now() - t0) / 1000) };
  }
  if (pass.kind === 'paced' && s.wrk) {
    // veer's loop is read between the warm-up and the measured run, and after it (bench/lateness.mjs); so is the
    // CPU the proxy's processes used, which makes its cost per request at this rate.
    let first = null;
    let cpuBefore = null;
    const afterWarmUp = async () => {
      if (adminPort !== undefined) first = await latenessOf(adminPort);
      if (pid !== undefined) cpuBefore = treeSeconds(pid);
    };
    // The JIT first: V8 tiers the request path up (Maglev, then TurboFan on the LTS) on helper threads that share
    // the pinned core. After a paced warm-up of 2–5 s veer on Node 26 still compiled through the measured phase,
    // and the core those threads took read as a p99 of 17–24 ms; saturated for a few seconds, it settles.
    await warmJit(s.wrk, { ...base, cpu: s.loadCpu });
    const r = await runWrk(s.wrk, { ...base, cpu: s.loadCpu, rate: pass.rate, afterWarmUp });
    const cpuAfter = cpuBefore === null ? null : treeSeconds(pid);
    const cpuUsPerRequest = cpuAfter === null || r.total === 0 ? null : ((cpuAfter - cpuBefore) * 1e6) / r.total;
    const lateness = adminPort !== undefined ? latenessBetween(first, await latenessOf(adminPort)) : undefined;
    return {
      ...r,
      lateness,
      cpuUsPerRequest,
      otherCores: otherCores(before, snapshotOthers(), (Date.now() - t0) / 1000),
    };
  }
  const [script, opts] = workerFor(pass, base);
  // veer's loop is read between the warm-up and the measured phase, and after it (bench/lateness.mjs); every
  // target's paced load pauses there alike, so the phases compare.
  const handshake = pass.kind === 'paced';
  const args = [path.join(here, script), JSON.stringify(handshake ? { ...opts, handshake } : opts)];
  const child = startChild('load', process.execPath, args, { cpu: s.loadCpu });
  try {
    let first = null;
    if (handshake) {
      await waitForJsonLine(child, (v) => v.warm === true, (s.warmupS + 60) * 1000);
      if (adminPort !== undefined) first = await latenessOf(adminPort);
      child.proc.stdin.write('go\n');
    }
    const r = await waitForJsonLine(child, (v) => v.result === true, (s.warmupS + s.durationS + 60) * 1000);
    const read = handshake && adminPort !== undefined;
    const lateness = read ? latenessBetween(first, await latenessOf(adminPort)) : undefined;
    return { ...r, lateness, otherCores: otherCores(before, snapshotOthers(), (Date.now() - t0) / 1000) };
  } finally {
    await stopChild(child, 5_000);
  }
}

/**
 * On a shared machine another job can steal the proxy's core mid-run. With BENCH_RETRIES > 0 a
 * disturbed pass is repeated (bounded) and the least disturbed attempt is kept.
 */
async function leastDisturbed(s, port, pass, adminPort, pid) {
  let best = null;
  for (let attempt = 1; attempt <= 1 + s.retries; attempt++) {
    const r = { ...(await runLoad(s, port, pass, adminPort, pid)), attempts: attempt };
    if (!best || (r.otherCores ?? 0) < (best.otherCores ?? 0)) best = r;
    if ((r.otherCores ?? 0) < DISTURBED_CORES) break;
    if (attempt <= s.retries)
      console.log(`    other processes used ${r.otherCores.toFixed(2)} cores: retrying (${attempt}/${s.retries})`);
  }
  return best;
}

function workerFor(pass, base) {
  switch (pass.kind) {
    case 'saturate':
      return ['load.mjs', base];
    case 'autocannon-rate':
      return ['load.mjs', { ...base, overallRate: pass.rate }];
    case 'paced':
      return ['paced.mjs', { ...base, rate: pass.rate }];
    default:
      throw new Error(`unknown load pass ${pass.kind}`);
  }
}

/**
 * Measure `target` with each of `passes` against one proxy instance. A proxy that cannot start
 * turns into { skipped: reason } for every pass, so one broken target never sinks the run.
 */
export async function measure(s, target, ctx, passes, { profile = false } = {}) {
  let proxy = null;
  try {
    proxy = await startProxy(s, target, ctx, profile);
    if (!proxy) return passes.map(() => ({ skipped: 'not installed' }));
    const results = [];
    for (const pass of passes) {
      console.log(
        `  ${target}${pass.rate ? ` @ ${pass.rate} req/s (${pass.kind})` : ''}: ` +
          `${s.warmupS}s warm-up + ${s.durationS}s …`,
      );
      const r = await leastDisturbed(s, proxy.port, pass, proxy.adminPort, proxy.pid);
      results.push(proxy.adminPort ? { ...r, loopDelay: await loopDelayOf(proxy.adminPort) } : r);
    }
    return results;
  } catch (err) {
    console.error(`  ${target}: FAILED — ${err.message}`);
    return passes.map(() => ({ skipped: String(err.message).split('\n')[0] }));
  } finally {
    if (proxy?.stop) {
      const exit = await proxy.stop();
      if (target === 'veer' && exit.code !== 0)
        console.error(`  veer exited with ${exit.code ?? exit.signal} (expected 0 on SIGTERM)`);
    }
  }
}

export async function startProxy(s, target, ctx, profile = false) {
  const ups = { upstreamA: ctx.a.port, upstreamB: ctx.b.port, cpu: s.proxyCpu };
  switch (target) {
    case 'direct':
      return { port: ctx.a.port };
    case 'veer':
      return startVeer(ctx.root, { ...ups, profileDir: profile ? ctx.profileDir : undefined });
    // Side by side only (bench/ab.bench.mjs): another build of veer, BENCH_BASE_CLI.
    case 'veer-base':
      return startVeer(ctx.root, { ...ups, cli: ctx.baseCli });
    case 'veer-nolog':
      return startVeer(ctx.root, { ...ups, extra: 'accessLog: { enabled: false }\n' });
    case 'veer-node':
      return startVeer(ctx.root, { ...ups, extra: 'proxy: { front: node }\n' });
    case 'bare':
      return startNodeProxy('bare-proxy', 'bare-proxy.mjs', ctx.a.port, s.proxyCpu);
    case 'lean':
      return startNodeProxy('lean-front', 'lean-front.mjs', ctx.a.port, s.proxyCpu);
    // Paced pass only: node:http answering by itself on the proxy's core (bench/upstream.mjs), no upstream hop.
    case 'node-hello':
      return startNodeProxy('node-hello', 'upstream.mjs', 'hello', s.proxyCpu);
    case 'veer-lts':
      return ctx.ltsNode ? startVeer(ctx.root, { ...ups, node: ctx.ltsNode }) : null;
    case 'bare-lts':
      return ctx.ltsNode ? startNodeProxy('bare-proxy', 'bare-proxy.mjs', ctx.a.port, s.proxyCpu, ctx.ltsNode) : null;
    case 'http-proxy':
      return startNodeProxy('http-proxy', 'http-proxy-server.mjs', ctx.a.port, s.proxyCpu);
    // Measured side by side only (bench/side-by-side.mjs): http-proxy without the keep-alive agent.
    case 'http-proxy-shipped':
      return startNodeProxy('http-proxy', 'http-proxy-server.mjs', ctx.a.port, s.proxyCpu, process.execPath, [
        '--as-shipped',
      ]);
    // Side by side only: a TCP relay, no HTTP (bench/relay.mjs), the floor of any Node proxy here.
    case 'relay':
      return startNodeProxy('relay', 'relay.mjs', ctx.a.port, s.proxyCpu);
    case 'nginx':
      return ctx.nginxBin ? startNginx(ctx.nginxBin, ups) : null;
    default:
      throw new Error(`unknown target ${target}`);
  }
}

/**
 * A Node script of bench/ that prints {"port": N}: the bare undici proxy, the lean front, the relay, http-proxy
 * (`arg`: the upstream's port), node-hello (`arg`: its name).
 */
async function startNodeProxy(name, script, arg, cpu, node = process.execPath, extra = []) {
  const child = startChild(name, node, [path.join(here, script), String(arg), ...extra], { cpu });
  try {
    const { port } = await waitForJsonLine(child, (v) => typeof v.port === 'number', 10_000);
    return { port, pid: child.pid, stop: () => stopChild(child) };
  } catch (err) {
    await stopChild(child);
    throw err;
  }
}

/** veer's event loop delay over its last complete 10 s window (ms by quantile), from /metrics; null if unread. */
async function loopDelayOf(adminPort) {
  try {
    const text = await (
      await fetch(`http://${HOST}:${adminPort}/metrics`, { signal: AbortSignal.timeout(5_000) })
    ).text();
    const out = {};
    for (const m of text.matchAll(/^veer_event_loop_delay_seconds\{quantile="([\d.]+)"\} ([\d.e+-]+)$/gm))
      out[m[1]] = Number(m[2]) * 1000;
    return Object.keys(out).length ? out : null;
  } catch {
    return null;
  }
}
