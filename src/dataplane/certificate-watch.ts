// The configured certificate files, kept in the CertificateBook while veer runs. Files are polled
// (stat every `intervalMs`; watch events are lost on editors' rename-over and on some mounts): a
// changed pair is re-read and served to new connections; a pair that no longer reads (half-written,
// mismatched key) keeps the previous certificate and is reported once per change. So does a pair that
// reads but that clients would refuse (expired, not valid yet) while the one served is valid: an old
// backup copied back must not take a site down. With nothing valid served, such a pair is served (the
// site comes up under its names, as before) with a warning.
import { statSync } from 'node:fs';
import { systemClock, type Clock } from '../domain/clock.js';
import type { Problem } from '../domain/errors.js';
import type { Logger } from '../domain/log.js';
import type { CertificateBook } from './certificate-book.js';
import { readCertificate, validityProblem, type CertificateFiles, type LoadedCertificate } from './certificate-file.js';

/** The pairs to serve: each under its config path, the default one under "tls.defaultCertificate". */
export interface CertificateSet {
  certificates: readonly CertificateFiles[];
  defaultCertificate?: CertificateFiles | undefined;
}

interface Watched {
  source: string;
  files: CertificateFiles;
  /** mtime, size and inode of both files at the last read: a poll re-reads only when one moved. */
  stamp: string;
  /** When a refused pair that was not valid yet becomes valid: read again then, though no file moved. */
  recheckAt?: number;
  pem: string;
  /** The certificate served for this source. */
  loaded: LoadedCertificate;
  /** The validity of the certificate served for this source. */
  notBefore: Date;
  notAfter: Date;
  /** The pair last refused for its dates (cert + key PEM), so it is reported once. */
  refused: string | null;
}

const DEFAULT_SOURCE = 'tls.defaultCertificate';

function stampOf(files: CertificateFiles): string {
  try {
    return [files.cert, files.key]
      .map((f) => statSync(f))
      .map((s) => `${s.mtimeMs}:${s.size}:${s.ino}`)
      .join('|');
  } catch {
    return 'missing';
  }
}

export class CertificateWatch {
  private watched: Watched[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly book: CertificateBook,
    private readonly intervalMs: number,
    private readonly log: Logger,
    /** Told about a changed pair that could not be used (the old certificate keeps serving). */
    private readonly onProblem: (problems: readonly Problem[]) => void = () => {},
    private readonly clock: Clock = systemClock,
    /** How a pair is read (a test counts the reads). */
    private readonly read: typeof readCertificate = readCertificate,
  ) {}

  /**
   * Serves exactly `set` from now on (also the way a config reload swaps certificates), or changes
   * nothing and returns every problem (a pair that does not read). Open connections keep the
   * certificate they were handshaked with. A pair that reads but that clients would refuse is judged as
   * a poll judges it, by its files: when the same files served a valid pair, that one keeps serving
   * (an old copy over the files is no reason to refuse a reload of everything else); otherwise it is
   * served with a warning, as the config asks.
   */
  load(set: CertificateSet): Problem[] {
    const pairs = set.certificates.map((files, i) => ({ source: `tls.certificates[${i}]`, files }));
    if (set.defaultCertificate !== undefined) pairs.push({ source: DEFAULT_SOURCE, files: set.defaultCertificate });
    const now = this.clock.now();
    const problems: Problem[] = [];
    const next: Array<{ w: Watched; invalid: Problem | null; refused?: LoadedCertificate }> = [];
    for (const { source, files } of pairs) {
      const stamp = stampOf(files);
      const r = this.read(files, source);
      if (!r.ok) {
        problems.push(...r.problems);
        continue;
      }
      const invalid = validityProblem(files, r.value, source, now);
      const kept = invalid === null ? undefined : this.validFor(files, now);
      if (kept !== undefined && kept.pem !== r.value.cert + r.value.key)
        next.push({ w: { ...kept, source, stamp }, invalid, refused: r.value });
      else next.push({ w: { source, files, stamp, ...this.served(r.value) }, invalid });
    }
    if (problems.length > 0) return problems;
    for (const { w } of next) {
      if (w.source === DEFAULT_SOURCE) this.book.setDefault(w.loaded);
      else this.book.put(w.source, w.loaded);
    }
    for (const old of this.watched) if (!next.some(({ w }) => w.source === old.source)) this.book.remove(old.source);
    if (set.defaultCertificate === undefined) this.book.setDefault(null);
    this.watched = next.map(({ w }) => w);
    for (const { w, invalid, refused } of next) {
      if (refused !== undefined && invalid !== null) this.refuse(w, refused, invalid);
      else if (invalid !== null)
        this.log.log('warn', `serving a certificate clients will refuse: ${invalid.message}`, { ...invalid });
    }
    return [];
  }

  start(): void {
    if (this.timer !== null) return;
    const tick = (): void => {
      this.poll();
      this.timer = setTimeout(tick, this.intervalMs).unref();
    };
    this.timer = setTimeout(tick, this.intervalMs).unref();
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** One pass over the files; public so that a reload or a test can ask for it now. */
  poll(): void {
    for (const w of this.watched) {
      const stamp = stampOf(w.files);
      if (stamp === w.stamp && (w.recheckAt === undefined || this.clock.now() < w.recheckAt)) continue;
      w.stamp = stamp;
      delete w.recheckAt;
      const r = this.read(w.files, w.source);
      if (!r.ok) {
        this.log.log('warn', 'certificate change not applied: the previous certificate keeps serving', {
          problems: r.problems,
        });
        this.onProblem(r.problems);
        continue;
      }
      if (r.value.cert + r.value.key === w.pem) continue;
      const now = this.clock.now();
      const invalid = validityProblem(w.files, r.value, w.source, now);
      if (invalid !== null && validityProblem(w.files, w, w.source, now) === null) {
        this.refuse(w, r.value, invalid);
        continue;
      }
      Object.assign(w, this.served(r.value));
      if (w.source === DEFAULT_SOURCE) this.book.setDefault(r.value);
      else this.book.put(w.source, r.value);
      if (invalid === null) this.log.log('info', 'certificate reloaded', { source: w.source, names: r.value.names });
      else this.log.log('warn', `certificate reloaded, but clients will refuse it: ${invalid.message}`, { ...invalid });
    }
  }

  /** Reported once per pair; one not valid yet is read again once it is (a clock apart, say), not before. */
  private refuse(w: Watched, c: LoadedCertificate, invalid: Problem): void {
    if (c.notBefore.getTime() > this.clock.now()) w.recheckAt = c.notBefore.getTime();
    if (w.refused === c.cert + c.key) return;
    w.refused = c.cert + c.key;
    this.log.log('warn', `certificate change not applied: ${invalid.message}`, {
      source: w.source,
      serving: `the previous certificate, valid until ${w.notAfter.toISOString()}`,
    });
    this.onProblem([invalid]);
  }

  private served(c: LoadedCertificate): Pick<Watched, 'pem' | 'loaded' | 'notBefore' | 'notAfter' | 'refused'> {
    return { pem: c.cert + c.key, loaded: c, notBefore: c.notBefore, notAfter: c.notAfter, refused: null };
  }

  /** What these same files serve now, when it is within its validity dates (wherever the list puts it). */
  private validFor(files: CertificateFiles, now: number): Watched | undefined {
    return this.watched.find(
      (w) =>
        w.files.cert === files.cert && w.files.key === files.key && validityProblem(w.files, w, w.source, now) === null,
    );
  }
}
