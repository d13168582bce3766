// grafana/veer.json against a real scrape: a veer with real upstreams runs a rollout under traffic (and
// answers one request itself), so every series the dashboard reads exists; then every PromQL expression
// in the dashboard must name metrics that /metrics shows, match and group only by labels those metrics
// carry, and filter per-service series by the `service` variable.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ServiceStatus } from '../../src/api/ports.js';
import { ROOT } from '../helpers/cli.js';
import { waitFor } from '../helpers/process.js';
import { parseExpr, scrapeLabels } from '../helpers/promql.js';
import { startTraffic } from '../helpers/traffic.js';
import { admin, http, service, useHarness, type TestVeer } from '../helpers/veer.js';

const h = useHarness();

interface Query {
  where: string;
  expr: string;
  /** Labels a legend or title names with {{label}}. */
  legend: string;
}

type Json = Record<string, any>;
const dashboard = JSON.parse(readFileSync(`${ROOT}grafana/veer.json`, 'utf8')) as Json;

function panelsOf(list: Json[]): Json[] {
  return list.flatMap((p) => [p, ...panelsOf((p.panels as Json[] | undefined) ?? [])]);
}

function queries(d: Json): Query[] {
  const panels = panelsOf(d.panels as Json[]).flatMap((p) =>
    ((p.targets as Json[] | undefined) ?? []).map((t) => ({
      where: `panel "${p.title}" ${t.refId}`,
      expr: t.expr as string,
      legend: (t.legendFormat as string | undefined) ?? '',
    })),
  );
  const notes = (d.annotations.list as Json[])
    .filter((a) => typeof a.expr === 'string')
    .map((a) => ({ where: `annotation "${a.name}"`, expr: a.expr as string, legend: a.titleFormat ?? '' }));
  return [...panels, ...notes];
}

const legendLabels = (legend: string): string[] => [...legend.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1] ?? '');

async function veerInRollout(): Promise<TestVeer> {
  const stable = await h.upstream('stable');
  const canary = await h.upstream('canary');
  const policy = { steps: [50, 100], stepInterval: '1h', analysisInterval: '250ms', minRequests: 20 };
  const v = await h.veer({
    services: [service('web', [stable.address], [], { match: { hosts: ['*'], pathPrefix: '/app' }, rollout: policy })],
  });
  const started = await admin(v, 'POST', '/v1/services/web/rollouts', { canary: { targets: [canary.address] } });
  expect(started.status).toBe(201);
  const canaryServed = async (): Promise<boolean> =>
    (await admin<ServiceStatus>(v, 'GET', '/v1/services/web')).json.metrics.canary.requests >= 5;
  const t = startTraffic({ url: v.url, path: '/app/x', rps: 100, maxMs: 15_000, until: canaryServed });
  h.defer(() => t.stop());
  expect((await t.done).stoppedBy).toBe('predicate');
  // One request veer answers itself (no service matches it), so the answers counter has a series.
  expect((await http(`${v.url}/elsewhere`)).status).toBe(404);
  return v;
}

describe('the Grafana dashboard', () => {
  it('is an importable Grafana 10 dashboard with a Prometheus input and a service variable', () => {
    expect(dashboard.__inputs).toEqual([
      expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' }),
    ]);
    expect(dashboard.__requires).toContainEqual(expect.objectContaining({ id: 'grafana', version: '10.0.0' }));
    const variable = (dashboard.templating.list as Json[]).find((x) => x.name === 'service');
    expect(variable).toMatchObject({ type: 'query', multi: true, includeAll: true });
    expect(variable?.definition).toBe('label_values(veer_requests_total, service)');
    const panels = panelsOf(dashboard.panels as Json[]);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const p of panels.filter((x) => x.type !== 'row')) {
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${DS_PROMETHEUS}' });
      expect(p.targets.length, p.title).toBeGreaterThan(0);
    }
  });

  it('the checker reads selectors, matchers and groupings, and refuses what it cannot read', () => {
    const q = 'histogram_quantile(0.99, sum by (service, le) (rate(m_bucket{service=~"$service",pool="a"}[5m])))';
    const p = parseExpr(`${q} / sum(rate(n_total[$__rate_interval])) by (pool)`);
    expect(p.selectors.map((s) => [s.metric, s.labels])).toEqual([
      ['m_bucket', ['service', 'pool']],
      ['n_total', []],
    ]);
    expect(p.groupings.map((g) => [g.op, g.labels, g.selectors.map((s) => s.metric)])).toEqual([
      ['sum', ['service', 'le'], ['m_bucket']],
      ['sum', ['pool'], ['n_total']],
    ]);
    expect(() => parseExpr('label_replace(x, "a", "b", "c", "d")')).toThrow(/unknown function label_replace/);
    expect(() => parseExpr('x{service}')).toThrow(/bad matcher/);
    expect(scrapeLabels('# TYPE a counter\na{x="1",y="q\\"z"} 3\nb 1\n')).toEqual(
      new Map([
        ['a', new Set(['x', 'y'])],
        ['b', new Set()],
      ]),
    );
  });

  it('every metric and label its queries use exists in /metrics after a rollout under traffic', async () => {
    const v = await veerInRollout();
    const scrape = await waitFor(
      async () => {
        const text = (await http(`${v.adminUrl}/metrics`)).text;
        return text.includes('veer_proxy_answers_total{code="no_route"}') ? text : null;
      },
      { what: 'the no_route answer in /metrics', timeoutMs: 5_000, intervalMs: 50 },
    );
    const families = scrapeLabels(scrape);
    const all = queries(dashboard);
    expect(all.length).toBeGreaterThan(20);
    const read = new Set<string>();
    for (const q of all) {
      const parsed = parseExpr(q.expr);
      expect(parsed.selectors.length, q.where).toBeGreaterThan(0);
      for (const s of parsed.selectors) {
        read.add(s.metric);
        const labels = families.get(s.metric);
        expect(labels, `${q.where}: ${s.metric} is not in /metrics`).toBeDefined();
        for (const l of s.labels) expect([...(labels ?? [])], `${q.where}: ${s.metric} has no ${l}`).toContain(l);
        // Per-service series follow the dashboard's service variable.
        if (labels?.has('service')) expect(s.labels, `${q.where}: ${s.metric} ignores $service`).toContain('service');
      }
      for (const g of parsed.groupings) {
        for (const s of g.selectors) {
          for (const l of g.labels)
            expect([...(families.get(s.metric) ?? [])], `${q.where}: ${g.op} by ${l}`).toContain(l);
        }
      }
      // A legend can only name labels the outermost aggregation keeps.
      const kept = parsed.groupings[0]?.labels ?? [];
      for (const l of legendLabels(q.legend)) expect(kept, `${q.where}: legend {{${l}}}`).toContain(l);
    }
    // What an operator needs: per-pool rates, errors and latency, rollout phase and weight, targets, answers.
    for (const m of [
      'veer_requests_total',
      'veer_request_errors_total',
      'veer_request_duration_seconds_bucket',
      'veer_request_duration_seconds_sum',
      'veer_request_duration_seconds_count',
      'veer_canary_weight_percent',
      'veer_rollout_phase',
      'veer_rollout_step',
      'veer_rollout_last_verdict',
      'veer_target_healthy',
      'veer_target_ejected',
      'veer_proxy_answers_total',
    ]) {
      expect(read, m).toContain(m);
    }
    expect(all.filter((q) => q.expr.includes('histogram_quantile')).length).toBeGreaterThanOrEqual(3);
  });
});
