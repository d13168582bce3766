// The native load generator: wrk (Debian package `wrk`, installed here when missing), pinned to the load
// CPU, one thread, a warm-up run that is not counted, then the measured run; its Lua `done` hook prints the
// summary as JSON (bench/wrk-report.lua). Shaped like load.mjs's result so the tables read both. With a
// `rate`, wrk paces its requests on one even schedule (bench/wrk-paced.lua) instead of saturating.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { coreBusy, coreTicks } from './cpu.mjs';
import { startChild, stopChild, waitForJsonLine } from './procs.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

/** wrk's path, installing the Debian package once when it is missing; null when that fails too. */
export function findWrk() {
  const which = () => spawnSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' }).stdout.trim();
  if (which()) return which();
  console.log('wrk not found: installing the Debian package (apt-get install -y wrk) …');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const r = spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=120', 'install', '-y', '-qq', 'wrk'], {
    stdio: 'inherit',
    env,
    timeout: 300_000,
  });
  if (r.status !== 0) console.log('wrk could not be installed; falling back to autocannon (noisier, capped near 30k)');
  return which() || null;
}

async function wrkOnce(bin, { url, connections, durationS, cpu, rate, timeoutS = 10 }) {
  const args = ['-t1', `-c${connections}`, `-d${durationS}s`, `--timeout`, `${timeoutS}s`];
  args.push('-s', path.join(here, rate ? 'wrk-paced.lua' : 'wrk-report.lua'), url);
  if (rate) args.push('--', String(rate));
  const child = startChild('wrk', bin, args, { cpu });
  try {
    return await waitForJsonLine(child, (v) => v.wrk === true, (durationS + 30) * 1000);
  } finally {
    await stopChild(child, 5_000);
  }
}

/**
 * { reqPerSecMean, p50, p90, p99, p999 (ms), errors, timeouts, non2xx, total, durationS, loadCoreBusy (0-1 or
 * null: the generator's core's busy share in the measured run, when pinned) }. `rate`: paced at
 * that many requests per second; `afterWarmUp`: awaited between the warm-up and the measured run.
 */
export async function runWrk(bin, { url, connections, durationS, warmupS, cpu, rate, afterWarmUp }) {
  const warm = { url, connections, durationS: Math.max(1, Math.round(warmupS)), cpu, rate };
  if (warmupS > 0) await wrkOnce(bin, warm);
  await afterWarmUp?.();
  // How busy the generator's core was (wrk and the upstreams share it): below 100%, it had room to send more.
  const ticks = coreTicks();
  const r = await wrkOnce(bin, { url, connections, durationS, cpu, rate });
  const loadCoreBusy = cpu === undefined ? null : coreBusy(ticks, coreTicks(), cpu);
  const seconds = r.durationUs / 1e6;
  const ms = (us) => us / 1000;
  return {
    result: true,
    generator: rate ? 'wrk-paced' : 'wrk',
    url,
    reqPerSecMean: r.requests / seconds,
    total: r.requests,
    p50: ms(r.p50),
    p90: ms(r.p90),
    p99: ms(r.p99),
    p999: ms(r.p999),
    latencyMax: ms(r.max),
    errors: r.connect + r.read + r.write,
    timeouts: r.timeout,
    non2xx: r.status,
    durationS: seconds,
    loadCoreBusy,
  };
}
