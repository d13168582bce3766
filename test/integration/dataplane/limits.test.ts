// Limits fail closed, and the pool override is not for anyone: too many header fields are refused
// 431 (never forwarded with fields dropped), a Transfer-Encoding other than a lone "chunked" never
// reaches an upstream, per-service body limits and timeouts apply to their service only, and the
// override header is off unless configured, and then honoured only from `proxy.overrideFrom`.
// Framing-sensitive requests are sent as raw bytes; assertions read what the upstream received.
import { spawn } from 'node:child_process';
import { createConnection, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { countersOf, expectUntouched } from '../../helpers/pool-counters.js';
import type { TestUpstream } from '../../helpers/upstream.js';
import { errorCode, http, rawExchange, service, useHarness, waitFor, type TestVeer } from '../../helpers/veer.js';

const h = useHarness();
/** The last header of a one-shot raw request, and the blank line that ends its head. */
const CLOSE = 'Connection: close\r\n\r\n';

async function oneService(proxy: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  const up = await h.upstream('app');
  const v = await h.veer({ services: [service('web', [up.address], [], extra)], proxy });
  return { v, up };
}

interface Answer {
  status: number;
  code: string | undefined;
  data: string;
  closedByPeer: boolean;
}

async function send(v: TestVeer, payload: string): Promise<Answer> {
  const r = await rawExchange(v.port, payload);
  return {
    status: Number(r.data.slice(9, 12)),
    code: /"code":"(\w+)"/.exec(r.data)?.[1],
    data: r.data,
    closedByPeer: r.closedByPeer,
  };
}

/** A GET whose head carries exactly `fields` header fields (Host and Connection included). */
function withFields(
  fields: number,
  opts: { last?: string[]; method?: string; body?: string; path?: string } = {},
): string {
  const last = opts.last ?? [];
  const fixed = ['Host: front.test', 'Connection: close', ...last];
  const filler = Array.from({ length: fields - fixed.length }, (_, i) => `X-F${i}: v${i}`);
  // The fields that matter go last: anything a limit dropped silently would be exactly those.
  const head = ['Host: front.test', 'Connection: close', ...filler, ...last];
  const requestLine = `${opts.method ?? 'GET'} ${opts.path ?? `/fields/${fields}`} HTTP/1.1`;
  return `${requestLine}\r\n${head.join('\r\n')}\r\n\r\n${opts.body ?? ''}`;
}

/** The targets an upstream received, in order (a stray request would show up by name). */
function urlsOf(up: TestUpstream): string[] {
  return up.requests.map((r) => r.url);
}

/** The X-F* fields an upstream request carried, in order. */
function fillerOf(req: TestUpstream['requests'][number]): string[] {
  return req.rawHeaders.filter((n, i) => i % 2 === 0 && /^X-F\d+$/.test(n));
}

describe('proxy.maxHeaders', () => {
  it('by default forwards 100 fields whole and refuses 101 with 431, forwarding nothing', async () => {
    const { v, up } = await oneService();
    const ok = await send(v, withFields(100));
    expect(ok.status).toBe(200);
    expect(up.requests).toHaveLength(1);
    const seen = up.requests[0] as TestUpstream['requests'][number];
    expect(fillerOf(seen)).toEqual(Array.from({ length: 98 }, (_, i) => `X-F${i}`));
    expect(seen.headers['x-f97']).toBe('v97');

    const before = await countersOf(v);
    const refused = await send(v, withFields(101));
    expect({ status: refused.status, code: refused.code }).toEqual({ status: 431, code: 'too_many_headers' });
    expect(refused.closedByPeer).toBe(true);
    expect(urlsOf(up)).toEqual(['/fields/100']);
    await expectUntouched(v, before);
  });

  it('1,500 fields (Content-Length last) are refused 431: nothing is forwarded with fields dropped', async () => {
    const { v, up } = await oneService({ maxHeaderSize: 65_536 });
    const before = await countersOf(v);
    const get = await send(v, withFields(1_500));
    expect({ status: get.status, code: get.code }).toEqual({ status: 431, code: 'too_many_headers' });
    const post = await send(v, withFields(1_500, { method: 'POST', last: ['Content-Length: 5'], body: 'hello' }));
    expect({ status: post.status, code: post.code }).toEqual({ status: 431, code: 'too_many_headers' });
    expect(up.hits).toBe(0);
    await expectUntouched(v, before);
  });

  it('a Via loop hidden after 2,000 fields is refused (431), and is a loop when the limit allows them', async () => {
    const hidden = withFields(2_001, { last: ['Via: 1.1 veer'] });
    const strict = await oneService({ maxHeaderSize: 65_536 });
    const before = await countersOf(strict.v);
    const r = await send(strict.v, hidden);
    expect({ status: r.status, code: r.code }).toEqual({ status: 431, code: 'too_many_headers' });
    expect(strict.up.hits).toBe(0);
    await expectUntouched(strict.v, before);

    // With room for every field, the loop is found wherever the Via field sits.
    const roomy = await oneService({ maxHeaderSize: 65_536, maxHeaders: 3_000 });
    const loop = await send(roomy.v, hidden);
    expect({ status: loop.status, code: loop.code }).toEqual({ status: 508, code: 'loop_detected' });
    expect(roomy.up.hits).toBe(0);
  });

  it('a custom maxHeaders is the exact bound, below and above the default', async () => {
    const small = await oneService({ maxHeaders: 10 });
    expect((await send(small.v, withFields(10))).status).toBe(200);
    const r = await send(small.v, withFields(11));
    expect({ status: r.status, code: r.code }).toEqual({ status: 431, code: 'too_many_headers' });
    expect(urlsOf(small.up)).toEqual(['/fields/10']);

    const large = await oneService({ maxHeaders: 250, maxHeaderSize: 65_536 });
    expect((await send(large.v, withFields(250, { last: ['X-Last: here'] }))).status).toBe(200);
    const seen = large.up.requests[0] as TestUpstream['requests'][number];
    expect(fillerOf(seen)).toHaveLength(247);
    expect(seen.headers['x-last']).toBe('here');
    const over = await send(large.v, withFields(251));
    expect(over.status).toBe(431);
    expect(urlsOf(large.up)).toEqual(['/fields/250']);
  });

  it('an upgrade with too many fields is refused 431 too', async () => {
    const { v, up } = await oneService();
    const payload = withFields(101, { last: ['Upgrade: websocket'] }).replace(
      'Connection: close',
      'Connection: Upgrade',
    );
    const r = await send(v, payload);
    expect(r.status).toBe(431);
    expect(r.data).toContain('too_many_headers');
    expect(up.hits).toBe(0);
  });

  it("a head larger than maxHeaderSize is refused by Node's parser (431) before veer counts fields", async () => {
    const { v, up } = await oneService();
    const r = await send(v, `GET / HTTP/1.1\r\nHost: front.test\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect({ status: r.status, code: r.code }).toEqual({ status: 431, code: 'headers_too_large' });
    expect(up.hits).toBe(0);
  });
});

describe('Transfer-Encoding: only a lone "chunked" is forwarded', () => {
  const post = (te: string[], body = '5\r\nhello\r\n0\r\n\r\n'): string =>
    `POST /te HTTP/1.1\r\nHost: front.test\r\n${te.map((v) => `Transfer-Encoding: ${v}\r\n`).join('')}` +
    `Connection: close\r\n\r\n${body}`;

  it('a coding before chunked ("gzip, chunked") is refused 501 and never forwarded', async () => {
    const { v, up } = await oneService();
    const before = await countersOf(v);
    for (const te of [
      ['gzip, chunked'],
      ['gzip,chunked'],
      ['deflate, chunked'],
      ['identity, chunked'],
      [', chunked'],
      ['gzip', 'chunked'],
    ]) {
      const r = await send(v, post(te));
      expect({ status: r.status, code: r.code }, te.join(' | ')).toEqual({
        status: 501,
        code: 'unsupported_transfer_encoding',
      });
      expect(r.closedByPeer, te.join(' | ')).toBe(true);
    }
    expect(up.hits).toBe(0);
    await expectUntouched(v, before);
  });

  it('a coding that is not chunked ("identity", "gzip", "chunked;x=1") is refused and never forwarded', async () => {
    const { v, up } = await oneService();
    const before = await countersOf(v);
    for (const te of ['identity', 'gzip', 'chunked;x=1', 'x-chunked']) {
      const r = await send(v, post([te], 'hello'));
      expect([400, 501], `${te}: ${r.data.slice(0, 120)}`).toContain(r.status);
    }
    expect(up.hits).toBe(0);
    await expectUntouched(v, before);
  });

  // With a coding that does not end in chunked, llhttp still emits the request (veer answers 501)
  // and only then fails on the body framing (HPE_INVALID_TRANSFER_ENCODING). The listener's
  // clientError handler (src/dataplane/server.ts) answers any such error with a raw 400, without
  // checking whether a response already went out on that socket: the client reads two answers to
  // one request, and a client that pipelines takes the 400 for its next one.
  it('…and the client gets exactly one answer to it', async () => {
    const { v } = await oneService();
    for (const te of ['identity', 'gzip', 'chunked;x=1']) {
      const r = await send(v, post([te], 'hello'));
      expect(r.data.match(/HTTP\/1\.1 \d{3} /g), `${te}: ${JSON.stringify(r.data)}`).toHaveLength(1);
    }
  });

  it("repeated or trailing codings, or Transfer-Encoding plus Content-Length: Node's parser says 400", async () => {
    const { v, up } = await oneService();
    const before = await countersOf(v);
    const cases = [
      post(['chunked, chunked']),
      post(['chunked', 'chunked']),
      post(['chunked, gzip']),
      post(['chunked,']),
      'POST /te HTTP/1.1\r\nHost: front.test\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n' +
        'Connection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
      'POST /te HTTP/1.1\r\nHost: front.test\r\nTransfer-Encoding: identity\r\nContent-Length: 5\r\n' +
        'Connection: close\r\n\r\nhello',
    ];
    for (const p of cases) {
      const r = await send(v, p);
      expect({ status: r.status, code: r.code }, p.split('\r\n').slice(2, 4).join(' | ')).toEqual({
        status: 400,
        code: 'bad_request',
      });
    }
    expect(up.hits).toBe(0);
    await expectUntouched(v, before);
  });

  it('a lone chunked, in any case and with surrounding whitespace, is forwarded with its body intact', async () => {
    const { v, up } = await oneService();
    for (const te of ['chunked', 'CHUNKED', 'Chunked', '\tchunked ']) {
      const r = await send(v, post([te], '3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n'));
      expect(r.status, JSON.stringify(te)).toBe(200);
      const seen = up.requests.at(-1);
      expect(seen?.body, JSON.stringify(te)).toBe('hello');
      // Re-framed by veer's upstream client: chunked again, never a coding the upstream is not told about.
      expect(seen?.headers['transfer-encoding'] ?? seen?.headers['content-length']).toMatch(/^(chunked|5)$/);
    }
    expect(up.hits).toBe(4);
  });
});

describe('limits.maxRequestBody is per service', () => {
  it("refuses 413 above one service's limit, and leaves the other service unlimited", async () => {
    const small = await h.upstream('small');
    const big = await h.upstream('big');
    const v = await h.veer({
      services: [
        {
          ...service('small', [small.address], [], { limits: { maxRequestBody: '1kb' } }),
          match: { hosts: ['*'], pathPrefix: '/small' },
        },
        { ...service('big', [big.address]), match: { hosts: ['*'], pathPrefix: '/big' } },
      ],
    });
    const before = await countersOf(v, 'small');
    const declared = await send(
      v,
      `POST /small/up HTTP/1.1\r\nHost: front.test\r\nContent-Length: 2048\r\n${CLOSE}${'a'.repeat(2048)}`,
    );
    expect({ status: declared.status, code: declared.code }).toEqual({ status: 413, code: 'payload_too_large' });
    const chunks = Array.from({ length: 4 }, () => `200\r\n${'b'.repeat(512)}\r\n`).join('');
    const chunked = await send(
      v,
      `POST /small/up HTTP/1.1\r\nHost: front.test\r\nTransfer-Encoding: chunked\r\n${CLOSE}${chunks}0\r\n\r\n`,
    );
    expect({ status: chunked.status, code: chunked.code }).toEqual({ status: 413, code: 'payload_too_large' });
    // The limit itself is allowed.
    const atLimit = await send(
      v,
      `POST /small/up HTTP/1.1\r\nHost: front.test\r\nContent-Length: 1024\r\n${CLOSE}${'c'.repeat(1024)}`,
    );
    expect(atLimit.status).toBe(200);
    expect(small.requests.map((r) => r.body.length)).toEqual([1024]);
    // The other service has no limit.
    const other = await send(
      v,
      `POST /big/up HTTP/1.1\r\nHost: front.test\r\nContent-Length: 4096\r\n${CLOSE}${'d'.repeat(4096)}`,
    );
    expect(other.status).toBe(200);
    expect(big.requests[0]?.body).toHaveLength(4096);
    const after = await countersOf(v, 'small');
    expect(after.stable.requests).toBe(before.stable.requests + 1);
    expect(after.stable.errors).toBe(before.stable.errors);
  });
});

/**
 * A target whose TCP connect never completes: a listener in a child process that is blocked before
 * its first accept, with its accept queue (backlog 1) filled by two connections of our own. Further
 * SYNs are dropped by the kernel, so a connect to it hangs until the client's own timeout. Loopback only.
 */
async function blackhole(): Promise<{ address: string; stop(): void }> {
  const script =
    "const s=require('net').createServer();" +
    "s.listen({port:0,host:'127.0.0.1',backlog:1},()=>{process.stdout.write(s.address().port+'\\n');" +
    'Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0)})';
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  const stop = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  h.defer(stop);
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
  });
  const fill: Socket[] = [];
  h.defer(() => fill.forEach((s) => s.destroy()));
  // Connect until one attempt stays pending: from then on the queue is full.
  for (let i = 0; i < 8; i++) {
    const s = createConnection({ host: '127.0.0.1', port });
    s.on('error', () => undefined);
    fill.push(s);
    const connected = await new Promise<boolean>((resolve) => {
      s.once('connect', () => resolve(true));
      const t = setTimeout(() => resolve(false), 300);
      t.unref();
    });
    if (!connected) return { address: `127.0.0.1:${port}`, stop };
  }
  throw new Error('could not fill the accept queue of the blackhole listener');
}

describe('per-service timeouts override proxy.timeouts for that service only', () => {
  // undici arms its header and body timers as "fast timers" (about 1 s resolution), so a bound
  // under a second fires up to a second late: the slow target takes well over that.
  it("timeouts.header: 504 from the strict service; the other gets the same slow target's answer", async () => {
    const slow = await h.upstream('slow', { delayMs: 3_000 });
    const v = await h.veer({
      services: [
        {
          ...service('strict', [slow.address], [], { timeouts: { header: '300ms' } }),
          match: { hosts: ['*'], pathPrefix: '/strict' },
        },
        { ...service('patient', [slow.address]), match: { hosts: ['*'], pathPrefix: '/patient' } },
      ],
      proxy: { timeouts: { header: '10s' } },
    });
    const patientBefore = await countersOf(v, 'patient');
    const t0 = Date.now();
    const [strict, patient] = await Promise.all([
      http(`${v.url}/strict/x`).then((r) => ({ r, at: Date.now() - t0 })),
      http(`${v.url}/patient/x`).then((r) => ({ r, at: Date.now() - t0 })),
    ]);
    expect(strict.r.status).toBe(504);
    expect(errorCode(strict.r)).toBe('upstream_timeout');
    expect(strict.at).toBeLessThan(2_500);
    expect(patient.r.status).toBe(200);
    expect(patient.r.text).toBe('slow');
    expect(patient.at).toBeGreaterThanOrEqual(2_900);
    const strictAfter = await countersOf(v, 'strict');
    expect(strictAfter.stable.errors).toBe(1);
    const patientAfter = await countersOf(v, 'patient');
    expect(patientAfter.stable.requests).toBe(patientBefore.stable.requests + 1);
    expect(patientAfter.stable.errors).toBe(patientBefore.stable.errors);
  });

  // Upstreams are shared between services by target id (plus connect/idle options), and the outlier
  // state lives on the shared Upstream: a timeout under the strict service's own bound (with its own
  // outlier policy) ejects the target for the patient service too, which it would have served.
  it("timeouts.header: the strict service's timeouts do not eject a target the other service shares", async () => {
    const slow = await h.upstream('slow', { delayMs: 3_000 });
    const fast = await h.upstream('fast');
    const outlier = { consecutiveErrors: 1, ejectFor: '1m' };
    const v = await h.veer({
      services: [
        {
          ...service('strict', [slow.address, fast.address], [], { timeouts: { header: '300ms' }, outlier }),
          match: { hosts: ['*'], pathPrefix: '/strict' },
        },
        {
          ...service('patient', [slow.address, fast.address], [], { outlier }),
          match: { hosts: ['*'], pathPrefix: '/patient' },
        },
      ],
      proxy: { timeouts: { header: '10s' } },
    });
    const patientBefore = await countersOf(v, 'patient');
    let timedOut = false;
    for (let i = 0; i < 20 && !timedOut; i++) timedOut = (await http(`${v.url}/strict/x`)).status === 504;
    expect(timedOut, 'the strict service timed out on the slow target').toBe(true);
    expect(
      v.plane
        .targets('strict', 'stable')
        .filter((t) => t.ejected)
        .map((t) => t.id),
    ).toEqual([slow.address]);
    await expectUntouched(v, patientBefore, 'patient');
  });

  it('timeouts.body: the strict service cuts a stalled response body, the other receives all of it', async () => {
    const stalling = await h.upstream('stalling', {
      handler: (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('part1');
        const t = setTimeout(() => res.end('part2'), 3_000);
        res.on('close', () => clearTimeout(t));
      },
    });
    const v = await h.veer({
      services: [
        {
          ...service('strict', [stalling.address], [], { timeouts: { body: '300ms' } }),
          match: { hosts: ['*'], pathPrefix: '/strict' },
        },
        { ...service('patient', [stalling.address]), match: { hosts: ['*'], pathPrefix: '/patient' } },
      ],
      proxy: { timeouts: { body: '10s' } },
    });
    const [strict, patient] = await Promise.all([http(`${v.url}/strict/x`), http(`${v.url}/patient/x`)]);
    expect(strict.status).toBe(200);
    expect(strict.complete).toBe(false);
    expect(strict.text).not.toContain('part2');
    expect(patient.complete).toBe(true);
    expect(patient.text).toBe('part1part2');
  });

  it('timeouts.connect: the strict service gives up on a target that never accepts; the other waits', async () => {
    const hole = await blackhole();
    const v = await h.veer({
      services: [
        {
          ...service('strict', [hole.address], [], { timeouts: { connect: '300ms' } }),
          match: { hosts: ['*'], pathPrefix: '/strict' },
        },
        { ...service('patient', [hole.address]), match: { hosts: ['*'], pathPrefix: '/patient' } },
      ],
      proxy: { timeouts: { connect: '20s', shutdown: '1s' }, retryConnectErrors: false },
    });
    const s = createConnection({ host: '127.0.0.1', port: v.port });
    s.on('error', () => undefined);
    h.defer(() => s.destroy());
    let patientAnswer = '';
    s.on('data', (c: Buffer) => (patientAnswer += c.toString('latin1')));
    s.write('GET /patient/x HTTP/1.1\r\nHost: front.test\r\n\r\n');
    await waitFor(() => v.plane.inFlight === 1, 'the patient request to be in flight', 3_000);

    const t0 = Date.now();
    const strict = await http(`${v.url}/strict/x`);
    const took = Date.now() - t0;
    expect(strict.status).toBe(504);
    expect(errorCode(strict)).toBe('upstream_timeout');
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(3_000);
    // The patient service's own (proxy) connect timeout has not passed: it has no answer yet.
    expect(patientAnswer).toBe('');
    expect(v.plane.inFlight).toBe(1);
    s.destroy();
    await waitFor(() => v.plane.inFlight === 0, 'the patient request to be released', 3_000);
    // Its connect attempt is still pending inside the upstream pool: end the listener so that it is
    // refused now rather than holding veer's shutdown for the rest of the 20 s.
    hole.stop();
  });
});

describe('the override header', () => {
  /** Weight 0 (or 100): the header is the only way to the other pool. */
  async function split(proxy: Record<string, unknown>, weight = 0) {
    const stable = await h.upstream('stable');
    const canary = await h.upstream('canary');
    const v = await h.veer({ services: [service('web', [stable.address], [canary.address], { weight })], proxy });
    return { v, stable, canary };
  }

  const ask = async (v: TestVeer, headers: Record<string, string>, n = 10): Promise<string[]> => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push((await http(`${v.url}/`, { headers })).text);
    return out;
  };

  it('is off by default: x-veer-pool (or any name) from loopback picks nothing', async () => {
    const { v, canary } = await split({});
    expect(v.config.proxy.overrideHeader).toBe(false);
    for (const name of ['x-veer-pool', 'X-Veer-Pool', 'x-pool', 'x-canary']) {
      expect(new Set(await ask(v, { [name]: 'canary' }, 5)), name).toEqual(new Set(['stable']));
    }
    expect(canary.hits).toBe(0);
    const all = await split({}, 100);
    expect(new Set(await ask(all.v, { 'x-veer-pool': 'stable' }))).toEqual(new Set(['canary']));
    expect(all.stable.hits).toBe(0);
  });

  it('when configured, is honoured from loopback (the default overrideFrom), in any header case', async () => {
    const { v, stable } = await split({ overrideHeader: 'X-Veer-Pool' });
    expect(v.config.proxy.overrideFrom).toEqual(['127.0.0.0/8', '::1']);
    expect(new Set(await ask(v, { 'x-veer-pool': 'canary' }))).toEqual(new Set(['canary']));
    expect(new Set(await ask(v, { 'X-VEER-POOL': 'canary' }))).toEqual(new Set(['canary']));
    expect(stable.hits).toBe(0);
    // Only the exact pool names count.
    expect(new Set(await ask(v, { 'x-veer-pool': 'Canary' }, 3))).toEqual(new Set(['stable']));
    const all = await split({ overrideHeader: 'x-veer-pool' }, 100);
    expect(new Set(await ask(all.v, { 'x-veer-pool': 'stable' }))).toEqual(new Set(['stable']));
  });

  it('is ignored from a peer outside overrideFrom', async () => {
    for (const overrideFrom of [['10.0.0.0/8'], ['::1'], ['192.168.0.0/16', '127.0.0.2']]) {
      const { v, canary } = await split({ overrideHeader: 'x-veer-pool', overrideFrom });
      expect(new Set(await ask(v, { 'x-veer-pool': 'canary' })), overrideFrom.join(',')).toEqual(new Set(['stable']));
      expect(canary.hits, overrideFrom.join(',')).toBe(0);
    }
  });

  it('is honoured from a peer inside overrideFrom, given as an address or a block', async () => {
    for (const overrideFrom of [['127.0.0.1'], ['10.0.0.0/8', '127.0.0.0/8']]) {
      const { v, stable } = await split({ overrideHeader: 'x-veer-pool', overrideFrom });
      expect(new Set(await ask(v, { 'x-veer-pool': 'canary' })), overrideFrom.join(',')).toEqual(new Set(['canary']));
      expect(stable.hits, overrideFrom.join(',')).toBe(0);
    }
  });
});
