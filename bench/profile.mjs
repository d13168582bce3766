// Self-time summary of a V8 .cpuprofile (the format `node --cpu-prof` writes).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** The newest .cpuprofile in `dir` written at or after `sinceMs`, or null. */
export function newestProfile(dir, sinceMs) {
  let best = null;
  let names = [];
  try {
    names = readdirSync(dir);
  } catch {
    return null;
  }
  for (const name of names) {
    if (!name.endsWith('.cpuprofile')) continue;
    const file = path.join(dir, name);
    const mtime = statSync(file).mtimeMs;
    if (mtime >= sinceMs && (!best || mtime > best.mtime)) best = { file, mtime };
  }
  return best?.file ?? null;
}

/**
 * Sum sampled time per function (name + url:line). Sample i is charged the gap until sample i+1,
 * the way DevTools attributes it; the last sample has no successor and is charged nothing.
 */
export function selfTimes(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const { samples = [], timeDeltas = [] } = profile;
  const totals = new Map();
  let totalUs = 0;
  for (let i = 0; i < samples.length - 1; i++) {
    const node = byId.get(samples[i]);
    const dt = Math.max(0, timeDeltas[i + 1] ?? 0);
    if (!node) continue;
    const key = frameKey(node.callFrame);
    totals.set(key, (totals.get(key) ?? 0) + dt);
    totalUs += dt;
  }
  const rows = [...totals.entries()].map(([fn, us]) => ({
    fn,
    ms: us / 1000,
    pct: totalUs ? (100 * us) / totalUs : 0,
  }));
  rows.sort((a, b) => b.ms - a.ms);
  return { totalMs: totalUs / 1000, rows };
}

function frameKey(cf) {
  const name = cf.functionName || '(anonymous)';
  if (!cf.url) return name;
  const url = cf.url.replace(/^file:\/\//, '');
  const short = url.includes('/node_modules/')
    ? url.slice(url.lastIndexOf('/node_modules/') + 1)
    : url.replace(/^.*\/dist\//, 'dist/');
  return `${name} ${short}:${cf.lineNumber + 1}`;
}

export function formatTopSelf(file, n = 15) {
  const { totalMs, rows } = selfTimes(JSON.parse(readFileSync(file, 'utf8')));
  const lines = [`Top ${n} self-time functions in veer (${path.basename(file)}, ${totalMs.toFixed(0)} ms sampled):`];
  for (const r of rows.slice(0, n))
    lines.push(`  ${r.ms.toFixed(1).padStart(9)} ms ${r.pct.toFixed(1).padStart(5)}%  ${r.fn}`);
  return lines.join('\n');
}
