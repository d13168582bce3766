// What a chat message says about a rollout event, before any chat service's shape: a title, the lines
// of its body and a tone. Started, step, held, rolled back and succeeded read as sentences with their
// figures; a rollback names its evidence (the failed checks with observed value, limit and p-value,
// canary against stable, the route a check names); any other event is one short line.
import { describeFailure } from '../analysis/verdict-text.js';
import { assertNever } from '../domain/errors.js';
import type { EventKind, RolloutEvent } from '../domain/rollout.js';
import type { PoolEvidence, Verdict } from '../domain/verdict.js';

export type ChatTone = 'good' | 'warning' | 'bad' | 'info';

export interface ChatText {
  title: string;
  /** Paragraphs of plain text (no markup: each format adds its own). */
  lines: string[];
  tone: ChatTone;
  /** "web · rollout r-12 · 2026-12-02T05:00:00.000Z" */
  context: string;
}

export function chatText(e: RolloutEvent): ChatText {
  const { title, tone } = heading(e);
  const said = [e.message, ...evidenceLines(e)].filter((l) => l.trim() !== '');
  // Slack refuses an empty section, and a card without text says nothing: the title stands in.
  const lines = said.length > 0 ? said : [title];
  const context = [e.service, e.rolloutId ? `rollout ${e.rolloutId}` : null, e.at].filter(Boolean).join(' · ');
  return { title, lines, tone, context };
}

function heading(e: RolloutEvent): { title: string; tone: ChatTone } {
  const at = e.weight === null ? '' : ` at ${e.weight}%`;
  const s = e.service;
  const kind: EventKind = e.kind;
  switch (kind) {
    case 'started':
      return { title: `${s}: rollout started`, tone: 'info' };
    case 'step':
      return { title: `${s}: step passed, canary now${at}`, tone: 'good' };
    case 'paused':
      return { title: `${s}: rollout held${at}`, tone: 'warning' };
    case 'analysis':
      return verdictOf(e)?.result === 'fail'
        ? { title: `${s}: analysis failed${at}`, tone: 'bad' }
        : { title: `${s}: rollout holding${at}`, tone: 'info' };
    case 'gate':
      return e.data?.passed === false
        ? { title: `${s}: rollout held by a gate${at}`, tone: 'warning' }
        : { title: `${s}: gate${at}`, tone: 'info' };
    case 'rolling-back':
      return { title: `${s}: rolling back${at}`, tone: 'bad' };
    case 'rolled-back':
      return { title: `${s}: rolled back`, tone: 'bad' };
    case 'aborted':
      return { title: `${s}: rollout aborted`, tone: 'warning' };
    case 'promoting':
      return { title: `${s}: promoting the canary`, tone: 'good' };
    case 'succeeded':
      return { title: `${s}: rollout succeeded`, tone: 'good' };
    case 'warning':
      return { title: `${s}: warning`, tone: 'warning' };
    case 'acme':
      // A certificate issued or renewed is routine; a failed renewal needs someone before the old one expires.
      return e.data?.outcome === 'failed'
        ? { title: `certificate for ${String(e.data?.host)}: renewal failed`, tone: 'bad' }
        : { title: `certificate for ${String(e.data?.host)} ${String(e.data?.outcome)}`, tone: 'good' };
    case 'canary-ready':
    case 'resumed':
    case 'shifted':
    case 'reload':
    case 'maintenance':
      return { title: `${s}: ${kind}${at}`, tone: 'info' };
    default:
      return assertNever(kind, 'event kind');
  }
}

/** The verdict an event carries (rolling-back, rolled-back, analysis and paused events may). */
function verdictOf(e: RolloutEvent): Verdict | null {
  const v = e.data?.verdict as Verdict | null | undefined;
  return v && typeof v === 'object' && Array.isArray(v.checks) ? v : null;
}

/** Only a failed verdict is evidence: a rollback for another reason (a gate, a deadline) has none. */
export function evidenceLines(e: RolloutEvent): string[] {
  const v = verdictOf(e);
  if (v === null || v.result !== 'fail') return [];
  const failed = v.checks.filter((c) => c.status === 'fail');
  const routes = new Set(failed.map((c) => c.route).filter((r): r is string => r !== undefined));
  return [
    ...failed.map((c) => `failed check ${c.name}: ${describeFailure(c)}`),
    `canary: ${pool(v.canary)}`,
    `stable: ${pool(v.stable)}`,
    ...(v.routes ?? [])
      .filter((r) => routes.has(r.route))
      .map((r) => `route ${r.route}: canary ${pool(r.canary)}; stable ${pool(r.stable)}`),
  ];
}

function pool(p: PoolEvidence): string {
  const rate = (p.errorRate * 100).toFixed(2);
  return `${p.requests} requests, ${p.errors} errors (${rate}%), p99 ${Math.round(p.p99Ms)}ms`;
}
