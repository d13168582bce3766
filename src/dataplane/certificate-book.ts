// Which certificate a TLS handshake gets, by the name the client asked for (SNI). The port through
// which certificates reach the listener: the configured files (certificate-watch.ts) put theirs,
// and anything else that obtains certificates (an ACME client, a config reload) puts or removes
// its own under its own source id. Handshakes read an index rebuilt on every change.
import type { SecureContext } from 'node:tls';

export interface BookEntry {
  /** Lower-case DNS names; "*.example.com" covers exactly one more label. */
  names: readonly string[];
  context: SecureContext;
  /** Gives way to every other source for a shared name (ACME: configured files win), whatever the order. */
  yields?: boolean;
}

/** The default certificate also as PEM: clients that send no name get the listener's own context. */
export interface DefaultEntry {
  context: SecureContext;
  cert: string;
  key: string;
}

export class CertificateBook {
  private readonly entries = new Map<string, BookEntry>();
  private exact = new Map<string, SecureContext>();
  private wildcard = new Map<string, SecureContext>();
  /** The names entries that do not yield cover (exact, and wildcards as "*.x"). */
  private firm = new Set<string>();
  private fallback: DefaultEntry | null = null;
  private readonly listeners: Array<() => void> = [];

  /** Adds or replaces the certificate of `source` (e.g. "tls.certificates[0]"). Earlier sources win a shared name. */
  put(source: string, entry: BookEntry): void {
    this.entries.set(source, entry);
    this.reindex();
  }

  remove(source: string): void {
    if (this.entries.delete(source)) this.reindex();
  }

  /** The certificate for names no entry covers (and clients sending no name); null: refuse them. */
  setDefault(entry: DefaultEntry | null): void {
    this.fallback = entry;
    for (const l of this.listeners) l();
  }

  get defaultEntry(): DefaultEntry | null {
    return this.fallback;
  }

  /** Called after every change of the default certificate (the listener serves it to clients without SNI). */
  onDefaultChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Exact name first, then a wildcard one label up, then the default; undefined: no certificate. */
  lookup(servername: string): SecureContext | undefined {
    return this.covering(servername) ?? this.fallback?.context;
  }

  /** Whether a certificate names this host (the default certificate does not count). */
  covers(host: string): boolean {
    return this.covering(host) !== undefined;
  }

  /** Whether a source that does not yield (a configured file) names this host, exactly or by wildcard. */
  coversFirmly(host: string): boolean {
    const name = host.toLowerCase().replace(/\.$/, '');
    const dot = name.indexOf('.');
    return this.firm.has(name) || (dot > 0 && this.firm.has(`*${name.slice(dot)}`));
  }

  private covering(servername: string): SecureContext | undefined {
    const name = servername.toLowerCase().replace(/\.$/, '');
    const hit = this.exact.get(name);
    if (hit !== undefined) return hit;
    const dot = name.indexOf('.');
    return dot > 0 ? this.wildcard.get(name.slice(dot + 1)) : undefined;
  }

  private reindex(): void {
    const exact = new Map<string, SecureContext>();
    const wildcard = new Map<string, SecureContext>();
    const all = [...this.entries.values()];
    const ordered = [...all.filter((e) => e.yields !== true), ...all.filter((e) => e.yields === true)];
    this.firm = new Set(all.filter((e) => e.yields !== true).flatMap((e) => e.names));
    for (const { names, context } of ordered)
      for (const n of names) {
        if (n.startsWith('*.')) {
          if (!wildcard.has(n.slice(2))) wildcard.set(n.slice(2), context);
        } else if (!exact.has(n)) exact.set(n, context);
      }
    [this.exact, this.wildcard] = [exact, wildcard];
  }
}
