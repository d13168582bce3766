// The dashboard's page logic in Debian's chromium (playwright-core) against the admin API on fakes: a live
// event that arrives while a service page loads is kept, and an address that cannot be decoded says so.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import type { SeriesView } from '../../src/api/ports.js';
import { buildApp } from '../../src/api/app.js';
import { silentLogger } from '../../src/domain/log.js';
import type { RolloutEvent } from '../../src/domain/rollout.js';
import { EventLog } from '../../src/rollout/events.js';
import { waitFor, withTimeout } from '../helpers/process.js';
import { FakeDirectory, fakeDeps, fakeService } from '../unit/api/fake-directory.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await withTimeout(fn(), 10_000, 'cleanup');
});

const now = Math.floor(Date.now() / 1000);
const fig = { seconds: 10, rps: 1, errorRate: 0, p99Ms: 1 };
const point = { requests: [1], errors: [0], p50Ms: [1], p99Ms: [2] };
const series: SeriesView = {
  source: 'local',
  settleMs: 200,
  newest: () => now,
  columns: () => ({ t: [now], stable: point, canary: point }),
  recent: () => ({ stable: fig, canary: fig }),
  onSecond: () => () => undefined,
};

async function open(): Promise<{ events: EventLog; page: Page; url: string; problems: string[] }> {
  const events = new EventLog({ clock: { now: () => Date.now() } });
  const app: FastifyInstance = buildApp(fakeDeps(new FakeDirectory([fakeService('web')]), { events, series }), {
    logger: silentLogger,
  });
  cleanups.push(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const browser: Browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  cleanups.push(() => browser.close());
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/ui`;
  return { events, page, url, problems };
}

const append = (events: EventLog, kind: RolloutEvent['kind'], message: string): RolloutEvent =>
  events.append({ service: 'web', rolloutId: 'r-1', kind, phase: 'progressing', weight: 10, message });

const listed = (page: Page): Promise<string[]> =>
  page.$$eval('ol.events li', (items) => items.map((li) => li.textContent ?? ''));

describe('dashboard page', () => {
  it('keeps a live event that arrives while the service page loads, and shows each event once', async () => {
    const { events, page, url, problems } = await open();
    append(events, 'started', 'old event');
    await page.goto(url, { timeout: 10_000 });
    await page.waitForSelector('table.services', { timeout: 10_000 });
    await waitFor(() => events.subscriberCount === 1, { timeoutMs: 10_000, what: "the page's event stream" });
    // The series answer is held until the live event has been shown: load() is still waiting then.
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    cleanups.push(async () => release());
    await page.route('**/series?seconds=900', async (route) => {
      await withTimeout(held, 10_000, 'the held series answer');
      await route.continue();
    });
    const eventsPage = page.waitForResponse((r) => r.url().includes('/events?limit=200'), { timeout: 10_000 });
    await page.evaluate("location.hash = '#/service/web'");
    await eventsPage;
    append(events, 'rolling-back', 'live event during load');
    await waitFor(async () => (await listed(page)).some((t) => t.includes('live event during load')), {
      timeoutMs: 10_000,
      what: 'the live event shown while loading',
    });
    release();
    await page.waitForSelector('figure.chart', { timeout: 10_000 });
    const after = await listed(page);
    expect(after).toHaveLength(2);
    expect(after[0]).toContain('live event during load');
    expect(after[1]).toContain('old event');
    expect(problems).toEqual([]);
  }, 60_000);

  it('says an address whose service name cannot be decoded is invalid, instead of keeping the last page', async () => {
    const { page, url, problems } = await open();
    await page.goto(`${url}#/service/web`, { timeout: 10_000 });
    await page.waitForSelector('h2:text-is("web")', { timeout: 10_000 });
    await page.evaluate("location.hash = '#/service/%E0%A4%A'");
    await waitFor(async () => ((await page.textContent('#notice')) ?? '').includes('Invalid service name'), {
      timeoutMs: 10_000,
      what: 'the invalid-name notice',
    });
    expect(await page.locator('h2:text-is("web")').count()).toBe(0);
    expect(await page.getAttribute('#notice', 'class')).toContain('error');
    expect(problems).toEqual([]);
  }, 60_000);
});
