// The dashboard's login sessions: a server-side table of random session ids, so the cookie carries
// nothing but an unguessable id (never the admin token), a logout really ends the session, and a
// reload that changes the token ends every session made with the old one. The table lives in this
// process: sessions end on restart, and a session made on one replica is unknown to the others.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { SESSION_COOKIE } from '../domain/session-cookie.js';

export { SESSION_COOKIE };
export const CSRF_HEADER = 'x-veer-csrf';
/** Beyond this many live sessions the oldest is dropped: a flood of logins costs bounded memory. */
export const MAX_SESSIONS = 1_000;

export interface Session {
  csrf: string;
  expiresAt: number;
}

interface Held extends Session {
  /** Digest of the admin token the session was made with. */
  token: Buffer;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export interface SessionOptions {
  ttlMs: number;
  now?: () => number;
  /** Random bytes (injected by tests). */
  random?: (n: number) => Buffer;
  max?: number;
}

export class Sessions {
  /** Keyed by the id's digest, so a lookup's timing says nothing about the ids held. */
  private readonly held = new Map<string, Held>();
  private readonly now: () => number;
  private readonly random: (n: number) => Buffer;

  constructor(private readonly o: SessionOptions) {
    if (!(o.ttlMs >= 1000)) throw new RangeError('session lifetime must be at least 1s');
    this.now = o.now ?? Date.now;
    this.random = o.random ?? randomBytes;
  }

  get ttlMs(): number {
    return this.o.ttlMs;
  }

  get size(): number {
    return this.held.size;
  }

  /** A new session for a caller who presented `token`; returns the cookie value and the session. */
  open(token: string): { id: string; session: Session } {
    this.sweep();
    const id = this.random(32).toString('base64url');
    const session = { csrf: this.random(32).toString('base64url'), expiresAt: this.now() + this.o.ttlMs };
    this.held.set(keyOf(id), { ...session, token: digest(token) });
    const max = this.o.max ?? MAX_SESSIONS;
    // A Map iterates in insertion order: the first key is the oldest session.
    while (this.held.size > max) this.held.delete(this.held.keys().next().value as string);
    return { id, session };
  }

  /** The live session of this cookie value, made with the current token; null otherwise. */
  find(id: string | undefined, token: string): Session | null {
    if (id === undefined || id === '' || id.length > 100) return null;
    const key = keyOf(id);
    const s = this.held.get(key);
    if (!s) return null;
    if (s.expiresAt <= this.now() || !timingSafeEqual(s.token, digest(token))) {
      this.held.delete(key);
      return null;
    }
    return { csrf: s.csrf, expiresAt: s.expiresAt };
  }

  close(id: string | undefined): void {
    if (id !== undefined) this.held.delete(keyOf(id));
  }

  private sweep(): void {
    const now = this.now();
    for (const [k, s] of this.held) if (s.expiresAt <= now) this.held.delete(k);
  }
}

const keyOf = (id: string): string => digest(id).toString('base64url');

/** The header proves the caller could read /ui/session, which a cross-site page cannot. */
export function csrfMatches(header: string | string[] | undefined, session: Session): boolean {
  const h = Array.isArray(header) ? header[0] : header;
  if (h === undefined || h === '') return false;
  return timingSafeEqual(digest(h), digest(session.csrf));
}

/** One cookie's value from a Cookie header (the first one of that name). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The Set-Cookie value; `secure` when the admin is reached over https. */
export function sessionCookie(id: string, maxAgeMs: number, secure: boolean): string {
  const parts = [
    `${SESSION_COOKIE}=${id}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${Math.floor(maxAgeMs / 1000)}`,
  ];
  if (secure) parts.push('Secure');
  return parts.join('; ');
}
