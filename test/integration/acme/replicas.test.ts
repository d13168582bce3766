// ACME with two replicas sharing a redis-server: only the leader orders; pebble validates against
// the follower's plain port, so the follower answers the challenge the leader published in the
// store; both serve the certificate; a key authorization is readable in the store only while its
// order is being validated, and the stored private key is sealed when `encryptionKey` is set. When
// the leader leaves, the other replica picks up where it left off: no new order until renewal is due.
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { awaitServed, metric, served, startAcmeVeer } from '../../helpers/acme.js';
import { startPebble } from '../../helpers/pebble.js';
import { freePort } from '../../helpers/process.js';
import { startRedis } from '../../helpers/redis.js';
import { http, useHarness, waitFor } from '../../helpers/veer.js';

const h = useHarness();

const leaderOf = async (adminPort: number): Promise<{ self: string; leader: string | null }> =>
  JSON.parse((await http(`http://127.0.0.1:${adminPort}/v1/cluster`)).text) as { self: string; leader: string | null };

describe('ACME with two replicas', () => {
  it('the leader orders, the follower answers and serves; a new leader renews when due, not before', async () => {
    const redis = await startRedis();
    h.defer(() => redis.stop());
    const [leaderPort, followerPort] = [await freePort(), await freePort()];
    // Pebble validates only on the follower's port: nothing else can answer there.
    // Short-lived certificates: the second replica, once it leads, has a renewal to do.
    const pebble = await startPebble({ httpPort: followerPort, validitySeconds: 30 });
    h.defer(() => pebble.close());
    const up = await h.upstream('app');
    const common = {
      pebble,
      host: 'app.test',
      upstream: `127.0.0.1:${up.port}`,
      state: { store: 'redis', redis: redis.url, prefix: 'acme', leaseTtl: '2s' },
      acme: { encryptionKey: 'a long random secret for the test' },
    };
    const a = await startAcmeVeer({ ...common, port: leaderPort });
    h.defer(() => a.close());
    await waitFor(
      async () => {
        const c = await leaderOf(a.admin.port);
        return c.leader === c.self;
      },
      { timeoutMs: 10_000, what: 'the first replica to lead' },
    );
    const b = await startAcmeVeer({ ...common, port: followerPort });
    h.defer(() => b.close());
    const root = await pebble.root();
    const onLeader = await awaitServed(a.tls?.port ?? 0, 'app.test', root, 'leader');
    const onFollower = await awaitServed(b.tls?.port ?? 0, 'app.test', root, 'follower');
    expect(onFollower.serial).toBe(onLeader.serial);
    expect(pebble.issued()).toBe(1);
    expect(await metric(a, 'veer_acme_renewals_total{outcome="success"}')).toBe(1);
    // The follower ordered nothing, not even a failed attempt.
    expect(await metric(b, 'veer_acme_renewals_total{outcome="success"}')).toBe(0);
    expect(await metric(b, 'veer_acme_renewals_total{outcome="failure"}')).toBe(0);
    expect(await metric(b, 'veer_certificate_expiry_seconds{host="app.test"}')).toBe(onLeader.validTo / 1000);

    const raw = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    h.defer(() => raw.quit());
    await raw.connect();
    const stored = await raw.hget('acme:{acme}:state:acme/certificate/app.test', 'd');
    expect(stored).toContain('BEGIN CERTIFICATE');
    expect(stored).toContain('aes256gcm');
    expect(stored).not.toContain('PRIVATE KEY');
    // Validated and done: no key authorization is left behind.
    expect(await raw.keys('acme:{acme}:state:acme/challenge/*')).toEqual([]);

    // The leader goes away: the other replica takes over where it left off. It does not order the
    // stored, valid certificate again; it renews it when due.
    await a.close();
    await waitFor(
      async () => {
        const c = await leaderOf(b.admin.port);
        return c.leader === c.self;
      },
      { timeoutMs: 15_000, what: 'the second replica to lead' },
    );
    const due = onLeader.validFrom + ((onLeader.validTo - onLeader.validFrom) * 2) / 3;
    const renewed = await waitFor(
      async () => {
        const c = await served(b.tls?.port ?? 0, 'app.test', root);
        return c.serial !== onLeader.serial ? { seenAt: Date.now() } : null;
      },
      { timeoutMs: 40_000, intervalMs: 200, what: 'the new leader to renew' },
    );
    expect(renewed.seenAt).toBeGreaterThanOrEqual(due);
    expect(pebble.issued()).toBe(2);
    expect(await metric(b, 'veer_acme_renewals_total{outcome="success"}')).toBe(1);
  }, 120_000);
});
