// Where the admin API is and the token for it: from --admin/--token or VEER_ADMIN_URL/VEER_ADMIN_TOKEN.
// A bad address or token is a usage error naming where it came from.
import { tokenProblem } from '../domain/admin-token.js';
import { err, ok, type Result } from '../domain/errors.js';
import type { OptionValues } from './args.js';
import { UsageError } from './args.js';

export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:9090';

export interface AdminTarget {
  url: string;
  token: string;
}

export function resolveAdmin(values: OptionValues, env: NodeJS.ProcessEnv): Result<AdminTarget, UsageError> {
  const source = values.admin !== undefined ? '--admin' : env.VEER_ADMIN_URL ? 'VEER_ADMIN_URL' : null;
  const url = values.admin ?? (env.VEER_ADMIN_URL || DEFAULT_ADMIN_URL);
  const problem = adminUrlProblem(url);
  if (problem !== null)
    return err(
      new UsageError(`${source ?? 'admin URL'}: ${problem}, got ${masked(url)} (expected http(s)://host:port)`),
    );
  const token = values.token ?? env.VEER_ADMIN_TOKEN ?? '';
  const bad = token === '' ? null : tokenProblem(token);
  if (bad !== null)
    return err(new UsageError(`${values.token !== undefined ? '--token' : 'VEER_ADMIN_TOKEN'}: ${bad}`));
  return ok({ url: url.replace(/\/+$/, ''), token });
}

/**
 * The URL as it may be echoed, quoted: its origin, with a password masked. A path, query or fragment is only
 * named: a CI variable like `http://h:9090/?token=…` must not end up in a build log.
 */
function masked(url: string): string {
  let u: URL | null = null;
  try {
    u = new URL(url);
  } catch {
    // Not a URL: shown up to its first ? or #, without what precedes an @.
  }
  if (u === null || (u.protocol !== 'http:' && u.protocol !== 'https:')) {
    const head = (url.split(/[?#]/, 1)[0] ?? '').replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/@]*@/i, '$1***@');
    return `"${head}"${head === url ? '' : ' followed by more (not shown)'}`;
  }
  const who = u.username === '' && u.password === '' ? '' : `${u.username}${u.password === '' ? '' : ':***'}@`;
  const hidden = [
    u.pathname !== '/' ? 'a path' : null,
    u.search !== '' || url.includes('?') ? 'a query' : null,
    u.hash !== '' || url.includes('#') ? 'a fragment' : null,
  ].filter((p) => p !== null);
  const rest = hidden.length === 0 ? '' : ` with ${hidden.join(' and ')} (not shown)`;
  return `"${u.protocol}//${who}${u.host}"${rest}`;
}

/**
 * Paths are appended to the address, so anything after host:port would end up in the middle of them
 * (`…/v1?x=1/v1/services`), and credentials in a URL would be sent in the clear: only an origin is taken.
 */
function adminUrlProblem(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a URL';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'must start with http:// or https://';
  if (u.username !== '' || u.password !== '') return 'must not hold credentials (use --token or VEER_ADMIN_TOKEN)';
  if (u.pathname !== '/' || u.search !== '' || u.hash !== '' || /[?#]/.test(url))
    return 'must be an origin only, without a path, a query or a fragment';
  return null;
}
