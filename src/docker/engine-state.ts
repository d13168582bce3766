// What the membership watcher knows of each engine: the containers it listed last, and whether it
// answers. An engine that stops answering keeps its last listing: its containers stay members,
// marked stale, while health checks and outlier ejection protect traffic, until a listing succeeds
// again and membership is reconciled with what the engine says. An engine that has not answered once
// since this veer started has no listing to keep: the members recorded before (by this veer's
// previous run or another leader) that no answering engine accounts for are kept, stale, instead.
import type { Member } from '../domain/route.js';
import type { ContainerView } from './port.js';

export type Transition = 'down' | 'back' | null;

export class EngineStates {
  private readonly cache = new Map<string, Map<string, ContainerView>>();
  /** Endpoint → why it does not answer. */
  private readonly down = new Map<string, string>();
  /** Engines that answered a listing at least once. */
  private readonly listed = new Set<string>();

  constructor(endpoints: readonly string[]) {
    for (const e of endpoints) this.cache.set(e, new Map());
  }

  /** The engine's cached containers, kept current by events between listings. */
  of(endpoint: string): Map<string, ContainerView> {
    return this.cache.get(endpoint) as Map<string, ContainerView>;
  }

  /** A listing succeeded: it replaces the cache. 'back' when the engine did not answer before. */
  answered(endpoint: string, byId: Map<string, ContainerView>): Transition {
    this.cache.set(endpoint, byId);
    this.listed.add(endpoint);
    return this.down.delete(endpoint) ? 'back' : null;
  }

  /** A listing failed: the cache stays as it was. 'down' when the engine answered until now. */
  failed(endpoint: string, error: string): Transition {
    const was = this.down.has(endpoint);
    this.down.set(endpoint, error);
    return was ? null : 'down';
  }

  /** Whether the engine has a listing of its own (else what it runs is not known at all). */
  wasListed(endpoint: string): boolean {
    return this.listed.has(endpoint);
  }

  /** Containers of the engines that answer. */
  live(): ContainerView[] {
    return this.collect((endpoint) => !this.down.has(endpoint));
  }

  /** The last listing of the engines that do not answer now. */
  stale(): ContainerView[] {
    return this.collect((endpoint) => this.down.has(endpoint));
  }

  /** Some engine `within` has never answered: what it runs is unknown. */
  unknown(within: (endpoint: string) => boolean = () => true): boolean {
    return [...this.cache.keys()].some((e) => within(e) && !this.listed.has(e));
  }

  private collect(which: (endpoint: string) => boolean): ContainerView[] {
    const out: ContainerView[] = [];
    for (const [endpoint, byId] of this.cache) if (which(endpoint)) out.push(...byId.values());
    return out;
  }
}

const keyOf = (m: Member): string => `${m.role}|${m.address}`;

const staleCopy = (m: Member): Member => ({
  address: m.address,
  generation: m.generation,
  created: m.created,
  role: m.role,
  stale: true,
});

/**
 * The members to record: what answering engines list, plus (marked stale) what the engines that do
 * not answer listed last, plus - while some engine has never answered - the recorded members nobody
 * else accounts for. A live member wins over a stale one at the same address and role.
 */
export function withStale(live: readonly Member[], last: readonly Member[], kept: readonly Member[] | null): Member[] {
  const out = new Map<string, Member>();
  for (const m of live) out.set(keyOf(m), m);
  for (const m of [...last, ...(kept ?? [])]) if (!out.has(keyOf(m))) out.set(keyOf(m), staleCopy(m));
  return [...out.values()].sort((a, b) => compare(a.address, b.address) || compare(a.role, b.role));
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
