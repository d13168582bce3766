// Targeting rules on the hot path: compiled once when a route's rules change (header names
// lowercased, each RegExp built once), then tried on every request of the service. The Cookie header
// is parsed, and the query string split, only when a rule needs them, and at most once per request.
import type { IncomingHttpHeaders } from 'node:http';
import { ruleParts, type TargetingRule } from '../domain/targeting.js';
import { compileRuleRegex } from './rule-regex.js';

/**
 * A value longer than this never matches a regex rule: the value is the client's, and a rule's
 * regex (the operator's) must not cost more per request than a bounded scan.
 */
export const MAX_TESTED_LENGTH = 1024;

interface CompiledRule {
  /** Lowercase for headers; as written for cookies and query parameters (both case-sensitive). */
  readonly name: string;
  readonly test: (value: string) => boolean;
}

export interface Targeting {
  readonly headers: readonly CompiledRule[];
  readonly cookies: readonly CompiledRule[];
  readonly queries: readonly CompiledRule[];
}

const present = (): boolean => true;

/**
 * null when there is no rule (the request path skips targeting with one check). A rule whose regex
 * does not compile, or could take exponential time (validation refuses both; a record written by hand may
 * not), is left out and told.
 */
export function compileTargeting(rules: readonly TargetingRule[], refuse: (why: string) => void): Targeting | null {
  const out = { headers: [] as CompiledRule[], cookies: [] as CompiledRule[], queries: [] as CompiledRule[] };
  rules.forEach((rule, i) => {
    const { source, match } = ruleParts(rule);
    let test: (v: string) => boolean = present;
    if (match.value !== undefined) {
      const want = match.value;
      test = (v) => v === want;
    } else if (match.regex !== undefined) {
      const r = compileRuleRegex(match.regex);
      if (!r.ok) {
        refuse(`targeting rule ${i} ignored: its regex ${r.message}`);
        return;
      }
      const re = r.re;
      test = (v) => v.length <= MAX_TESTED_LENGTH && re.test(v);
    }
    if (source === 'header') out.headers.push({ name: match.name.toLowerCase(), test });
    else if (source === 'cookie') out.cookies.push({ name: match.name, test });
    else out.queries.push({ name: match.name, test });
  });
  return out.headers.length + out.cookies.length + out.queries.length === 0 ? null : out;
}

/** Whether the request matches any rule. `url` is the request target as routed (path and query). */
export function isTargeted(t: Targeting, headers: IncomingHttpHeaders, url: string): boolean {
  for (const r of t.headers) {
    const v = headers[r.name];
    if (v === undefined) continue;
    if (typeof v === 'string' ? r.test(v) : v.some(r.test)) return true;
  }
  if (t.cookies.length > 0 && headers.cookie !== undefined) {
    const jar = parseCookies(headers.cookie);
    for (const r of t.cookies) if (anyMatch(jar.get(r.name), r)) return true;
  }
  if (t.queries.length > 0) {
    const q = url.indexOf('?');
    if (q !== -1) {
      const params = new URLSearchParams(url.slice(q + 1));
      for (const r of t.queries) if (anyMatch(params.getAll(r.name), r)) return true;
    }
  }
  return false;
}

function anyMatch(values: readonly string[] | undefined, r: CompiledRule): boolean {
  return values !== undefined && values.some(r.test);
}

/** Cookie pairs by name, every value a name has (RFC 6265 §5.4: `name=value` separated by "; "). */
export function parseCookies(header: string): Map<string, string[]> {
  const jar = new Map<string, string[]>();
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq === -1) continue;
    const name = pair.slice(0, eq).trim();
    let value = pair.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    const seen = jar.get(name);
    if (seen) seen.push(value);
    else jar.set(name, [value]);
  }
  return jar;
}
