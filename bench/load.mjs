// Load worker: runs autocannon in its own process (so it can be pinned to a CPU) and prints one JSON
// line with the result. Usage: node load.mjs '<json options>'
//   { url, connections, durationS, warmupS, overallRate? }
// Latency percentiles are computed from every response's own float duration: autocannon's
// histogram has 1 ms resolution, too coarse for a "within 2 ms" target.
import autocannon from 'autocannon';

const opts = JSON.parse(process.argv[2] ?? '{}');

function run(durationS, samples) {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: opts.url,
        connections: opts.connections,
        pipelining: 1,
        duration: durationS,
        timeout: 10,
        ...(opts.overallRate ? { overallRate: opts.overallRate } : {}),
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    if (samples) {
      instance.on('response', (_client, statusCode, _bytes, responseTime) => {
        if (statusCode >= 200 && statusCode < 300) samples.push(responseTime);
      });
    }
  });
}

class Samples {
  constructor() {
    this.buf = new Float64Array(1 << 16);
    this.n = 0;
  }
  push(v) {
    if (this.n === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.n++] = v;
  }
  percentiles(ps) {
    const sorted = this.buf.slice(0, this.n).sort();
    const at = (p) => (this.n === 0 ? null : sorted[Math.min(this.n - 1, Math.ceil((p / 100) * this.n) - 1)]);
    return Object.fromEntries(ps.map((p) => [`p${p}`, at(p)]));
  }
}

async function main() {
  if (opts.warmupS > 0) await run(opts.warmupS, null);
  const samples = new Samples();
  const r = await run(opts.durationS, samples);
  const own = samples.percentiles([50, 90, 99, 99.9]);
  const out = {
    result: true,
    url: opts.url,
    overallRate: opts.overallRate ?? null,
    reqPerSecMean: r.requests.mean,
    reqPerSecStddev: r.requests.stddev,
    total: r.requests.total,
    p50: own.p50,
    p90: own.p90,
    p99: own.p99,
    p999: own['p99.9'],
    latencyMax: r.latency.max,
    autocannonP50: r.latency.p50,
    autocannonP99: r.latency.p99,
    samples: samples.n,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    statusCodes: r.statusCodeStats,
    durationS: r.duration,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err?.stack ?? String(err));
    process.exit(1);
  },
);
