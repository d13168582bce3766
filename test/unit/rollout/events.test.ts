import { describe, expect, it } from 'vitest';
import type { Logger, LogLevel } from '../../../src/domain/log.js';
import type { RolloutEvent } from '../../../src/domain/rollout.js';
import { EventLog } from '../../../src/rollout/events.js';

function clockAt(start: number) {
  let now = start;
  return { clock: { now: () => now }, advance: (ms: number) => (now += ms) };
}

const ev = (service: string, kind: RolloutEvent['kind'] = 'step', message = ''): Omit<RolloutEvent, 'seq' | 'at'> => ({
  service,
  rolloutId: 'r-1',
  kind,
  phase: 'progressing',
  weight: 5,
  message,
});

describe('EventLog', () => {
  it('assigns increasing sequence numbers and the clock time', () => {
    const { clock, advance } = clockAt(Date.parse('2024-05-01T10:00:00.000Z'));
    const log = new EventLog({ clock });
    const a = log.append(ev('web', 'started', 'go'));
    advance(1500);
    const b = log.append(ev('api'));
    expect(a).toEqual({ ...ev('web', 'started', 'go'), seq: 1, at: '2024-05-01T10:00:00.000Z' });
    expect(b.seq).toBe(2);
    expect(b.at).toBe('2024-05-01T10:00:01.500Z');
    expect(log.lastSeq).toBe(2);
  });

  it('returns recent events newest last, filtered by service and limited', () => {
    const log = new EventLog({ clock: clockAt(0).clock });
    for (let i = 0; i < 6; i++) log.append(ev(i % 2 === 0 ? 'web' : 'api', 'step', `m${i}`));
    expect(log.recent(null, 3).map((e) => e.message)).toEqual(['m3', 'm4', 'm5']);
    expect(log.recent('web', 10).map((e) => e.message)).toEqual(['m0', 'm2', 'm4']);
    expect(log.recent('api', 2).map((e) => e.seq)).toEqual([4, 6]);
    expect(log.recent('nope', 10)).toEqual([]);
    expect(log.recent(null, 0)).toEqual([]);
  });

  it('keeps only the newest `capacity` events', () => {
    const log = new EventLog({ clock: clockAt(0).clock, capacity: 5 });
    for (let i = 1; i <= 23; i++) log.append(ev('web'));
    const held = log.recent(null, 100);
    expect(held.map((e) => e.seq)).toEqual([19, 20, 21, 22, 23]);
  });

  it('notifies subscribers synchronously, filtered by service, until they unsubscribe', () => {
    const log = new EventLog({ clock: clockAt(0).clock });
    const all: number[] = [];
    const web: number[] = [];
    const offAll = log.subscribe(null, (e) => all.push(e.seq));
    const offWeb = log.subscribe('web', (e) => web.push(e.seq));
    expect(log.subscriberCount).toBe(2);
    log.append(ev('web'));
    log.append(ev('api'));
    expect(all).toEqual([1, 2]);
    expect(web).toEqual([1]);
    offWeb();
    offWeb();
    log.append(ev('web'));
    expect(web).toEqual([1]);
    expect(all).toEqual([1, 2, 3]);
    offAll();
    expect(log.subscriberCount).toBe(0);
  });

  it('isolates a throwing subscriber from the others and from the caller', () => {
    const logged: Array<{ level: LogLevel; msg: string }> = [];
    const logger: Logger = { log: (level, msg) => logged.push({ level, msg }) };
    const log = new EventLog({ clock: clockAt(0).clock, log: logger });
    const seen: number[] = [];
    log.subscribe(null, () => {
      throw new Error('boom');
    });
    log.subscribe(null, (e) => seen.push(e.seq));
    expect(() => log.append(ev('web'))).not.toThrow();
    expect(seen).toEqual([1]);
    expect(logged).toEqual([{ level: 'warn', msg: 'event subscriber failed' }]);
  });

  it('lets a subscriber unsubscribe another during delivery', () => {
    const log = new EventLog({ clock: clockAt(0).clock });
    const seen: string[] = [];
    let offB: () => void = () => undefined;
    log.subscribe(null, () => {
      seen.push('a');
      offB();
    });
    offB = log.subscribe(null, () => seen.push('b'));
    log.append(ev('web'));
    log.append(ev('web'));
    expect(seen).toEqual(['a', 'a']);
  });

  it('treats the same listener subscribed twice as two subscriptions', () => {
    const log = new EventLog({ clock: clockAt(0).clock });
    const seen: number[] = [];
    const listener = (e: RolloutEvent) => seen.push(e.seq);
    const off1 = log.subscribe(null, listener);
    log.subscribe(null, listener);
    off1();
    log.append(ev('web'));
    expect(seen).toEqual([1]);
  });
});
