// The configured files kept in the book: a changed pair that clients would refuse (expired, not valid
// yet) does not replace a valid one, by a poll or by a reload; with nothing valid served, it is served
// with a warning so the site comes up.
import { afterAll, describe, expect, it } from 'vitest';
import { CertificateBook } from '../../../src/dataplane/certificate-book.js';
import { readCertificate, validityProblem } from '../../../src/dataplane/certificate-file.js';
import { CertificateWatch } from '../../../src/dataplane/certificate-watch.js';
import type { Problem } from '../../../src/domain/errors.js';
import type { LogLevel } from '../../../src/domain/log.js';
import { testCa } from '../../helpers/certs.js';
import { manualClock } from '../../helpers/veer.js';

const ca = testCa();
afterAll(() => ca.remove());

// A minute on: the pairs the test CA issues are valid from the moment they are made.
function setUp() {
  const book = new CertificateBook();
  const logs: Array<[LogLevel, string]> = [];
  const problems: Problem[][] = [];
  const log = { log: (l: LogLevel, m: string) => logs.push([l, m]) };
  const watch = new CertificateWatch(book, 60_000, log, (p) => problems.push([...p]), manualClock(Date.now() + 60_000));
  return { book, logs, problems, watch };
}

describe('CertificateWatch', () => {
  it('keeps a valid certificate when its files change to an expired pair, and says so once', () => {
    const t = setUp();
    const files = ca.issue(['a.test'], { file: 'poll' });
    expect(t.watch.load({ certificates: [files] })).toEqual([]);
    const valid = t.book.lookup('a.test');
    ca.issue(['a.test'], { file: 'poll', expired: true });
    t.watch.poll();
    t.watch.poll();
    expect(t.book.lookup('a.test')).toBe(valid);
    const message = `"${files.cert}" expired on 2020-01-02T00:00:00.000Z`;
    expect(t.logs).toEqual([['warn', `certificate change not applied: ${message}`]]);
    expect(t.problems).toEqual([[{ path: 'tls.certificates[0].cert', message }]]);
    // A valid pair written next is served.
    ca.issue(['a.test'], { file: 'poll' });
    t.watch.poll();
    expect(t.book.lookup('a.test')).not.toBe(valid);
    expect(t.logs[1]).toEqual(['info', 'certificate reloaded']);
  });

  it('a reload keeps a valid certificate whose files now hold an expired copy, and applies the rest', () => {
    const t = setUp();
    const [a, b, c] = [ca.issue(['a.test'], { file: 'ra' }), ca.issue(['b.test']), ca.issue(['c.test'])];
    expect(t.watch.load({ certificates: [a, b, c] })).toEqual([]);
    const valid = t.book.lookup('a.test');
    ca.issue(['a.test'], { file: 'ra', expired: true });
    // Another order, b left out: judged by files, not by place in the list; nothing is refused.
    expect(t.watch.load({ certificates: [c, a] })).toEqual([]);
    expect(t.book.lookup('a.test')).toBe(valid);
    expect(t.book.covers('b.test')).toBe(false);
    expect(t.book.covers('c.test')).toBe(true);
    const message = `"${a.cert}" expired on 2020-01-02T00:00:00.000Z`;
    expect(t.logs).toEqual([['warn', `certificate change not applied: ${message}`]]);
    expect(t.problems).toEqual([[{ path: 'tls.certificates[1].cert', message }]]);
    // Reported once: a poll of the same files, or another reload, says nothing more.
    t.watch.poll();
    expect(t.watch.load({ certificates: [c, a] })).toEqual([]);
    expect(t.logs).toHaveLength(1);
    expect(t.book.lookup('a.test')).toBe(valid);
  });

  it('a reload to other files that are expired serves them, with a warning (the config asks for them)', () => {
    const t = setUp();
    const [good, old] = [ca.issue(['a.test']), ca.issue(['a.test'], { expired: true })];
    t.watch.load({ certificates: [good] });
    expect(t.watch.load({ certificates: [old] })).toEqual([]);
    expect(t.logs).toEqual([
      ['warn', `serving a certificate clients will refuse: "${old.cert}" expired on 2020-01-02T00:00:00.000Z`],
    ]);
  });

  it('serves an expired pair with a warning when nothing valid is served for its place', () => {
    const t = setUp();
    const old = ca.issue(['a.test'], { expired: true });
    expect(t.watch.load({ certificates: [], defaultCertificate: old })).toEqual([]);
    expect(t.book.defaultEntry).not.toBeNull();
    expect(t.logs).toEqual([
      ['warn', `serving a certificate clients will refuse: "${old.cert}" expired on 2020-01-02T00:00:00.000Z`],
    ]);
  });

  it('a changed pair not valid yet is served once it is valid, with no file moving meanwhile', () => {
    // The clock stands on 2020-01-01 noon: the "expired" pair is valid then, a fresh one not yet.
    const clock = manualClock(Date.UTC(2020, 0, 1, 12));
    const book = new CertificateBook();
    const logs: string[] = [];
    let reads = 0;
    const read: typeof readCertificate = (files, source) => (reads++, readCertificate(files, source));
    const watch = new CertificateWatch(book, 60_000, { log: (_l, m) => logs.push(m) }, () => {}, clock, read);
    expect(watch.load({ certificates: [ca.issue(['a.test'], { file: 'ny', expired: true })] })).toEqual([]);
    const old = book.lookup('a.test');
    ca.issue(['a.test'], { file: 'ny' });
    watch.poll();
    const read1 = reads;
    // Not read again until it is valid: no file moved.
    for (let i = 0; i < 10; i++) watch.poll();
    expect(reads).toBe(read1);
    expect(book.lookup('a.test')).toBe(old);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/^certificate change not applied: ".+" is not valid before /);
    clock.advance(Date.now() + 60_000 - clock.now());
    watch.poll();
    expect(book.lookup('a.test')).not.toBe(old);
    expect(logs[1]).toBe('certificate reloaded');
  });

  it('tells a certificate not valid yet from an expired one', () => {
    const files = { cert: '/c.pem', key: '/k.pem' };
    const c = { notBefore: new Date(2_000), notAfter: new Date(5_000) };
    expect(validityProblem(files, c, 'p', 1_000)?.message).toBe(
      '"/c.pem" is not valid before 1970-01-01T00:00:02.000Z',
    );
    expect(validityProblem(files, c, 'p', 3_000)).toBeNull();
    expect(validityProblem(files, c, 'p', 5_000)?.path).toBe('p.cert');
  });
});
