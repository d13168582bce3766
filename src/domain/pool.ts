export type PoolName = 'stable' | 'canary';
export const POOL_NAMES: readonly PoolName[] = ['stable', 'canary'];

export function isPoolName(s: unknown): s is PoolName {
  return s === 'stable' || s === 'canary';
}
