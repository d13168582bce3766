// Who holds a state file's lock, as seen from this process: the decision alone (file-lock.ts says why).
import { describe, expect, it } from 'vitest';
import { boxOf, holderOf, type LockOwner } from '../../../src/store/file-lock.js';

const self: LockOwner = { pid: 1, hostname: 'veer-a', box: '', pidns: 'pid:[4026531836]', id: 'mine' };
const here = { hostname: 'veer-a', box: '', pidns: 'pid:[4026531836]' };
const other = (): LockOwner => ({ ...here, pid: 42, id: 'x' });
const alive = (pids: number[]) => (pid: number) => pids.includes(pid);

describe('holderOf', () => {
  it('a live process on this host holds it; a dead one does not', () => {
    expect(holderOf(other(), self, false, alive([42]))).toEqual({ held: true, why: 'alive' });
    expect(holderOf(other(), self, false, alive([]))).toEqual({ held: false });
  });

  it('our own pid is a previous run of this host (a restarted container) unless this process holds it', () => {
    const previous = { ...here, pid: 1, id: 'before-restart' };
    expect(holderOf(previous, self, false, alive([1]))).toEqual({ held: false });
    expect(holderOf(previous, self, true, alive([1]))).toEqual({ held: true, why: 'here' });
  });

  it('another host holds it whatever its pid looks like here (its liveness cannot be checked)', () => {
    const remote = { ...here, pid: 1, hostname: 'veer-b', id: 'x' };
    expect(holderOf(remote, self, false, alive([]))).toEqual({ held: true, why: 'remote' });
    expect(holderOf({ ...remote, pid: 77 }, self, false, alive([]))).toEqual({ held: true, why: 'remote' });
  });

  it('a sibling container with the host’s hostname (`--network host`) holds it, even at our pid 1', () => {
    const box = (id: string) => `/var/lib/docker/containers/${id}/hostname`;
    const me = { ...self, box: box('aaa'), pidns: 'pid:[4026532201]' };
    const sibling = { ...me, box: box('bbb'), pidns: 'pid:[4026532305]', id: 'x' };
    expect(holderOf(sibling, me, false, alive([1]))).toEqual({ held: true, why: 'remote' });
    // The same container restarted: a new pid namespace, where the old run's pid means nothing.
    const before = { ...me, pid: 7, pidns: 'pid:[4026532150]', id: 'x' };
    expect(holderOf(before, me, false, alive([7]))).toEqual({ held: false });
    // Outside a container another pid namespace is nothing this process can check.
    expect(holderOf({ ...other(), pidns: 'pid:[4026532999]' }, self, false, alive([]))).toMatchObject({ held: true });
  });
});

describe('boxOf', () => {
  it('is the source of the /etc/hostname bind mount, else empty', () => {
    const mountinfo = [
      '590 1 0:50 / / rw,relatime - overlay overlay rw',
      '612 590 254:1 /var/lib/docker/containers/abc/hostname /etc/hostname rw,relatime - ext4 /dev/vda1 rw',
    ].join('\n');
    expect(boxOf(mountinfo)).toBe('/var/lib/docker/containers/abc/hostname');
    expect(boxOf('25 1 8:1 / / rw - ext4 /dev/sda1 rw')).toBe('');
  });
});
