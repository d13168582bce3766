// The configured certificate files, kept in the CertificateBook while veer runs. Files are polled
// (stat every `intervalMs`; watch events are lost on editors' rename-over and on some mounts): a
// changed pair is re-read and served to new connections; a pair that no longer reads (half-written,
// mismatched key) keeps the previous certificate and is reported once per change.
import { statSync } from 'node:fs';
import type { Problem } from '../domain/errors.js';
import type { Logger } from '../domain/log.js';
import type { CertificateBook } from './certificate-book.js';
import { readCertificate, type CertificateFiles } from './certificate-file.js';

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
  pem: string;
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
  ) {}

  /**
   * Serves exactly `set` from now on (also the way a config reload swaps certificates), or changes
   * nothing and returns every problem. Open connections keep the certificate they were handshaked with.
   */
  load(set: CertificateSet): Problem[] {
    const pairs = set.certificates.map((files, i) => ({ source: `tls.certificates[${i}]`, files }));
    if (set.defaultCertificate !== undefined) pairs.push({ source: DEFAULT_SOURCE, files: set.defaultCertificate });
    const problems: Problem[] = [];
    const reads = pairs.map(({ source, files }) => ({
      source,
      files,
      stamp: stampOf(files),
      r: readCertificate(files, source),
    }));
    for (const { r } of reads) if (!r.ok) problems.push(...r.problems);
    if (problems.length > 0) return problems;
    const next: Watched[] = [];
    for (const { source, files, stamp, r } of reads) {
      if (!r.ok) continue;
      next.push({ source, files, stamp, pem: r.value.cert + r.value.key });
      if (source === DEFAULT_SOURCE) this.book.setDefault(r.value);
      else this.book.put(source, r.value);
    }
    for (const old of this.watched) if (!next.some((w) => w.source === old.source)) this.book.remove(old.source);
    if (set.defaultCertificate === undefined) this.book.setDefault(null);
    this.watched = next;
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
      if (stamp === w.stamp) continue;
      w.stamp = stamp;
      const r = readCertificate(w.files, w.source);
      if (!r.ok) {
        this.log.log('warn', 'certificate change not applied: the previous certificate keeps serving', {
          problems: r.problems,
        });
        this.onProblem(r.problems);
        continue;
      }
      if (r.value.cert + r.value.key === w.pem) continue;
      w.pem = r.value.cert + r.value.key;
      if (w.source === DEFAULT_SOURCE) this.book.setDefault(r.value);
      else this.book.put(w.source, r.value);
      this.log.log('info', 'certificate reloaded', { source: w.source, names: r.value.names });
    }
  }
}
