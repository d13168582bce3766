// Large bodies both ways, checked by SHA-256 at the far end, and backpressure: a client that stops
// reading must stall the upstream rather than make veer buffer the whole body.
import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/domain/clock.js';
import { service, useHarness, waitFor } from '../../helpers/veer.js';

const h = useHarness();
const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;

const POOL_BYTES = 1024 * 1024;
const pools = new Map<number, Buffer>();

/**
 * Deterministic pseudo-random chunk #i: a slice of a per-seed random 1 MiB pool at an offset that
 * varies with i, so reordered or repeated chunks change the digest, and 100 MiB cost no PRNG time.
 */
function chunkAt(seed: number, i: number): Buffer {
  let pool = pools.get(seed);
  if (pool === undefined) {
    const next = seededRandom(seed);
    pool = Buffer.allocUnsafe(POOL_BYTES + CHUNK);
    for (let o = 0; o < pool.length; o += 4) pool.writeUInt32LE(Math.floor(next() * 0x1_0000_0000), o);
    pools.set(seed, pool);
  }
  const offset = ((i * 4099) % (POOL_BYTES / 16)) * 16;
  return pool.subarray(offset, offset + CHUNK);
}

function expectedDigest(seed: number, bytes: number): string {
  const hash = createHash('sha256');
  for (let i = 0; i < bytes / CHUNK; i++) hash.update(chunkAt(seed, i));
  return hash.digest('hex');
}

/** Upstream that hashes what it receives and answers with the digest. */
function hashingHandler(req: IncomingMessage, res: ServerResponse): void {
  const hash = createHash('sha256');
  let bytes = 0;
  req.on('data', (c: Buffer) => {
    hash.update(c);
    bytes += c.length;
  });
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        bytes,
        sha256: hash.digest('hex'),
        te: req.headers['transfer-encoding'] ?? null,
        cl: req.headers['content-length'] ?? null,
      }),
    );
  });
}

/** Upstream that streams `bytes` of chunks, honouring its own backpressure, and counts what it wrote. */
function streamingHandler(seed: number, bytes: number, progress: { written: number; done: boolean }) {
  return (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(bytes) });
    let i = 0;
    const pump = (): void => {
      while (i < bytes / CHUNK) {
        const c = chunkAt(seed, i++);
        progress.written += c.length;
        if (!res.write(c)) return void res.once('drain', pump);
      }
      progress.done = true;
      res.end();
    };
    pump();
  };
}

/** POSTs `bytes` of generated data, chunked or with a Content-Length, writing with backpressure. */
function upload(url: string, seed: number, bytes: number, chunked: boolean): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = chunked ? {} : { 'content-length': String(bytes) };
    const req = httpRequest(url, { method: 'POST', headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    let i = 0;
    const pump = (): void => {
      while (i < bytes / CHUNK) if (!req.write(chunkAt(seed, i++))) return void req.once('drain', pump);
      req.end();
    };
    pump();
  });
}

describe('streaming bodies', () => {
  it('uploads 20 MiB chunked and 20 MiB with Content-Length intact', async () => {
    const up = await h.server(hashingHandler);
    const v = await h.veer({ services: [service('web', [up.address])] });
    const size = 20 * MiB;

    const chunked = await upload(`${v.url}/upload`, 1, size, true);
    expect(chunked.status).toBe(200);
    expect(JSON.parse(chunked.body)).toEqual({ bytes: size, sha256: expectedDigest(1, size), te: 'chunked', cl: null });

    const fixed = await upload(`${v.url}/upload`, 2, size, false);
    expect(fixed.status).toBe(200);
    expect(JSON.parse(fixed.body)).toEqual({
      bytes: size,
      sha256: expectedDigest(2, size),
      te: null,
      cl: String(size),
    });
  });

  it('downloads 20 MiB intact', async () => {
    const size = 20 * MiB;
    const progress = { written: 0, done: false };
    const up = await h.server(streamingHandler(3, size, progress));
    const v = await h.veer({ services: [service('web', [up.address])] });
    const got = await new Promise<{ status: number; len: string | undefined; bytes: number; sha: string }>(
      (resolve, reject) => {
        httpRequest(`${v.url}/download`, { agent: false }, (res) => {
          const hash = createHash('sha256');
          let bytes = 0;
          res.on('data', (c: Buffer) => {
            hash.update(c);
            bytes += c.length;
          });
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              len: res.headers['content-length'],
              bytes,
              sha: hash.digest('hex'),
            }),
          );
          res.on('error', reject);
        })
          .on('error', reject)
          .end();
      },
    );
    expect(got).toEqual({ status: 200, len: String(size), bytes: size, sha: expectedDigest(3, size) });
  });

  it('stalls the upstream while the client does not read, then delivers everything', async () => {
    const size = 64 * MiB;
    const progress = { written: 0, done: false };
    const up = await h.server(streamingHandler(4, size, progress));
    const v = await h.veer({ services: [service('web', [up.address])] });
    const hash = createHash('sha256');
    let received = 0;
    let resumeClient: () => void = () => undefined;
    const finished = new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${v.url}/big`, { agent: false }, (res) => {
        res.once('data', (c: Buffer) => {
          hash.update(c);
          received += c.length;
          res.pause();
          res.on('data', (more: Buffer) => {
            hash.update(more);
            received += more.length;
          });
          resumeClient = () => res.resume();
        });
        res.on('end', () => resolve(received));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    // Wait until the upstream stops making progress (bounded), then check how far it got.
    let last = -1;
    let stableSince = Date.now();
    await waitFor(
      () => {
        if (progress.written !== last) {
          last = progress.written;
          stableSince = Date.now();
        }
        return progress.written > 0 && Date.now() - stableSince > 300;
      },
      'the upstream to stall',
      8_000,
      25,
    );
    expect(progress.done).toBe(false);
    // Socket buffers on both hops hold some MiB; buffering the body in veer would reach all 64 MiB
    // (measured here: about 10 MiB in flight when stalled).
    expect(progress.written).toBeLessThan(size / 2);
    resumeClient();
    expect(await finished).toBe(size);
    expect(hash.digest('hex')).toBe(expectedDigest(4, size));
    expect(progress.done).toBe(true);
  });
});
