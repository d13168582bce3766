// The StateStore contract, shared by every adapter's tests (memory, file, and later Redis): call
// `describeStateStoreContract` with a factory that returns a fresh, empty store.
import { afterEach, describe, expect, it } from 'vitest';
import type { StateStore } from '../../../src/store/port.js';

export interface StoreUnderTest {
  store: StateStore;
  cleanup?: () => Promise<void>;
}

export function describeStateStoreContract(name: string, make: () => Promise<StoreUnderTest>): void {
  describe(`StateStore contract: ${name}`, () => {
    let current: StoreUnderTest | undefined;
    const fresh = async () => {
      current = await make();
      return current.store;
    };
    afterEach(async () => {
      await current?.store.close().catch(() => undefined);
      await current?.cleanup?.();
      current = undefined;
    });

    it('returns null for an absent key', async () => {
      const s = await fresh();
      expect(await s.get('nope')).toBeNull();
    });

    it('starts versions at 1 and adds one per unconditional write', async () => {
      const s = await fresh();
      expect(await s.put('k', { a: 1 })).toEqual({ ok: true, version: 1 });
      expect(await s.put('k', { a: 2 })).toEqual({ ok: true, version: 2 });
      expect(await s.get('k')).toEqual({ value: { a: 2 }, version: 2 });
    });

    it('expectedVersion 0 writes only when the key is absent', async () => {
      const s = await fresh();
      expect(await s.put('k', 'first', 0)).toEqual({ ok: true, version: 1 });
      expect(await s.put('k', 'second', 0)).toEqual({ ok: false, reason: 'version-conflict', currentVersion: 1 });
      expect(await s.get('k')).toEqual({ value: 'first', version: 1 });
    });

    it('expectedVersion n writes only when the current version is n', async () => {
      const s = await fresh();
      await s.put('k', 1);
      await s.put('k', 2);
      expect(await s.put('k', 'stale', 1)).toEqual({ ok: false, reason: 'version-conflict', currentVersion: 2 });
      expect(await s.put('k', 'ahead', 3)).toEqual({ ok: false, reason: 'version-conflict', currentVersion: 2 });
      expect(await s.put('absent', 'x', 4)).toEqual({ ok: false, reason: 'version-conflict', currentVersion: 0 });
      expect(await s.put('k', 'fresh', 2)).toEqual({ ok: true, version: 3 });
      expect(await s.get('k')).toEqual({ value: 'fresh', version: 3 });
      expect(await s.get('absent')).toBeNull();
    });

    it('lets exactly one of many concurrent CAS writers win', async () => {
      const s = await fresh();
      await s.put('k', 0);
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => s.put('k', i + 1, 1)));
      const winners = results.filter((r) => r.ok);
      expect(winners).toEqual([{ ok: true, version: 2 }]);
      expect(results.filter((r) => !r.ok)).toHaveLength(11);
      expect((await s.get('k'))?.version).toBe(2);
    });

    it('delete forgets the key, and its version starts again at 1', async () => {
      const s = await fresh();
      await s.put('k', 'a');
      await s.put('k', 'b');
      await s.delete('k');
      await s.delete('never-there');
      expect(await s.get('k')).toBeNull();
      expect(await s.put('k', 'c', 0)).toEqual({ ok: true, version: 1 });
    });

    it('lists keys by prefix, sorted', async () => {
      const s = await fresh();
      for (const k of ['svc/web', 'svc/api', 'lease/web', 'svc/', 'sv']) await s.put(k, true);
      expect(await s.keys('svc/')).toEqual(['svc/', 'svc/api', 'svc/web']);
      expect(await s.keys('')).toEqual(['lease/web', 'sv', 'svc/', 'svc/api', 'svc/web']);
      expect(await s.keys('x')).toEqual([]);
    });

    it('stores copies: mutating what was put or what was read changes nothing', async () => {
      const s = await fresh();
      const value = { steps: [5, 10], meta: { phase: 'progressing' } };
      await s.put('k', value);
      value.steps.push(99);
      value.meta.phase = 'hacked';
      const read = await s.get<typeof value>('k');
      read?.value.steps.push(42);
      expect(await s.get('k')).toEqual({ value: { steps: [5, 10], meta: { phase: 'progressing' } }, version: 1 });
    });

    it('rejects a malformed expectedVersion as a programming error', async () => {
      const s = await fresh();
      await expect(s.put('k', 1, -1)).rejects.toThrow(TypeError);
      await expect(s.put('k', 1, 1.5)).rejects.toThrow(TypeError);
      expect(await s.get('k')).toBeNull();
    });

    it('rejects operations after close', async () => {
      const s = await fresh();
      await s.put('k', 1);
      await s.close();
      await expect(s.get('k')).rejects.toMatchObject({ code: 'unavailable' });
      await expect(s.put('k', 2)).rejects.toMatchObject({ code: 'unavailable' });
    });
  });
}
