// What a replica serves from the store: a record that would be a step back (expired, or issued before
// the one served, as a restored snapshot or a lagging Redis replica can hold) is not installed.
import { readFileSync } from 'node:fs';
import type { SecureContext } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { KeySeal } from '../../../src/acme/key-seal.js';
import { AcmeMetrics } from '../../../src/acme/metrics.js';
import { AcmeRecords, type CertificateRecord } from '../../../src/acme/records.js';
import { CertificateShelf } from '../../../src/acme/shelf.js';
import { CertificateBook } from '../../../src/dataplane/certificate-book.js';
import type { LogLevel } from '../../../src/domain/log.js';
import { MemoryStore } from '../../../src/store/memory.js';
import { testCa } from '../../helpers/certs.js';
import { manualClock } from '../../helpers/veer.js';

const DAY = 86_400_000;
const DIR = 'https://ca.test/dir';
const ca = testCa();
afterAll(() => ca.remove());
// Distinct PEMs (the shelf tells records apart by content); the dates the shelf goes by are the record's.
const pems = [1, 2, 3, 4].map(() => {
  const f = ca.issue(['a.test']);
  return { cert: readFileSync(f.cert, 'utf8'), key: readFileSync(f.key, 'utf8') };
});

function setUp() {
  const clock = manualClock(100 * DAY);
  const store = new MemoryStore();
  const records = new AcmeRecords(store);
  const metrics = new AcmeMetrics();
  const logs: Array<[LogLevel, string, Record<string, unknown> | undefined]> = [];
  const puts: SecureContext[] = [];
  // The book as the wiring fills it, so what plain HTTP redirects (`covers`) is seen too.
  const book = new CertificateBook();
  let hosts = ['a.test'];
  const shelf = new CertificateShelf({
    hosts: () => hosts,
    records,
    seal: new KeySeal(undefined),
    sink: {
      put: (h, context) => {
        puts.push(context);
        book.put(`acme:${h}`, { names: [h], context, yields: true });
      },
      remove: (h) => book.remove(`acme:${h}`),
    },
    metrics,
    directory: DIR,
    clock,
    log: { log: (l, m, f) => logs.push([l, m, f]) },
  });
  /** Replaces the record outright, as a restored store would. */
  const store1 = async (
    i: number,
    notAfter: number,
    directory = DIR,
    notBefore = notAfter - 90 * DAY,
    issuedAt = 0,
  ) => {
    await store.delete('acme/certificate/a.test');
    const rec: CertificateRecord = {
      host: 'a.test',
      ...{ cert: pems[i]!.cert, key: { plain: pems[i]!.key } },
      ...{ notBefore, notAfter, issuedAt, directory },
    };
    await records.putCertificate(rec, 0);
  };
  const expiry = () => metrics.families()[1]!.samples;
  return { clock, shelf, logs, puts, book, store: store1, expiry, setHosts: (h: string[]) => (hosts = h) };
}

describe('CertificateShelf', () => {
  it('does not replace the served certificate with an expired or an older one, and says why once', async () => {
    const t = setUp();
    const now = t.clock.now();
    await t.store(0, now + 60 * DAY);
    await t.shelf.refresh();
    expect(t.puts).toHaveLength(1);
    await t.store(1, now - DAY);
    await t.shelf.refresh();
    await t.shelf.refresh();
    await t.store(2, now + 30 * DAY);
    await t.shelf.refresh();
    expect(t.puts).toHaveLength(1);
    const warns = t.logs.filter(([l]) => l === 'warn').map(([, , f]) => f?.reason);
    expect(warns).toEqual([
      `the stored certificate expired on ${new Date(now - DAY).toISOString()}`,
      expect.stringMatching(/^the stored certificate was issued .*, before the one served/),
    ]);
    expect(t.expiry()).toEqual([{ labels: { host: 'a.test' }, value: Math.floor((now + 60 * DAY) / 1000) }]);
    // A renewal (later notAfter) is served.
    await t.store(3, now + 90 * DAY);
    await t.shelf.refresh();
    expect(t.puts).toHaveLength(2);
  });

  it('serves a renewal that expires sooner than the one it replaces (shorter lifetimes, a re-issue)', async () => {
    const t = setUp();
    const now = t.clock.now();
    await t.store(0, now + 60 * DAY, DIR, now - 30 * DAY);
    await t.shelf.refresh();
    // Issued today for six days: later by issue, sooner by expiry.
    await t.store(1, now + 6 * DAY, DIR, now);
    await t.shelf.refresh();
    expect(t.puts).toHaveLength(2);
    expect(t.expiry()).toEqual([{ labels: { host: 'a.test' }, value: Math.floor((now + 6 * DAY) / 1000) }]);
  });

  it('tells two certificates with one notBefore (a CA that rounds it) apart by when they were stored', async () => {
    const t = setUp();
    const now = t.clock.now();
    await t.store(0, now + 60 * DAY, DIR, now - DAY, 200);
    await t.shelf.refresh();
    await t.store(1, now + 60 * DAY, DIR, now - DAY, 100);
    await t.shelf.refresh();
    expect(t.puts).toHaveLength(1);
    await t.store(2, now + 60 * DAY, DIR, now - DAY, 300);
    await t.shelf.refresh();
    expect(t.puts).toHaveLength(2);
  });

  it("serves the configured directory's certificate over another's, whatever their dates", async () => {
    const t = setUp();
    const now = t.clock.now();
    await t.store(0, now + 80 * DAY, 'https://staging.test/dir');
    await t.shelf.refresh();
    await t.store(1, now + 7 * DAY);
    await t.shelf.refresh();
    expect(t.puts).toHaveLength(2);
    await t.store(2, now + 80 * DAY, 'https://staging.test/dir');
    await t.shelf.refresh();
    expect(t.puts).toHaveLength(2);
  });

  it('serves an expired certificate, with a warning, when nothing is served for the host yet', async () => {
    const t = setUp();
    await t.store(0, t.clock.now() - DAY);
    await t.shelf.refresh();
    expect(t.puts).toHaveLength(1);
    expect(t.logs.map(([l, m]) => [l, m])).toEqual([['warn', 'serving an expired ACME certificate']]);
  });

  it('takes a host a reload removed out of the listener and the metrics, serves it again on return', async () => {
    const t = setUp();
    await t.store(0, t.clock.now() + 60 * DAY);
    await t.shelf.refresh();
    expect(t.book.covers('a.test')).toBe(true);
    t.setHosts([]);
    await t.shelf.refresh();
    await t.shelf.refresh();
    expect(t.book.covers('a.test')).toBe(false);
    expect(t.expiry()).toEqual([]);
    expect(t.logs.filter(([, m]) => m === 'ACME certificate no longer served: host removed')).toHaveLength(1);
    t.setHosts(['a.test']);
    await t.shelf.refresh();
    expect([t.book.covers('a.test'), t.puts.length, t.expiry().length]).toEqual([true, 2, 1]);
  });
});
