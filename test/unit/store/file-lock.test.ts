// Who holds a state file's lock, as seen from this process: the decision alone (file-lock.ts says why).
import { describe, expect, it } from 'vitest';
import { holderOf, type LockOwner } from '../../../src/store/file-lock.js';

const self: LockOwner = { pid: 1, hostname: 'veer-a', id: 'mine' };
const alive = (pids: number[]) => (pid: number) => pids.includes(pid);

describe('holderOf', () => {
  it('a live process on this host holds it; a dead one does not', () => {
    const other = { pid: 42, hostname: 'veer-a', id: 'x' };
    expect(holderOf(other, self, false, alive([42]))).toEqual({ held: true, why: 'alive' });
    expect(holderOf(other, self, false, alive([]))).toEqual({ held: false });
  });

  it('our own pid is a previous run of this host (a restarted container) unless this process holds it', () => {
    const previous = { pid: 1, hostname: 'veer-a', id: 'before-restart' };
    expect(holderOf(previous, self, false, alive([1]))).toEqual({ held: false });
    expect(holderOf(previous, self, true, alive([1]))).toEqual({ held: true, why: 'here' });
  });

  it('another host holds it whatever its pid looks like here (its liveness cannot be checked)', () => {
    const remote = { pid: 1, hostname: 'veer-b', id: 'x' };
    expect(holderOf(remote, self, false, alive([]))).toEqual({ held: true, why: 'remote' });
    expect(holderOf({ ...remote, pid: 77 }, self, false, alive([]))).toEqual({ held: true, why: 'remote' });
  });
});
