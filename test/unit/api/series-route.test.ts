// GET /v1/services/:name/series answers one shape, also for a service whose ring does not exist yet (just
// started, or added by a reload): column objects with no seconds, never null in their place.
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/app.js';
import type { SeriesView } from '../../../src/api/ports.js';
import { silentLogger } from '../../../src/domain/log.js';
import type { SeriesColumns } from '../../../src/metrics/series.js';
import { FakeDirectory, fakeDeps, fakeService } from './fake-directory.js';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

const RECORDED: SeriesColumns = {
  t: [100, 101],
  stable: { requests: [3, null], errors: [0, null], p50Ms: [1.5, null], p99Ms: [4, null] },
  canary: { requests: [1, null], errors: [1, null], p50Ms: [2, null], p99Ms: [2, null] },
};

function seriesOf(columns: (service: string) => SeriesColumns | null): SeriesView {
  return {
    source: 'merged',
    settleMs: 2000,
    newest: () => 101,
    columns,
    recent: () => null,
    onSecond: () => () => undefined,
  };
}

async function get(view: SeriesView, service: string): Promise<Record<string, unknown>> {
  const directory = new FakeDirectory([fakeService('web'), fakeService('new')]);
  const app = buildApp(fakeDeps(directory, { series: view }), { logger: silentLogger });
  apps.push(app);
  const res = await app.inject({ method: 'GET', url: `/v1/services/${service}/series?seconds=2` });
  expect(res.statusCode).toBe(200);
  return res.json();
}

describe('GET /v1/services/:name/series', () => {
  it('a service with no seconds recorded yet has empty columns of the usual shape', async () => {
    const view = seriesOf((s) => (s === 'web' ? RECORDED : null));
    const empty = { requests: [], errors: [], p50Ms: [], p99Ms: [] };
    expect(await get(view, 'new')).toEqual({
      service: 'new',
      source: 'merged',
      settleMs: 2000,
      t: [],
      stable: empty,
      canary: empty,
    });
    // The same keys as a recorded service's answer.
    const recorded = await get(view, 'web');
    expect(recorded).toEqual({ service: 'web', source: 'merged', settleMs: 2000, ...RECORDED });
    expect(Object.keys(recorded.stable as object)).toEqual(Object.keys(empty));
  });
});
