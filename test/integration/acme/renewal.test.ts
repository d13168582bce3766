// Renewal against a real pebble issuing short-lived certificates: renewed at two thirds of the
// lifetime (not before); when the ACME server is gone at renewal time the old certificate keeps
// serving, with an event and a metric, and a later retry succeeds once a server is back.
import { describe, expect, it } from 'vitest';
import { acmeEvents, awaitServed, issuedVeer, metric, served } from '../../helpers/acme.js';
import { useHarness, waitFor } from '../../helpers/veer.js';

const h = useHarness();
const FAILURES = 'veer_acme_renewals_total{outcome="failure"}';

const setUp = (validitySeconds: number) => issuedVeer(h, 'the first certificate', validitySeconds);

describe('ACME renewal', () => {
  it('renews at two thirds of the lifetime', async () => {
    const { pebble, tlsPort, root, first } = await setUp(24);
    const due = first.validFrom + ((first.validTo - first.validFrom) * 2) / 3;
    const second = await waitFor(
      async () => {
        const c = await served(tlsPort, 'app.test', root);
        return c.serial !== first.serial ? { c, seenAt: Date.now() } : null;
      },
      { timeoutMs: 40_000, intervalMs: 200, what: 'the renewed certificate' },
    );
    // Not early (the served one changed only after it was due); at most one look (5 s) and an order late.
    expect(second.seenAt).toBeGreaterThanOrEqual(due);
    expect(second.seenAt).toBeLessThan(due + 10_000);
    expect(second.c.names).toBe('DNS:app.test');
    expect(pebble.issued()).toBe(2);
  }, 90_000);

  it('keeps serving the old certificate while the ACME server is away, and retries', async () => {
    const { pebble, veer, tlsPort, root, first } = await setUp(30);
    await pebble.stop();
    await waitFor(async () => (await metric(veer, FAILURES)) >= 1, {
      timeoutMs: 40_000,
      intervalMs: 200,
      what: 'a failed renewal',
    });
    const during = await served(tlsPort, 'app.test', root);
    expect(during.serial).toBe(first.serial);
    const failed = (await acmeEvents(veer)).filter((e) => e.data.outcome === 'failed');
    expect(failed.length).toBeGreaterThanOrEqual(1);
    expect(failed[0]?.message).toMatch(/ACME order for app\.test failed .*the current one expires/);
    // A fresh pebble (new root, no accounts): the next retry registers again and renews.
    await pebble.start();
    const newRoot = await pebble.root();
    const renewed = await awaitServed(tlsPort, 'app.test', newRoot, 'the certificate renewed after the outage');
    expect(renewed.serial).not.toBe(first.serial);
    expect(await metric(veer, 'veer_acme_renewals_total{outcome="success"}')).toBe(2);
    expect((await acmeEvents(veer)).at(-1)?.data.outcome).toBe('renewed');
  }, 90_000);
});
