// Which clients get HTML, and the page files a config names being checked where validate looks.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_PAGE_BYTES } from '../../../src/config/page-files.js';
import { parseConfigObject } from '../../../src/config/load.js';
import { builtinPage, wantsHtml } from '../../../src/dataplane/pages.js';

describe('wantsHtml', () => {
  it('is true for a browser, false for API clients, curl and a refused text/html', () => {
    expect(wantsHtml('text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8')).toBe(true);
    expect(wantsHtml('TEXT/HTML')).toBe(true);
    expect(wantsHtml(undefined)).toBe(false);
    expect(wantsHtml('*/*')).toBe(false);
    expect(wantsHtml('application/json')).toBe(false);
    expect(wantsHtml('text/html;q=0, application/json')).toBe(false);
  });

  it('the built-in page escapes what it shows', () => {
    expect(builtinPage(502, '<x> & "y"').toString()).toContain('<p>&lt;x&gt; &amp; &quot;y&quot;</p>');
  });
});

describe('page files in the config', () => {
  it('a page that cannot be read is a problem naming the field', () => {
    const r = parseConfigObject(
      {
        state: { store: 'memory' },
        services: [
          {
            name: 'web',
            stable: { targets: ['127.0.0.1:1'] },
            errorPages: { 503: '/nonexistent/503.html' },
            maintenance: { page: '/nonexistent/down.html', retryAfter: '1m' },
          },
        ],
      },
      {},
      { localAddresses: new Set(['127.0.0.1']) },
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.problems).toEqual([
      { path: 'services[0].errorPages.503', message: '/nonexistent/503.html: no such file' },
      { path: 'services[0].maintenance.page', message: '/nonexistent/down.html: no such file' },
    ]);
  });

  it('a page larger than 1 MiB, a directory or a named pipe is a problem naming the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'veer-pages-'));
    const big = join(dir, 'big.html');
    writeFileSync(big, Buffer.alloc(MAX_PAGE_BYTES + 1, 'x'));
    writeFileSync(join(dir, 'ok.html'), Buffer.alloc(MAX_PAGE_BYTES, 'x'));
    const fifo = join(dir, 'pipe.html');
    execFileSync('mkfifo', [fifo]);
    try {
      const r = parseConfigObject(
        {
          state: { store: 'memory' },
          services: [
            {
              name: 'web',
              stable: { targets: ['127.0.0.1:1'] },
              errorPages: { 502: join(dir, 'ok.html'), 503: big, 504: dir },
              maintenance: { page: fifo },
            },
          ],
        },
        {},
        { localAddresses: new Set(['127.0.0.1']) },
      );
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.error.problems).toEqual([
        { path: 'services[0].errorPages.503', message: `${big}: it is larger than 1 MiB, the most read` },
        { path: 'services[0].errorPages.504', message: `${dir}: it is a directory` },
        { path: 'services[0].maintenance.page', message: `${fifo}: not a regular file (a named pipe)` },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('defaults: no error pages, Retry-After 30 s, hold 30 s, at most 1000 held', () => {
    const r = parseConfigObject({ state: { store: 'memory' }, services: [{ name: 'web' }] }, {});
    expect(r.ok && r.value.services[0]).toMatchObject({
      errorPages: {},
      maintenance: { retryAfter: 30_000, holdTimeout: 30_000, maxHeld: 1000 },
    });
  });
});
