export type PoolName = 'stable' | 'canary';
export const POOL_NAMES: readonly PoolName[] = ['stable', 'canary'];
