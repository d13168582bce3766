// Where a Node proxy's long event-loop turns go, for the paced pass's tail: preloaded into the proxy under test
// (NODE_OPTIONS="--require ./bench/loop-gaps.cjs", the bench then starts it as usual), it runs a 1 ms interval timer
// and keeps every turn later than 2 ms with what happened meanwhile: the process's CPU time (user, system: a core
// that halted or was taken by another process shows as a gap without CPU), the garbage collector's pauses in it,
// and the requests node:http emitted (veer's own front emits none; its access lines time each request). Per
// thread, the CPU each used over the measured window (/proc's schedstat, in ns: V8's helper threads share a
// pinned core with the main one). Starts LOOP_GAPS_AFTER_MS (3,000) after the process, ends at its exit, writes
// LOOP_GAPS_DIR (/tmp/loop-gaps)/<pid>.json. Only processes whose command line matches LOOP_GAPS_MATCH
// (`cli\.js|bare-proxy|lean-front`) are watched: the bench's own node and the upstreams are left alone.
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const { PerformanceObserver, performance } = require('node:perf_hooks');

const argv = process.argv.join(' ');
const watched = new RegExp(process.env.LOOP_GAPS_MATCH || 'cli\\.js|bare-proxy|lean-front').test(argv);
if (watched) watch();

function threadsCpuNs() {
  const out = {};
  for (const tid of fs.readdirSync(`/proc/${process.pid}/task`)) {
    try {
      const comm = fs.readFileSync(`/proc/${process.pid}/task/${tid}/comm`, 'utf8').trim();
      const ns = Number(fs.readFileSync(`/proc/${process.pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      out[tid] = { comm, ns };
    } catch {
      // a thread that ended meanwhile
    }
  }
  return out;
}

function watch() {
  const startAt = performance.now() + Number(process.env.LOOP_GAPS_AFTER_MS || 3000);
  const pauses = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.startTime >= startAt) pauses.push([e.startTime, e.duration]);
  }).observe({ entryTypes: ['gc'] });
  let requests = 0;
  const emit = http.Server.prototype.emit;
  http.Server.prototype.emit = function (event, ...args) {
    if (event === 'request') requests++;
    return emit.call(this, event, ...args);
  };
  const gaps = [];
  let threadsAtStart = null;
  let [last, lastCpu, lastRequests, turns] = [performance.now(), process.cpuUsage(), 0, 0];
  setInterval(() => {
    const now = performance.now();
    const cpu = process.cpuUsage();
    if (now >= startAt) {
      threadsAtStart ??= threadsCpuNs();
      turns++;
      if (now - last > 2) {
        const gcMs = pauses.filter(([t, d]) => t + d >= last && t <= now).reduce((a, [, d]) => a + d, 0);
        const [userMs, sysMs] = [(cpu.user - lastCpu.user) / 1000, (cpu.system - lastCpu.system) / 1000];
        gaps.push({ ms: now - last, userMs, sysMs, gcMs, requests: requests - lastRequests });
      }
    }
    [last, lastCpu, lastRequests] = [now, cpu, requests];
  }, 1).unref();
  process.on('exit', () => {
    if (threadsAtStart === null) return;
    const end = threadsCpuNs();
    const threads = Object.entries(end).map(([tid, t]) => ({
      tid: Number(tid),
      comm: t.comm,
      main: Number(tid) === process.pid,
      cpuMs: (t.ns - (threadsAtStart[tid]?.ns ?? 0)) / 1e6,
    }));
    const sum = (key) => gaps.reduce((a, g) => a + g[key], 0);
    const summary = {
      argv: argv.slice(-100),
      windowMs: performance.now() - startAt,
      turns,
      gaps: gaps.length,
      gapMs: sum('ms'),
      gapCpuMs: sum('userMs') + sum('sysMs'),
      gapGcMs: sum('gcMs'),
      gcPauses: pauses.length,
      gcMs: pauses.reduce((a, [, d]) => a + d, 0),
      threads,
      longest: [...gaps].sort((a, b) => b.ms - a.ms).slice(0, 20),
    };
    const dir = process.env.LOOP_GAPS_DIR || '/tmp/loop-gaps';
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(`${dir}/${process.pid}.json`, `${JSON.stringify(summary)}\n`);
  });
}
