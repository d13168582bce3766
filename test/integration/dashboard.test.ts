// The dashboard end to end: a real veer with an admin token and two services on real upstreams, real
// traffic through the data plane, and Debian's chromium driven by playwright-core through the page:
// login, live numbers, a chart, a rollout started from the form, its steps, abort. Screenshots go to
// .artifacts/ui/ (gitignored).
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/domain/log.js';
import { startVeer, type RunningVeer } from '../../src/main.js';
import { startTraffic } from '../helpers/traffic.js';
import { service, testConfig, useHarness, waitFor } from '../helpers/veer.js';

const h = useHarness();
const TOKEN = 'dashboard-token-0123456789';
const ARTIFACTS = '.artifacts/ui';
const POLICY = {
  steps: [10, 20, 30, 40, 50, 60, 70, 80, 90],
  stepInterval: '2s',
  analysisInterval: '250ms',
  minRequests: 20,
  drainTimeout: '2s',
  maxLatencyRatio: 5,
};

interface Setup {
  veer: RunningVeer;
  adminUrl: string;
  canary: string;
}

async function setup(): Promise<Setup> {
  const web = await h.upstream('web-stable');
  const canary = await h.upstream('web-canary');
  const api = await h.upstream('api-stable');
  const config = testConfig({
    services: [
      { ...service('web', [web.address], [], { rollout: POLICY }), match: { hosts: ['*'], pathPrefix: '/web' } },
      { ...service('api', [api.address]), match: { hosts: ['*'], pathPrefix: '/api' } },
    ],
  });
  config.admin.token = TOKEN;
  const veer = await startVeer(config, { log: silentLogger });
  h.defer(() => veer.close());
  const url = `http://127.0.0.1:${veer.data.port}`;
  for (const [path, rps] of [
    ['/web/', 150],
    ['/api/', 40],
  ] as const) {
    const t = startTraffic({ url, path, rps, maxMs: 60_000 });
    h.defer(() => t.stop());
  }
  return { veer, adminUrl: `http://127.0.0.1:${veer.admin.port}`, canary: canary.address };
}

async function browse(): Promise<{ browser: Browser; page: Page }> {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox'],
    headless: true,
  });
  h.defer(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  return { browser, page };
}

const text = async (page: Page, selector: string): Promise<string> =>
  ((await page.locator(selector).first().textContent({ timeout: 5_000 })) ?? '').trim();

/** The <dd> after the <dt> with this label on the service page. */
const field = (page: Page, label: string): Promise<string> => text(page, `dt:text-is("${label}") + dd`);

async function login(page: Page, adminUrl: string): Promise<void> {
  await page.goto(`${adminUrl}/ui`);
  await page.getByLabel('Admin token').fill('not-the-token');
  await page.getByRole('button', { name: 'Log in' }).click();
  await waitFor(async () => (await text(page, '#login-error')).includes('wrong admin token'), {
    timeoutMs: 5_000,
    what: 'the wrong-token message',
  });
  await page.getByLabel('Admin token').fill(TOKEN);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('tr[data-service="web"]').waitFor({ timeout: 10_000 });
}

describe('dashboard in chromium', () => {
  it('logs in, shows live numbers and charts, starts a rollout, sees its steps and aborts it', async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const { adminUrl, canary } = await setup();
    const { browser, page } = await browse();
    // Anything the CSP blocked, or a script error, shows up here.
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content.Security.Policy|Refused/i.test(m.text())) problems.push(m.text());
    });
    await login(page, adminUrl);

    const rps = 'tr[data-service="web"] td[data-col="stable-rps"]';
    const first = await waitFor(
      async () => {
        const t = await text(page, rps);
        return Number(t) > 0 ? t : null;
      },
      { timeoutMs: 15_000, intervalMs: 200, what: 'a req/s figure' },
    );
    await waitFor(async () => (await text(page, rps)) !== first, {
      timeoutMs: 15_000,
      intervalMs: 200,
      what: 'the req/s figure to move',
    });
    await page.getByLabel('Filter services').fill('ap');
    await waitFor(async () => (await text(page, '.count')) === '1 of 2 services', { timeoutMs: 5_000 });
    await page.getByLabel('Filter services').fill('');
    await page.screenshot({ path: `${ARTIFACTS}/overview.png`, fullPage: true });

    await page.click('a[href="#/service/web"]');
    const chart = page.locator('figure[data-chart="rps"]');
    await chart.locator('canvas').waitFor({ timeout: 10_000 });
    await waitFor(async () => Number(await chart.getAttribute('data-points')) > 0, {
      timeoutMs: 10_000,
      what: 'chart points',
    });

    await page.getByLabel('Canary targets (host:port, comma-separated)').fill(canary);
    await page.getByRole('button', { name: 'Start rollout' }).click();
    await waitFor(async () => (await field(page, 'Step')).startsWith('2 of 9'), {
      timeoutMs: 20_000,
      intervalMs: 200,
      what: 'the rollout to reach its second step',
    });
    expect(await field(page, 'Phase')).toBe('progressing');
    await waitFor(async () => (await page.locator('.events li').count()) >= 2, { timeoutMs: 5_000 });
    await page.screenshot({ path: `${ARTIFACTS}/service.png`, fullPage: true });

    // Keyboard: Tab reaches the abort button and Enter operates it (the confirmation is declined here).
    const dialogs: string[] = [];
    page.once('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.locator('body').focus();
    await waitFor(
      async () => {
        await page.keyboard.press('Tab');
        return (await page.evaluate("document.activeElement?.getAttribute('data-action')")) === 'abort';
      },
      { timeoutMs: 10_000, intervalMs: 1, what: 'Tab to reach the abort button' },
    );
    const focusRing = await page.evaluate('getComputedStyle(document.activeElement).outlineStyle');
    expect(focusRing).toBe('solid');
    await page.keyboard.press('Enter');
    await waitFor(() => dialogs.length === 1, { timeoutMs: 5_000, what: 'the abort confirmation' });
    expect(dialogs[0]).toContain('Abort the rollout of web');
    expect(await field(page, 'Phase')).toBe('progressing');

    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Abort' }).click();
    await waitFor(async () => ['aborted', 'rolling-back'].includes(await field(page, 'Phase')), {
      timeoutMs: 10_000,
      intervalMs: 100,
      what: 'the rollout to be aborted',
    });
    await waitFor(async () => (await page.locator('.events li strong', { hasText: 'aborted' }).count()) > 0, {
      timeoutMs: 15_000,
      what: 'the aborted event',
    });
    expect(problems).toEqual([]);
    await browser.close();
  }, 90_000);

  it('refuses the API without the session, and a cookie POST without the CSRF header', async () => {
    const { adminUrl } = await setup();
    const { browser, page } = await browse();
    expect((await fetch(`${adminUrl}/v1/services`)).status).toBe(401);
    const ui = await fetch(`${adminUrl}/ui`);
    expect(ui.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(ui.headers.get('x-content-type-options')).toBe('nosniff');
    await login(page, adminUrl);

    const [cookie] = (await page.context().cookies()).filter((c) => c.name === 'veer_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', secure: false });
    expect(cookie?.value).not.toContain(TOKEN);
    const jar = `veer_session=${cookie?.value}`;
    expect((await fetch(`${adminUrl}/v1/services`, { headers: { cookie: jar } })).status).toBe(200);
    const shift = (headers: Record<string, string>) =>
      fetch(`${adminUrl}/v1/services/web/shift`, {
        method: 'POST',
        headers: { cookie: jar, 'content-type': 'application/json', ...headers },
        body: '{"weight":0}',
      });
    const refused = await shift({});
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('csrf_failed');
    // The page itself can: it reads the CSRF token from /ui/session.
    const status = await page.evaluate(async () => {
      const s = (await (await fetch('/ui/session')).json()) as { csrf: string };
      const r = await fetch('/v1/services/web/shift', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-veer-csrf': s.csrf },
        body: '{"weight":0}',
      });
      return r.status;
    });
    expect(status).toBe(200);

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('Admin token').waitFor({ timeout: 5_000 });
    expect((await fetch(`${adminUrl}/v1/services`, { headers: { cookie: jar } })).status).toBe(401);
    await browser.close();
  }, 60_000);
});
