// The HTML pages veer answers with by itself: a service's configured error and maintenance pages,
// read when the service set is applied (start, reload), and built-in ones otherwise. HTML goes only
// to a client that asks for it (a browser's Accept); API clients keep the JSON body.
import { createHash } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { readPageFile } from '../config/page-files.js';
import type { ServiceConfig } from '../config/schema.js';
import type { Logger } from '../domain/log.js';

export type PageStatus = 502 | 503 | 504;

export interface ServicePages {
  errors: Partial<Record<PageStatus, Buffer>>;
  maintenance: Buffer;
  /** Seconds, for Retry-After. */
  retryAfterS: number;
  holdTimeoutMs: number;
  maxHeld: number;
  /**
   * What the files held when read ('' with none): a worker reads them again when the primary's stamp changes
   * (a reload after a page was edited), not only when the config does.
   */
  stamp: string;
}

const escape = (s: string): string =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);

export function builtinPage(status: number, message: string): Buffer {
  const title = `${status} ${STATUS_CODES[status] ?? ''}`.trim();
  return Buffer.from(
    `<!doctype html>\n<html><head><meta charset="utf-8"><title>${escape(title)}</title></head>` +
      `<body><h1>${escape(title)}</h1><p>${escape(message)}</p></body></html>\n`,
  );
}

export const MAINTENANCE_PAGE = builtinPage(503, 'This service is down for maintenance. Please try again shortly.');

/** A file that cannot be read (it was checked when the config was loaded) falls back to the built-in page. */
function read(path: string | undefined, what: string, log: Logger): Buffer | undefined {
  if (path === undefined) return undefined;
  const r = readPageFile(path);
  if (r.ok) return r.value;
  log.log('warn', `cannot read ${what}; the built-in page is used`, { path, error: r.error });
  return undefined;
}

export function readPages(c: ServiceConfig, log: Logger): ServicePages {
  const errors: Partial<Record<PageStatus, Buffer>> = {};
  const hash = createHash('sha256');
  const stamped = (page: Buffer | undefined, slot: string): Buffer | undefined => {
    if (page !== undefined) hash.update(`${slot}:${page.length}:`).update(page);
    return page;
  };
  for (const status of [502, 503, 504] as const) {
    const page = stamped(read(c.errorPages[status], `services[${c.name}].errorPages.${status}`, log), String(status));
    if (page !== undefined) errors[status] = page;
  }
  const m = c.maintenance;
  const maintenance = stamped(read(m.page, `services[${c.name}].maintenance.page`, log), 'maintenance');
  const files = Object.keys(errors).length > 0 || maintenance !== undefined;
  return {
    errors,
    maintenance: maintenance ?? MAINTENANCE_PAGE,
    stamp: files ? hash.digest('base64url') : '',
    retryAfterS: Math.max(1, Math.ceil(m.retryAfter / 1000)),
    holdTimeoutMs: m.holdTimeout,
    maxHeld: m.maxHeld,
  };
}

/** An explicit `text/html` (not `*\/*`, which curl and API clients send) that is not refused with q=0. */
export function wantsHtml(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  return accept.split(',').some((part) => {
    const [type, ...params] = part.split(';').map((x) => x.trim().toLowerCase());
    if (type !== 'text/html') return false;
    const q = params.find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}
