// Acknowledgements of routing in the store: the leader's wait removes those of replicas that are gone
// (killed: a clean leave removes its own) once they are old, and keeps the live ones' and recent ones'.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/domain/log.js';
import { ackPrefix, RouteAcks, STALE_ACK_MS, type Ack } from '../../../src/rollout/acks.js';
import { MemoryStore } from '../../../src/store/memory.js';

const NOW = Date.UTC(2026, 11, 1);
const ack = (agoMs: number): Ack => ({ routed: [], draining: [], at: new Date(NOW - agoMs).toISOString() });

describe('route acknowledgements', () => {
  it('a wait removes the old acknowledgements of replicas no longer live, and only those', async () => {
    const store = new MemoryStore();
    const key = (id: string) => `${ackPrefix('web')}${id}`;
    await store.put(key('live-old'), ack(2 * STALE_ACK_MS));
    await store.put(key('gone-old'), ack(STALE_ACK_MS + 1));
    await store.put(key('gone-recent'), ack(STALE_ACK_MS - 60_000));
    await store.put(`${ackPrefix('api')}gone-old`, ack(2 * STALE_ACK_MS));
    const acks = new RouteAcks({
      store,
      self: 'live-old',
      live: async () => ['live-old'],
      log: silentLogger,
      now: () => NOW,
    });
    expect(await acks.waitClear('web', ['127.0.0.1:9002'], 1_000)).toEqual({ clear: true });
    expect(await store.keys(ackPrefix('web'))).toEqual([key('gone-recent'), key('live-old')]);
    // Another service's are its own wait's business.
    expect(await store.keys(ackPrefix('api'))).toEqual([`${ackPrefix('api')}gone-old`]);
  });

  it('waits on the monotonic clock: a wall clock stepped an hour forward does not cut the wait short', async () => {
    const store = new MemoryStore();
    const target = '127.0.0.1:9002';
    await store.put(`${ackPrefix('web')}other`, { routed: [target], draining: [], at: new Date(NOW).toISOString() });
    let wall = NOW;
    let lists = 0;
    const other = `${ackPrefix('web')}other`;
    const acks = new RouteAcks({
      store,
      self: 'me',
      // The other replica moves off the target only after the wait has looked once (the prune lists, then
      // each round): a wait cut short by the wall clock would have given up by then.
      live: async () => {
        if (++lists === 3) await store.put(other, { routed: [], draining: [], at: new Date(NOW).toISOString() });
        return ['me', 'other'];
      },
      log: silentLogger,
      now: () => (wall += 3_600_000), // every read an hour later
      monotonic: { now: () => 0 }, // no time passes for the wait's bound
    });
    await store.put(`${ackPrefix('web')}me`, { routed: [], draining: [], at: new Date(NOW).toISOString() });
    const waiting = acks.waitClear('web', [target], 60_000);
    expect(await waiting).toEqual({ clear: true });
  });
});
