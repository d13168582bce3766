// The dashboard's files: the page, its script and style from the package's `ui/` folder, and uPlot
// from its own package (a runtime dependency), all served by veer itself so the page works on a
// machine without internet. Read once, on the first request; a missing file is a clear 500 naming it.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { errorMessage, VeerError } from '../domain/errors.js';

export interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/** Served name → where it lives. The page's own files are next to the compiled code's package root. */
function sources(): Record<string, { path: string; type: string }> {
  const ui = (f: string): string => fileURLToPath(new URL(`../../ui/${f}`, import.meta.url));
  const uplot = (f: string): string => createRequire(import.meta.url).resolve(`uplot/dist/${f}`);
  return {
    'app.js': { path: ui('app.js'), type: JS },
    'views.js': { path: ui('views.js'), type: JS },
    'service.js': { path: ui('service.js'), type: JS },
    'api.js': { path: ui('api.js'), type: JS },
    'style.css': { path: ui('style.css'), type: CSS },
    'uplot.js': { path: uplot('uPlot.iife.min.js'), type: JS },
    'uplot.css': { path: uplot('uPlot.min.css'), type: CSS },
  };
}

export const PAGE_FILE = 'index.html';

export class UiAssets {
  private cache: { assets: Map<string, Asset>; page: Asset } | null = null;

  /** The page, its asset links carrying a digest of every asset, so a new version is never cached stale. */
  page(): Asset {
    return this.load().page;
  }

  asset(name: string): Asset | undefined {
    return this.load().assets.get(name);
  }

  private load(): { assets: Map<string, Asset>; page: Asset } {
    if (this.cache) return this.cache;
    const assets = new Map<string, Asset>();
    const all = createHash('sha256');
    for (const [name, { path, type }] of Object.entries(sources())) {
      const body = read(path);
      const etag = createHash('sha256').update(body).digest('base64url').slice(0, 16);
      all.update(etag);
      assets.set(name, { body, type, etag: `"${etag}"` });
    }
    const v = all.digest('base64url').slice(0, 12);
    const html = read(fileURLToPath(new URL(`../../ui/${PAGE_FILE}`, import.meta.url)))
      .toString('utf8')
      .replaceAll('{{v}}', v);
    const body = Buffer.from(html, 'utf8');
    const page = { body, type: 'text/html; charset=utf-8', etag: `"${v}"` };
    this.cache = { assets, page };
    return this.cache;
  }
}

function read(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new VeerError('ui_missing', 500, `the dashboard's file ${path} cannot be read: ${errorMessage(e)}`);
  }
}
