// The judge's running state between analyses (a rollout record carries it): the sequential tests'
// log-likelihood ratios, the running counts, and how a failed analysis starts the tests again.
// Records written by older versions lack some fields: they read as zero.
import type { ClientTally, RouteStats, SequentialStats } from '../domain/rollout.js';
import { RATE_MULTIPLES, RATIOS, ROUTE_RATIOS, zeros } from './sequential.js';

export function emptyStats(): SequentialStats {
  return {
    errorAbs: zeros(RATE_MULTIPLES.length),
    errorAbsStable: zeros(RATE_MULTIPLES.length),
    errorRel: zeros(RATIOS.length),
    latencyAbs: zeros(RATE_MULTIPLES.length),
    latencyAbsStable: zeros(RATE_MULTIPLES.length),
    latencyRel: zeros(RATE_MULTIPLES.length),
    latencyBody: zeros(RATE_MULTIPLES.length),
    baseline: { requests: 0, errors: 0 },
    canaryTotal: { requests: 0, errors: 0 },
    pNow: { errorAbs: 1, errorRel: 1, latencyAbs: 1, latencyRel: 1, latencyBody: 1 },
    fresh: 0,
    overwhelmed: false,
  };
}

/** After a failed analysis the canary's tests start again: the next failure needs new evidence. */
export function restart(s: SequentialStats): void {
  const fresh = emptyStats();
  s.errorAbs = fresh.errorAbs;
  s.errorRel = fresh.errorRel;
  s.latencyAbs = fresh.latencyAbs;
  s.latencyRel = fresh.latencyRel;
  s.latencyBody = fresh.latencyBody;
  s.pNow = fresh.pNow;
  s.fresh = 0;
  if (s.clientRel) s.clientRel = zeros(RATIOS.length);
  // Each route's tests start again too; its running counts (the practical gate) go on.
  for (const r of Object.values(s.routes ?? {})) {
    r.errorRel = zeros(ROUTE_RATIOS.length);
    r.latencyRel = zeros(RATE_MULTIPLES.length);
  }
}

export function cloneStats(s: SequentialStats): SequentialStats {
  return {
    errorAbs: [...s.errorAbs],
    errorAbsStable: [...s.errorAbsStable],
    errorRel: [...s.errorRel],
    latencyAbs: [...s.latencyAbs],
    latencyAbsStable: [...s.latencyAbsStable],
    latencyRel: [...s.latencyRel],
    latencyBody: [...(s.latencyBody ?? zeros(RATE_MULTIPLES.length))],
    baseline: { ...(s.baseline ?? { requests: 0, errors: 0 }) },
    canaryTotal: { ...(s.canaryTotal ?? { requests: 0, errors: 0 }) },
    pNow: { latencyBody: 1, ...(s.pNow ?? { errorAbs: 1, errorRel: 1, latencyAbs: 1, latencyRel: 1 }) },
    fresh: s.fresh ?? 0,
    overwhelmed: s.overwhelmed ?? false,
    ...(s.routes ? { routes: cloneRoutes(s.routes) } : {}),
    ...(s.clientRel ? { clientRel: [...s.clientRel] } : {}),
    ...(s.clientErrors ? { clientErrors: { ...s.clientErrors } } : {}),
    ...(s.clients ? { clients: cloneClients(s.clients) } : {}),
    ...(s.clients4xx ? { clients4xx: cloneClients(s.clients4xx) } : {}),
    ...(s.everyClient
      ? { everyClient: { canary: { ...s.everyClient.canary }, stable: { ...s.everyClient.stable } } }
      : {}),
    ...(s.step ? { step: { ...s.step, canary: { ...s.step.canary }, stable: { ...s.step.stable } } } : {}),
  };
}

function cloneRoutes(routes: Record<string, RouteStats>): Record<string, RouteStats> {
  const out: Record<string, RouteStats> = {};
  for (const [name, r] of Object.entries(routes))
    out[name] = {
      errorRel: [...r.errorRel],
      latencyRel: [...r.latencyRel],
      canary: { ...r.canary },
      stable: { ...r.stable },
    };
  return out;
}

function cloneClients(c: NonNullable<SequentialStats['clients']>): NonNullable<SequentialStats['clients']> {
  const one = (t: ClientTally): ClientTally => ({
    errors: t.errors,
    byClient: { ...t.byClient },
    ...(t.inherited ? { inherited: { ...t.inherited } } : {}),
    ...(t.left ? { left: t.left } : {}),
  });
  return { canary: one(c.canary), stable: one(c.stable) };
}
