// Chat-formatted webhook bodies (pure): each format's shape, the readable text of each milestone, the
// rollback's evidence, and the chat services' size limits.
import { describe, expect, it } from 'vitest';
import type { EventKind, RolloutEvent, Verdict } from '../../../src/domain/rollout.js';
import { discordPayload, slackPayload, teamsPayload, truncate } from '../../../src/rollout/chat-payload.js';
import { chatText } from '../../../src/rollout/chat-text.js';
import { webhookBody } from '../../../src/rollout/webhook-message.js';

const pool = (requests: number, errors: number, p99Ms: number) => ({
  requests,
  errors,
  errorRate: errors / requests,
  p99Ms,
});

const FAILED: Verdict = {
  result: 'fail',
  failFast: false,
  reason: 'route-errors-vs-stable failed',
  checks: [
    { name: 'error-rate', status: 'pass', observed: 0.001, limit: 0.01, pValue: 1, note: '' },
    {
      name: 'route-errors-vs-stable',
      status: 'fail',
      observed: 0.2,
      limit: 0.01,
      pValue: 0.0004,
      note: '40 of 200',
      route: '/api/orders',
    },
  ],
  canary: pool(400, 42, 31),
  stable: pool(3600, 4, 12),
  routes: [
    { route: '/api/orders', canary: pool(200, 40, 35), stable: pool(1800, 2, 14) },
    { route: '/static', canary: pool(200, 2, 5), stable: pool(1800, 2, 5) },
  ],
  at: 0,
};

function event(kind: EventKind, message: string, over: Partial<RolloutEvent> = {}): RolloutEvent {
  return {
    seq: 7,
    at: '2026-12-02T05:00:00.000Z',
    service: 'web',
    rolloutId: 'r-1',
    kind,
    phase: 'progressing',
    weight: 25,
    message,
    ...over,
  };
}

const rolledBack = event('rolled-back', 'rolled-back: rolled back (2 failed analyses): errors', {
  phase: 'rolled-back',
  weight: 0,
  data: { verdict: FAILED },
});

describe('chat text', () => {
  it('names each milestone readably, with the weight it is at', () => {
    expect(chatText(event('started', 'rollout r-1 started: steps 10, 25, 100')).title).toBe('web: rollout started');
    expect(chatText(event('step', 'step 2/3: 25%')).title).toBe('web: step passed, canary now at 25%');
    const held = chatText(event('paused', 'paused by operator: looking at logs'));
    expect(held.title).toBe('web: rollout held at 25%');
    expect(held.lines[0]).toBe('paused by operator: looking at logs');
    expect(held.tone).toBe('warning');
    expect(chatText(event('succeeded', 'rollout succeeded')).tone).toBe('good');
    const gate = chatText(event('gate', 'gate beforeEachStep refused (HTTP 503)', { data: { passed: false } }));
    expect(gate.title).toBe('web: rollout held by a gate at 25%');
  });

  it("a rollback's evidence: the failed check with observed, limit and p-value, both pools, the route", () => {
    const t = chatText(rolledBack);
    expect(t.title).toBe('web: rolled back');
    expect(t.tone).toBe('bad');
    const text = t.lines.join('\n');
    expect(text).toContain('failed check route-errors-vs-stable: route /api/orders');
    expect(text).toContain('20.00%');
    expect(text).toContain('limit 1.00%');
    expect(text).toContain('p=0.0004');
    expect(text).toContain('canary: 400 requests, 42 errors (10.50%), p99 31ms');
    expect(text).toContain('stable: 3600 requests, 4 errors (0.11%), p99 12ms');
    expect(text).toContain('route /api/orders: canary 200 requests, 40 errors (20.00%)');
    // Only the route a failed check names.
    expect(text).not.toContain('route /static');
    // A passing check is not evidence.
    expect(text).not.toContain('failed check error-rate:');
  });

  it('a verdict that did not fail is no evidence (a rollback after a gate refused)', () => {
    const t = chatText({ ...rolledBack, data: { verdict: { ...FAILED, result: 'pass' } } });
    expect(t.lines).toEqual([rolledBack.message]);
  });

  it('an event without a message says its title (chat services refuse empty text)', () => {
    expect(chatText(event('resumed', ' ')).lines).toEqual(['web: resumed at 25%']);
    const section = (slackPayload(event('resumed', '')).blocks as Array<Record<string, any>>)[1];
    expect(section?.text.text).toBe('web: resumed at 25%');
  });

  it('other events get one short line', () => {
    const t = chatText(event('shifted', 'weight set to 30% by hand', { rolloutId: null }));
    expect(t.title).toBe('web: shifted at 25%');
    expect(t.lines).toEqual(['weight set to 30% by hand']);
    expect(t.context).toBe('web · 2026-12-02T05:00:00.000Z');
  });
});

describe('chat payloads', () => {
  it('slack: text (the fallback) and header, section and context blocks', () => {
    const p = slackPayload(rolledBack);
    expect(p.text.startsWith('web: rolled back\n')).toBe(true);
    expect(p.text).toContain('p=0.0004');
    const [header, section, context] = p.blocks as Array<Record<string, any>>;
    expect(header).toMatchObject({ type: 'header', text: { type: 'plain_text' } });
    expect(header?.text.text).toContain('web: rolled back');
    expect(section).toMatchObject({ type: 'section', text: { type: 'mrkdwn' } });
    expect(section?.text.text).toContain('route /api/orders');
    expect(context?.elements[0].text).toBe('web · rollout r-1 · 2026-12-02T05:00:00.000Z');
  });

  it('slack: <, > and & are escaped, so a message cannot ping @channel', () => {
    const p = slackPayload(event('paused', 'held: <!channel> & co'));
    const section = (p.blocks as Array<Record<string, any>>)[1];
    expect(section?.text.text).toBe('held: &lt;!channel&gt; &amp; co');
    expect(p.text).toContain('held: &lt;!channel&gt;');
  });

  it('discord: content, one embed with title, description, colour and timestamp, no mentions', () => {
    const p = discordPayload(rolledBack);
    expect(p.content).toContain('web: rolled back');
    const [embed] = p.embeds as Array<Record<string, any>>;
    expect(embed).toMatchObject({ title: 'web: rolled back', timestamp: '2026-12-02T05:00:00.000Z' });
    expect(typeof embed?.color).toBe('number');
    expect(embed?.description).toContain('canary: 400 requests');
    expect(embed?.footer.text).toContain('rollout r-1');
    expect(p.allowed_mentions).toEqual({ parse: [] });
  });

  it('teams: a message with one Adaptive Card (title, text, context)', () => {
    const p = teamsPayload(rolledBack);
    expect(p.type).toBe('message');
    const [a] = p.attachments as Array<Record<string, any>>;
    expect(a?.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(a?.content).toMatchObject({ type: 'AdaptiveCard', version: '1.4' });
    const texts = (a?.content.body as Array<{ type: string; text: string }>).map((b) => b.text);
    expect(texts[0]).toBe('web: rolled back');
    expect(texts[1]).toContain('p=0.0004');
    expect(texts[2]).toContain('rollout r-1');
  });

  it("every format stays within its service's limits, ending what it cut with an ellipsis", () => {
    const huge = event('paused', `held: ${'x'.repeat(100_000)}`, { service: 's'.repeat(500) });
    const slack = slackPayload(huge);
    const blocks = slack.blocks as Array<Record<string, any>>;
    expect(slack.text.length).toBeLessThanOrEqual(40_000);
    expect(slack.text.endsWith('…')).toBe(true);
    expect(blocks[0]?.text.text.length).toBeLessThanOrEqual(150);
    expect(blocks[1]?.text.text.length).toBeLessThanOrEqual(3_000);
    const discord = discordPayload(huge);
    const embed = (discord.embeds as Array<Record<string, any>>)[0];
    expect(discord.content.length).toBeLessThanOrEqual(2_000);
    expect(embed?.title.length).toBeLessThanOrEqual(256);
    expect(embed?.description.length).toBeLessThanOrEqual(4_096);
    expect(embed?.description.endsWith('…')).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(teamsPayload(huge)))).toBeLessThan(28_000);
  });

  it('truncate keeps short text, cuts long text to the limit, never splits a surrogate pair', () => {
    expect(truncate('abc', 3)).toBe('abc');
    expect(truncate('abcdef', 4)).toBe('abc…');
    const cut = truncate('ab😀cd', 4);
    expect(cut).toBe('ab…');
  });

  it('generic stays the event JSON; each format dispatches to its builder', () => {
    expect(webhookBody('generic', rolledBack)).toMatchObject({ event: 'rolled-back', service: 'web', seq: 7 });
    expect(webhookBody('slack', rolledBack)).toEqual(slackPayload(rolledBack));
    expect(webhookBody('teams', rolledBack)).toEqual(teamsPayload(rolledBack));
    expect(webhookBody('discord', rolledBack)).toEqual(discordPayload(rolledBack));
  });
});
