import { expect, it } from 'vitest';
import { MemoryStore } from '../../../src/store/memory.js';
import { describeStateStoreContract } from './contract.js';

describeStateStoreContract('MemoryStore', async () => ({ store: new MemoryStore() }));

it('keeps separate instances separate', async () => {
  const a = new MemoryStore();
  const b = new MemoryStore();
  await a.put('k', 'a');
  expect(await b.get('k')).toBeNull();
});
