// The leader's decisions with a store and a clock of the test's own: what is ordered when, that a
// valid certificate in the store is never ordered again (a new leader picks up where the old one
// left off), that only the leader orders, that a configured file wins, and the retry schedule.
import { describe, expect, it } from 'vitest';
import type { AcmeAccount } from '../../../src/acme/account.js';
import { CertificateIssuer, type AcmeNotice } from '../../../src/acme/issuer.js';
import { KeySeal } from '../../../src/acme/key-seal.js';
import { AcmeMetrics } from '../../../src/acme/metrics.js';
import { AcmeRecords } from '../../../src/acme/records.js';
import { silentLogger } from '../../../src/domain/log.js';
import { MemoryStore } from '../../../src/store/memory.js';
import { manualClock } from '../../helpers/veer.js';

const DAY = 86_400_000;
const DIRECTORY = 'https://ca.test/dir';

interface Options {
  leading?: boolean;
  configured?: string[];
  secret?: string;
  /** What the CA's last Retry-After said, as the wiring reads it. */
  retryAfter?: () => number | null;
}

function setUp(o: Options = {}) {
  const clock = manualClock(100 * DAY);
  const records = new AcmeRecords(new MemoryStore());
  const metrics = new AcmeMetrics();
  const notices: AcmeNotice[] = [];
  let clients = 0;
  const account = {
    client: async () => {
      clients += 1;
      throw new Error('directory unreachable');
    },
    sealStored: async () => undefined,
  } as unknown as AcmeAccount;
  const seal = new KeySeal(o.secret);
  const issuer = new CertificateIssuer({
    hosts: () => ['a.test', 'b.test'],
    records,
    account,
    seal,
    board: { publish: async () => undefined, withdraw: async () => undefined },
    challenge: 'http-01',
    leading: () => o.leading ?? true,
    configured: (h) => (o.configured ?? []).includes(h),
    clock,
    random: () => 1,
    backoff: { minMs: 60_000, maxMs: 3_600_000 },
    timeoutMs: 1_000,
    directory: DIRECTORY,
    ...(o.retryAfter === undefined ? {} : { retryAfter: o.retryAfter }),
    notify: (n) => notices.push(n),
    metrics,
    log: silentLogger,
  });
  const store = (host: string, notBefore: number, notAfter: number, directory = DIRECTORY) =>
    records.putCertificate(
      { host, cert: 'PEM', key: { plain: 'KEY' }, notBefore, notAfter, issuedAt: notBefore, directory },
      0,
    );
  return { clock, issuer, metrics, notices, store, records, seal, attempts: () => clients };
}

describe('CertificateIssuer', () => {
  it('orders nothing while a stored certificate is not due, and says when it will be', async () => {
    const t = setUp();
    const now = t.clock.now();
    await t.store('a.test', now - 10 * DAY, now + 80 * DAY);
    await t.store('b.test', now - 50 * DAY, now + 40 * DAY);
    // b.test: 90 days from 50 days ago, due at day 60 of them.
    expect(await t.issuer.run()).toBe(now + 10 * DAY);
    expect(t.attempts()).toBe(0);
    t.clock.advance(10 * DAY);
    await t.issuer.run();
    expect(t.attempts()).toBe(1);
    expect(t.notices.map((n) => n.host)).toEqual(['b.test']);
  });

  it("orders at once for a host whose certificate is another directory's, which keeps serving meanwhile", async () => {
    const t = setUp();
    const now = t.clock.now();
    await t.store('a.test', now - DAY, now + 89 * DAY, 'https://staging.ca.test/dir');
    await t.store('b.test', now - DAY, now + 89 * DAY);
    await t.issuer.run();
    expect(t.attempts()).toBe(1);
    expect(t.notices.map((n) => n.host)).toEqual(['a.test']);
    expect(t.notices[0]?.message).toMatch(/failed \(directory unreachable\); the current one expires /);
  });

  it('seals a key stored plain once encryptionKey is set, in place and without ordering', async () => {
    const t = setUp({ secret: 'a long random secret', configured: ['b.test'] });
    const now = t.clock.now();
    await t.store('a.test', now - DAY, now + 89 * DAY);
    await t.store('b.test', now - DAY, now + 89 * DAY);
    await t.issuer.run();
    for (const host of ['a.test', 'b.test']) {
      const after = await t.records.certificate(host);
      expect(after).toMatchObject({ version: 2, value: { cert: 'PEM', notAfter: now + 89 * DAY } });
      expect(after?.value.key).toHaveProperty('aes256gcm');
      expect(t.seal.open(after!.value.key)).toEqual({ pem: 'KEY' });
    }
    await t.issuer.run();
    expect((await t.records.certificate('a.test'))?.version).toBe(2);
    expect(t.attempts()).toBe(0);
  });

  it('orders nothing on a follower, nor for a name a configured file serves', async () => {
    const follower = setUp({ leading: false });
    expect(await follower.issuer.run()).toBe(Number.POSITIVE_INFINITY);
    expect(follower.attempts()).toBe(0);
    const files = setUp({ configured: ['a.test', 'b.test'] });
    await files.issuer.run();
    expect(files.attempts()).toBe(0);
  });

  it('retries a failure after a doubling backoff, with an event and a metric each time', async () => {
    const t = setUp();
    const now = t.clock.now();
    await t.store('b.test', now - 10 * DAY, now + 80 * DAY);
    expect(await t.issuer.run()).toBe(now + 60_000);
    expect(t.metrics.count('failure')).toBe(1);
    expect(t.notices).toHaveLength(1);
    expect(t.notices[0]).toMatchObject({ host: 'a.test', outcome: 'failed', data: { failures: 1 } });
    expect(t.notices[0]?.message).toMatch(
      /^ACME order for a\.test failed \(directory unreachable\); no certificate yet/,
    );
    t.clock.advance(59_999);
    await t.issuer.run();
    expect(t.attempts()).toBe(1);
    t.clock.advance(1);
    expect(await t.issuer.run()).toBe(now + 60_000 + 120_000);
    expect(t.attempts()).toBe(2);
    expect(t.metrics.count('failure')).toBe(2);
  });
});

describe("CertificateIssuer and the CA's Retry-After", () => {
  it('waits until the time a rate-limited answer asked for, past retryMax but at most a week', async () => {
    let asked: number | null = null;
    const t = setUp({ retryAfter: () => asked });
    const now = t.clock.now();
    await t.store('b.test', now - DAY, now + 89 * DAY);
    asked = now + 3 * 3_600_000 + 1;
    expect(await t.issuer.run()).toBe(asked);
    expect(t.notices[0]?.data).toMatchObject({ retryAfter: new Date(asked).toISOString() });
    t.clock.advance(asked - now);
    asked = t.clock.now() + 30 * DAY;
    expect(await t.issuer.run()).toBe(t.clock.now() + 7 * DAY);
    asked = null;
    t.clock.advance(7 * DAY);
    // Not asked: the backoff as before (third failure: 4 minutes).
    expect(await t.issuer.run()).toBe(t.clock.now() + 240_000);
  });
});

describe('AcmeRecords.sweep', () => {
  it('removes challenge answers published before the cut, keeps newer ones and certificates', async () => {
    const store = new MemoryStore();
    const records = new AcmeRecords(store);
    await records.publish('old', { keyAuthorization: 'old.t', host: 'a.test', since: 1_000 });
    await records.publish('new', { keyAuthorization: 'new.t', host: 'a.test', since: 5_000 });
    await records.publishAlpn('a.test', { cert: 'C', key: 'K', since: 1_000 });
    await store.put('acme/certificate/a.test', { since: 0 });
    expect(await records.sweep(2_000)).toBe(2);
    expect(await store.keys('acme/')).toEqual(['acme/certificate/a.test', 'acme/challenge/new']);
  });
});
