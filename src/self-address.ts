// veer's own addresses at run time: the configured listeners until they are bound, then the bound
// ones (a configured port 0 only becomes a real port there). Backs the admin API's refusal of
// rollouts whose canary is veer itself.
import type { AddressInfo } from 'node:net';
import type { Config } from './config/schema.js';
import { hostAddresses, selfTarget, type Listener, type ListenerRole } from './domain/self-address.js';
import type { TargetAddress } from './domain/target.js';

export class SelfAddresses {
  private listeners: Listener[];

  constructor(
    config: Pick<Config, 'listen' | 'admin' | 'tls'>,
    private readonly local: () => ReadonlySet<string> = hostAddresses,
  ) {
    this.listeners = [
      { role: 'data-plane', ...config.listen },
      { role: 'admin', ...config.admin.listen },
      ...(config.tls === undefined ? [] : [{ role: 'tls' as const, ...config.tls.listen }]),
    ];
  }

  /** Replaces the configured addresses with the bound ones. */
  bound(addresses: Partial<Record<ListenerRole, AddressInfo>>): void {
    this.listeners = (Object.entries(addresses) as Array<[ListenerRole, AddressInfo]>).map(([role, a]) => ({
      role,
      host: a.address,
      port: a.port,
    }));
  }

  /** A reload moved one listener. */
  moved(role: ListenerRole, a: AddressInfo): void {
    this.listeners = [...this.listeners.filter((l) => l.role !== role), { role, host: a.address, port: a.port }];
  }

  /** For AdminDeps.isSelf: null when the target is not veer, else why it is. */
  readonly isSelf = (target: TargetAddress): string | null => selfTarget(target, this.listeners, this.local());
}
