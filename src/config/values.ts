// The scalar values of the config and API bodies, each parsed into the form veer uses: durations
// ("30s" → ms), sizes ("10mb" → bytes), targets, listen addresses, weights (percent → basis
// points), host patterns and CIDRs. Each failure names what was expected.
import { isIP } from 'node:net';
import { z } from 'zod';
import { formatDuration, MAX_DURATION_MS, MAX_LIFETIME_MS, parseDuration } from '../domain/duration.js';
import { parseSize } from '../domain/size.js';
import { hostProblem, parseTarget, type TargetAddress } from '../domain/target.js';
import { percentToBp } from '../domain/weight.js';
import { describe } from './problems.js';

/** What a field of the wrong type is told (the generic "expected a string or a number" named no form). */
const DURATION_SHAPE = 'expected a duration like "500ms", "30s", "2m"';

const durationUpTo = (maxMs: number) =>
  z
    .union([z.string(), z.number()], { error: (i) => `${DURATION_SHAPE}, got ${describe(i.input)}` })
    .transform((v, ctx) => {
      const r = parseDuration(v, maxMs);
      if (!r.ok) {
        ctx.addIssue({ code: 'custom', message: r.message });
        return z.NEVER;
      }
      return r.ms;
    });

/** A duration (→ ms) without a default, for API bodies where absence means "keep the policy's". */
export const durationValue = durationUpTo(MAX_DURATION_MS);

/** A lifetime that no timer waits for (a cookie's Max-Age, a login session): longer than a timer's bound. */
export const lifetimeValue = durationUpTo(MAX_LIFETIME_MS);

export const positiveDurationValue = durationValue.refine((ms) => ms > 0, { message: 'must be a positive duration' });

/**
 * How often veer does something on its own (polls, judges, renews): at least `minMs`. Shorter gains
 * nothing (a judge reads whole seconds of metrics; a lease renewed every few ms only loads Redis) and
 * turns a typo ("1ms" for "1m") into a busy loop.
 */
export const periodValue = (minMs: number) =>
  positiveDurationValue.refine((ms) => ms >= minMs, { message: `must be at least ${formatDuration(minMs)}` });

export const duration = (def: string) => durationValue.prefault(def);
export const positiveDuration = (def: string) => positiveDurationValue.prefault(def);

export const targetString = z
  .string({ error: (i) => `expected a "host:port" string, got ${describe(i.input)}` })
  .transform((v, ctx): TargetAddress => {
    const r = parseTarget(v);
    if (!r.ok) {
      ctx.addIssue({ code: 'custom', message: r.message });
      return z.NEVER;
    }
    return r.target;
  });

/** "host:port" for a listener; host may be empty/"0.0.0.0"/"::"/"[::1]". */
export const listenAddress = z.string().transform((v, ctx) => {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$/.exec(v.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    ctx.addIssue({ code: 'custom', message: `expected "host:port" (port 0–65535), got "${v}"` });
    return z.NEVER;
  }
  // Checked here, where the field is named: `veer start` would only say getaddrinfo ENOTFOUND.
  const why = m[2] === '' ? null : hostProblem(m[1] ?? m[2] ?? '', m[1] !== undefined, true);
  if (why !== null) {
    ctx.addIssue({ code: 'custom', message: `${why}, got "${v}"` });
    return z.NEVER;
  }
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
});
export type ListenAddress = z.output<typeof listenAddress>;

export const percentWeight = z.number({ error: 'expected a number from 0 to 100' }).transform((v, ctx) => {
  const r = percentToBp(v);
  if (!r.ok) {
    ctx.addIssue({ code: 'custom', message: r.message });
    return z.NEVER;
  }
  return r.bp;
});

export const hostPattern = z
  .string()
  .min(1)
  .refine(
    (h) =>
      h === '*' ||
      /^(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.?(:\d+)?$/.test(h) ||
      /^\[[0-9A-Fa-f:.]+\](:\d+)?$/.test(h),
    {
      message: 'expected a host name, "*.example.com", "[::1]" or "*"',
    },
  );

/** An IP address or a CIDR block, v4 or v6. */
export const ipOrCidr = z.string().refine(
  (s) => {
    const [addr, bits, extra] = s.split('/');
    const v = isIP(addr ?? '');
    if (v === 0 || extra !== undefined) return false;
    if (bits === undefined) return true;
    const n = Number(bits);
    return /^\d+$/.test(bits) && n <= (v === 4 ? 32 : 128);
  },
  { message: 'expected an IP address or a CIDR block such as "10.0.0.0/8"' },
);

/** A byte size ("10mb", "512kb", or a number of bytes). */
export const sizeValue = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const r = parseSize(v);
  if (!r.ok) {
    ctx.addIssue({ code: 'custom', message: r.message });
    return z.NEVER;
  }
  return r.bytes;
});

/** An HTTP field name (RFC 9110 token). */
export const headerName = z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'must be a valid header name');
