// How much CPU *other* processes burned while a measurement ran. On a shared 2-core machine a
// parallel test suite can halve a proxy's req/s; the report shows this so a number is never read
// without knowing whether it was disturbed.
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_S = 100; // USER_HZ on Linux
export const supported = process.platform === 'linux';
/** Above this many cores used by other processes a measurement counts as disturbed. */
export const DISTURBED_CORES = 0.2;

function readStat(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // f[1] ppid; f[11..14] utime stime cutime cstime (cutime/cstime: reaped children, so short
    // test workers that came and went during the window are still counted via their parent).
    return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) };
  } catch {
    return null; // gone between readdir and read
  }
}

/** Every process's { ppid, ticks }, by pid. */
function readAll() {
  const all = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(name);
    if (st) all.set(Number(name), st);
  }
  return all;
}

/** Whether `pid` is `root` or below it (parent links followed at most 64 deep). */
function isBelow(all, pid, root) {
  for (let p = pid, hops = 0; p > 1 && hops < 64; hops++) {
    if (p === root) return true;
    p = all.get(p)?.ppid ?? 0;
  }
  return false;
}

/** { pid -> ticks } for every process that is not us or a descendant of ours. */
export function snapshotOthers() {
  if (!supported) return null;
  const all = readAll();
  const out = new Map();
  for (const [pid, st] of all) if (!isBelow(all, pid, process.pid)) out.set(pid, st.ticks);
  return out;
}

/** CPU seconds used so far by `root` and every live process below it (a proxy and its workers). */
export function treeSeconds(root) {
  if (!supported) return null;
  const all = readAll();
  let ticks = 0;
  for (const [pid, st] of all) if (isBelow(all, pid, root)) ticks += st.ticks;
  return ticks / TICKS_PER_S;
}

/**
 * Average number of cores other processes kept busy between two snapshots. A process that exited
 * in between shows up again in its reaper's cutime with its whole lifetime, so what it had used
 * before the window is taken back out. Approximate, but never off by a long-lived worker's life.
 */
export function otherCores(before, after, seconds) {
  if (!before || !after || seconds <= 0) return null;
  let ticks = 0;
  for (const [pid, t] of after) ticks += Math.max(0, t - (before.get(pid) ?? 0));
  for (const [pid, t] of before) if (!after.has(pid)) ticks -= t;
  return Math.max(0, ticks) / TICKS_PER_S / seconds;
}

/** Each core's { busy, total } ticks so far (/proc/stat; idle and iowait are not busy); null off Linux. */
export function coreTicks() {
  if (!supported) return null;
  const out = [];
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line);
    if (!m) continue;
    const t = m[2].trim().split(/\s+/).map(Number);
    const total = t.slice(0, 8).reduce((a, b) => a + b, 0); // guest time is inside user already
    out[Number(m[1])] = { busy: total - t[3] - t[4], total };
  }
  return out;
}

/** The share of core `cpu`'s time that was busy between two coreTicks() readings; null when unknown. */
export function coreBusy(before, after, cpu) {
  const [a, b] = [before?.[cpu], after?.[cpu]];
  if (!a || !b || b.total <= a.total) return null;
  return (b.busy - a.busy) / (b.total - a.total);
}
