// The pure parts of `veer status --watch`: the frame's text, repainting only what changed, fitting the
// terminal, and the two sinks (a screen restored on close; plain blocks when the numbers change).
import { describe, expect, it } from 'vitest';
import type { PoolMetrics, ServiceStatus } from '../../../src/api/ports.js';
import type { Terminal } from '../../../src/cli/command.js';
import { ENTER_SCREEN, LEAVE_SCREEN, fit, paint } from '../../../src/cli/screen.js';
import { plainSink, screenSink } from '../../../src/cli/status-sink.js';
import { perSecond, watchFrame, type WatchView } from '../../../src/cli/watch-frame.js';
import type { RolloutEvent } from '../../../src/domain/rollout.js';

const metrics = (requests: number, errors = 0): PoolMetrics => ({
  window: '60s',
  requests,
  errors,
  errorRate: requests === 0 ? 0 : errors / requests,
  p50Ms: 3,
  p95Ms: 8,
  p99Ms: 12.4,
});

const target = (id: string, healthy = true) => ({
  id,
  healthy,
  health: 'healthy' as const,
  ejected: false,
  outstanding: 0,
});

function svc(name: string, weight: number, stable: number, canary: number): ServiceStatus {
  return {
    name,
    weight,
    match: { hosts: ['*'], pathPrefix: '/' },
    sticky: null,
    pools: { stable: { targets: [target('a'), target('b', false)] }, canary: { targets: [target('c')] } },
    metrics: { stable: metrics(stable), canary: metrics(canary, 3) },
    rollout: null,
  };
}

const view = (over: Partial<WatchView> = {}): WatchView => ({
  services: [svc('web', 25, 600, 120)],
  service: null,
  events: [],
  problem: null,
  live: true,
  intervalMs: 2_000,
  at: Date.parse('2026-12-02T05:00:07Z'),
  ...over,
});

describe('the watch frame', () => {
  it("shows each service's weight, both pools' req/s, error rate, p99 and targets under a header", () => {
    const lines = watchFrame(view());
    expect(lines[0]).toBe('veer status --watch · all services · live · read at 05:00:07 · every 2s · Ctrl+C quits');
    expect(lines[2]?.split(/\s{2,}/)).toEqual([
      'SERVICE',
      'WEIGHT',
      'ROLLOUT',
      'REQ/S S/C',
      'ERR% S/C',
      'P99 S/C',
      'TARGETS S/C',
    ]);
    expect(lines[3]?.split(/\s{2,}/)).toEqual(['web', '25%', '-', '10.0/2.0', '0.00/2.50', '12ms/12ms', '1/2 1/1']);
  });

  it('says reconnecting, with why, while the last numbers stay shown', () => {
    const lines = watchFrame(view({ problem: 'cannot reach veer admin at http://127.0.0.1:1', live: false }));
    expect(lines[0]).toContain(' · reconnecting… · read at 05:00:07');
    expect(lines[1]).toBe('reconnecting… cannot reach veer admin at http://127.0.0.1:1');
    expect(lines[3]).toMatch(/^web\s+25%/);
    expect(watchFrame(view({ services: null, at: null, problem: 'x' })).at(-1)).toBe('waiting for the admin API…');
  });

  it('one service: its rollout detail and its latest events, newest last', () => {
    const e = (seq: number, kind: RolloutEvent['kind'], message: string): RolloutEvent => ({
      seq,
      at: `2026-12-02T05:00:0${seq}.000Z`,
      service: 'web',
      rolloutId: 'r1',
      kind,
      phase: 'progressing',
      weight: 25,
      message,
    });
    const lines = watchFrame(
      view({ service: 'web', events: [e(1, 'started', 'rollout r1 started'), e(2, 'step', 'step 2/3: 25%')] }),
    );
    expect(lines).toContain('no rollout');
    const at = lines.indexOf('latest events:');
    expect(lines.slice(at + 1)).toEqual([
      '  05:00:01  started       rollout r1 started',
      '  05:00:02  step          step 2/3: 25%',
    ]);
  });

  it('req/s is requests over the window', () => {
    expect(perSecond(metrics(90))).toBe('1.5');
    expect(perSecond(metrics(60_000))).toBe('1000');
    expect(perSecond({ ...metrics(7), window: 'odd' })).toBe('7');
  });
});

describe('painting', () => {
  it('the first frame is written whole, then cleared below; no full clear', () => {
    const out = paint(null, ['a', 'b']);
    expect(out).toBe('\x1b[1;1Ha\x1b[K\x1b[2;1Hb\x1b[K\x1b[3;1H\x1b[J');
    expect(out).not.toContain('\x1b[2J');
  });

  it('only changed lines are rewritten; a shorter frame clears what is below it', () => {
    expect(paint(['a', 'b', 'c'], ['a', 'B', 'c'])).toBe('\x1b[2;1HB\x1b[K');
    expect(paint(['a', 'b', 'c'], ['a'])).toBe('\x1b[2;1H\x1b[J');
    expect(paint(['a', 'b'], ['a', 'b'])).toBe('');
  });

  it('fits the terminal: cut lines end with an ellipsis, extra rows are summed up, controls are blanked', () => {
    expect(fit(['abcdef', 'ab'], 4, undefined)).toEqual(['abc…', 'ab']);
    expect(fit(['1', '2', '3', '4'], undefined, 3)).toEqual([
      '1',
      '2',
      '… 2 more lines (a taller terminal shows them)',
    ]);
    expect(fit(['a\x1b[2Jb'], 80, 10)).toEqual(['a [2Jb']);
  });
});

function fakeTerminal(columns: number): Terminal & { written: string } {
  const t = {
    written: '',
    isTTY: true,
    columns: () => columns,
    rows: () => 24,
    write: (s: string) => void (t.written += s),
    onResize: () => () => undefined,
    onInterrupt: () => () => undefined,
  };
  return t;
}

describe('sinks', () => {
  it('a screen enters the alternate screen once, repaints in place, restores the cursor on close', () => {
    const term = fakeTerminal(10);
    const sink = screenSink(term);
    sink.show(['header 1', 'body']);
    sink.show(['header 2', 'body']);
    sink.show(['header 2', 'body']);
    sink.close();
    sink.close();
    expect(term.written.split(ENTER_SCREEN).length).toBe(2);
    expect(term.written.startsWith(ENTER_SCREEN)).toBe(true);
    expect(term.written.endsWith(LEAVE_SCREEN)).toBe(true);
    expect(term.written.split(LEAVE_SCREEN).length).toBe(2);
    // The second frame rewrote its first line only; the third wrote nothing.
    expect(term.written).toContain('\x1b[1;1Hheader 2\x1b[K\x1b[?25h');
    sink.reset();
  });

  it('plain output prints a block when the numbers change, not when only the clock did', () => {
    const lines: string[] = [];
    const sink = plainSink((l) => lines.push(l));
    sink.show(['at 1', 'web 10%']);
    sink.show(['at 2', 'web 10%']);
    sink.show(['at 3', 'web 20%']);
    expect(lines).toEqual(['at 1', 'web 10%', '', 'at 3', 'web 20%', '']);
    expect(lines.join('')).not.toContain('\x1b');
  });
});
