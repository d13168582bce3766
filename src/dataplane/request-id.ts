// Request ids: one per request, kept from a trusted peer (the rule X-Forwarded-For follows) when it is
// sane, generated otherwise. Generation is a per-process random prefix and a counter in base 36: no
// crypto call per request, and unique across replicas and restarts with overwhelming probability
// (the prefix draws ~52 bits).
import { randomInt } from 'node:crypto';
import type { Random } from '../domain/clock.js';

/** The operating system's entropy, as a Random: the prefix must differ between replicas and restarts. */
const entropy: Random = () => randomInt(2 ** 47) / 2 ** 47;

/** Longest id kept from a peer; a longer one is replaced. */
export const MAX_REQUEST_ID = 128;

// Letters, digits and - _ . : ; + / = @ ~ : enough for UUIDs, ULIDs, base64 and trace ids, and
// nothing that needs escaping in a header, a JSON string or an HTML page (no quote, <, >, &, \, space,
// comma).
const SAFE = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:;+/=@~') SAFE[c.charCodeAt(0)] = 1;

/** 1–128 characters, each from the safe set. */
export function isSaneRequestId(value: string): boolean {
  const n = value.length;
  if (n === 0 || n > MAX_REQUEST_ID) return false;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c >= 128 || SAFE[c] === 0) return false;
  }
  return true;
}

export class RequestIds {
  private readonly prefix: string;
  private counter = 0;

  /**
   * `random` is for tests only. The data plane's injected Random is not used: replicas given one seed would
   * share a prefix, and each draw here would shift the seeded split that tests count exactly.
   */
  constructor(random: Random = entropy) {
    // Two draws of 5 base-36 digits (~26 bits) each, fixed width, so prefix and
    // counter never run into each other.
    const part = (): string =>
      Math.floor(random() * 36 ** 5)
        .toString(36)
        .padStart(5, '0');
    this.prefix = `${part()}${part()}-`;
  }

  next(): string {
    this.counter++;
    return this.prefix + this.counter.toString(36);
  }

  /** The peer's value when it may be kept, else a new one. `incoming`: the header as Node joined it. */
  choose(incoming: string | string[] | undefined, trustedPeer: boolean): string {
    return trustedPeer && typeof incoming === 'string' && isSaneRequestId(incoming) ? incoming : this.next();
  }
}
