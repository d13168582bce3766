// Whether a container answers yet. Docker starts a container long before its process listens (a
// Node app needs 100-300 ms, a JVM seconds), and compose recreates containers under veer's feet;
// routing a request to a port nobody listens on is a 502 that no proxy needed to give. So a target
// of a Docker pool starts *not ready* and gets no traffic until it answers an HTTP request, and a
// connection it refuses or drops unanswered later (the container stopping before its `die` event
// has reached veer) takes it out again until it answers. Probes back off from 25 ms to 1 s; they
// stop when the target leaves routing. Active HTTP health checks (health.ts) come on top of this.
import { connect } from 'node:net';
import { settledWithin } from '../domain/async.js';
import type { Upstream } from './upstream.js';

const FIRST_RETRY_MS = 25;
const MAX_RETRY_MS = 1_000;
// Generous: a slow answer is still an answer (the pool's latency is the judge's business, not this).
const PROBE_TIMEOUT_MS = 5_000;
/** The HTTP/2 client preface, then an empty SETTINGS frame (length 0, type 4, no flags, stream 0). */
const H2C_HELLO = Buffer.concat([
  Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
  Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]),
]);
const SETTINGS_FRAME = 4;

interface Job {
  timer: NodeJS.Timeout | null;
  delay: number;
  stopped: boolean;
  probing: boolean;
}

/**
 * Whether the target answers HTTP at all: null when its first bytes are an HTTP status line, else
 * why not. A TCP connect is not enough: a port Docker publishes on the host is accepted by its
 * proxy as soon as the container starts, and only closed once the proxy finds nothing listening
 * inside. `OPTIONS *` asks the server about itself and nothing else; any status counts. An h2c
 * target (`upstream.protocol: h2c`, e.g. a gRPC server) answers no HTTP/1.1: it is sent the HTTP/2
 * preface and an empty SETTINGS frame, and its own SETTINGS frame (a server's first frame) counts.
 */
export function answersHttp(u: Upstream, timeoutMs = PROBE_TIMEOUT_MS): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ host: u.address.host, port: u.address.port });
    let settled = false;
    const done = (why: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(why);
    };
    const timer = setTimeout(() => done(`no answer within ${timeoutMs} ms`), timeoutMs);
    socket.setNoDelay(true);
    const h2c = u.protocol === 'h2c';
    socket.once('connect', () =>
      socket.write(
        h2c
          ? H2C_HELLO
          : `OPTIONS * HTTP/1.1\r\nHost: ${u.address.id}\r\nUser-Agent: veer-readiness\r\nConnection: close\r\n\r\n`,
      ),
    );
    socket.once('data', (chunk: Buffer) => {
      const ok = h2c ? chunk[3] === SETTINGS_FRAME : chunk.subarray(0, 5).toString('latin1') === 'HTTP/';
      done(ok ? null : `answered something other than ${h2c ? 'HTTP/2' : 'HTTP'}`);
    });
    socket.once('end', () => done('connection closed before an answer'));
    socket.once('error', (e: Error & { code?: string }) => done(`connect: ${e.code ?? e.message}`));
  });
}

export class Readiness {
  private readonly jobs = new Map<Upstream, Job>();
  private readonly listeners = new Set<(u: Upstream) => void>();
  private readonly probed = new Set<() => void>();

  constructor(private readonly probe: (u: Upstream) => Promise<string | null> = answersHttp) {}

  /** Starts watching new upstreams (not ready until a connect succeeds), forgets the ones not listed. */
  sync(watched: ReadonlySet<Upstream>): void {
    for (const [u, job] of this.jobs) {
      if (watched.has(u)) continue;
      this.stopJob(job);
      this.jobs.delete(u);
      u.ready = true;
      u.wasReady = true;
      u.readyError = null;
    }
    for (const u of watched) {
      if (this.jobs.has(u)) continue;
      this.jobs.set(u, { timer: null, delay: FIRST_RETRY_MS, stopped: false, probing: false });
      u.wasReady = false;
      this.lose(u, null);
    }
  }

  /**
   * The target refused a connection (or timed out connecting). True when it is watched here: it
   * gets no traffic until it accepts one again.
   */
  refused(u: Upstream, why: string): boolean {
    if (!this.jobs.has(u)) return false;
    if (u.ready) this.lose(u, why);
    return true;
  }

  /** Whether `u`'s readiness is watched here (a target of a Docker pool). */
  watches(u: Upstream): boolean {
    return this.jobs.has(u);
  }

  /** Called whenever a watched target became ready. */
  onReady(listener: (u: Upstream) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once every watched target has had a first probe's answer, or after `maxMs`. */
  settled(maxMs: number): Promise<void> {
    // A first answer leaves the target ready or with the reason it is not.
    const unsettled = (): boolean => [...this.jobs.keys()].some((u) => !u.wasReady && u.readyError === null);
    if (!unsettled()) return Promise.resolve();
    let check = (): void => undefined;
    const done = new Promise<void>((resolve) => {
      check = () => {
        if (!unsettled()) resolve();
      };
      this.probed.add(check);
    });
    return settledWithin(done, maxMs).then(() => void this.probed.delete(check));
  }

  stop(): void {
    for (const job of this.jobs.values()) this.stopJob(job);
    this.jobs.clear();
  }

  private lose(u: Upstream, why: string | null): void {
    const job = this.jobs.get(u);
    if (job === undefined) return;
    u.ready = false;
    u.readyError = why;
    job.delay = FIRST_RETRY_MS;
    if (!job.probing && job.timer === null) void this.run(u, job);
  }

  private async run(u: Upstream, job: Job): Promise<void> {
    job.timer = null;
    job.probing = true;
    const why = await this.probe(u);
    job.probing = false;
    if (job.stopped) return;
    u.ready = why === null;
    u.wasReady ||= u.ready;
    u.readyError = why;
    for (const p of this.probed) p();
    if (why === null) {
      for (const l of this.listeners) l(u);
      return;
    }
    job.timer = setTimeout(() => void this.run(u, job), job.delay);
    job.timer.unref();
    job.delay = Math.min(job.delay * 2, MAX_RETRY_MS);
  }

  private stopJob(job: Job): void {
    job.stopped = true;
    if (job.timer !== null) clearTimeout(job.timer);
    job.timer = null;
  }
}
