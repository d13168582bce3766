// A directory that answers 429 with Retry-After (a rate limit): acme-client's error carries no
// headers, so veer's transport notes the time asked for, and the leader's backoff reads it once.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import acme from 'acme-client';
import { afterEach, describe, expect, it } from 'vitest';
import { takeRetryAfter, trustDirectory } from '../../../src/acme/http-trust.js';

let server: Server | null = null;
afterEach(async () => {
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = null;
});

async function directoryAnswering(status: number, headers: Record<string, string>): Promise<string> {
  server = createServer((_req, res) => res.writeHead(status, headers).end('{"type":"x"}'));
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/dir`;
}

describe("a rate-limited answer's Retry-After", () => {
  it('is noted for the directory and taken once', async () => {
    const directory = await directoryAnswering(429, { 'retry-after': '3600' });
    const release = trustDirectory(directory, null, 5_000);
    try {
      const accountKey = await acme.crypto.createPrivateEcdsaKey('P-256');
      const before = Date.now();
      const client = new acme.Client({ directoryUrl: directory, accountKey });
      await expect(client.createAccount({ termsOfServiceAgreed: true })).rejects.toThrow(/429/);
      const at = takeRetryAfter(directory);
      expect(at).toBeGreaterThanOrEqual(before + 3_600_000);
      expect(at).toBeLessThanOrEqual(Date.now() + 3_600_000);
      expect(takeRetryAfter(directory)).toBeNull();
    } finally {
      release();
    }
  });

  it('is not noted from an answer that is no rate limit', async () => {
    const directory = await directoryAnswering(500, { 'retry-after': '3600' });
    const release = trustDirectory(directory, null, 5_000);
    try {
      const client = new acme.Client({
        directoryUrl: directory,
        accountKey: await acme.crypto.createPrivateEcdsaKey(),
      });
      await expect(client.createAccount({ termsOfServiceAgreed: true })).rejects.toThrow();
      expect(takeRetryAfter(directory)).toBeNull();
    } finally {
      release();
    }
  });
});
