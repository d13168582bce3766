// What the workers are sent of a data-plane snapshot: only the services whose state changed since the last
// one (with every name, in order, when a service was added, removed or moved), the targets whose verdicts
// changed, and the maintenance switches. A shift of one service among a thousand sent the whole service set,
// configs and all, and each worker rebuilt every route: ~150 ms to reach them, against 50.
//
// A target not named keeps its verdicts in a worker: the worker's targets are the primary's, version by
// version, and one that leaves routing is forgotten here too, so it is named again whenever it comes back.
import type { PlaneDelta, PlaneSnapshot, ServiceSnapshot, TargetFlags } from '../dataplane/plane-snapshot.js';

interface Sent {
  config: object;
  /** Everything of the service's state but its config, as text. */
  state: string;
}

const flagsOf = (f: TargetFlags): string => `${+f.healthy}${+f.pending}${+f.ready}${+f.wasReady}`;

export class SnapshotDiff {
  /** Each service as last sent, by name. */
  private sent = new Map<string, Sent>();
  private names = '';
  /** Each target's verdicts as last sent, by its upstream's key. */
  private flags = new Map<string, string>();
  private maintenance = '';
  /**
   * A config's text, by the object: configs are parsed anew on a reload and never changed in place, so a
   * config is compared as text only when a reload gave the service another object.
   */
  private readonly configs = new WeakMap<object, string>();

  /** The change from the last snapshot given here (none at first: everything) to `snap`; null: none. */
  next(snap: PlaneSnapshot): PlaneDelta | null {
    const sent = new Map<string, Sent>();
    const services: ServiceSnapshot[] = [];
    for (const s of snap.services) {
      const now = { config: s.config, state: stateOf(s) };
      const before = this.sent.get(s.config.name);
      sent.set(s.config.name, now);
      if (before === undefined || before.state !== now.state || !this.sameConfig(before.config, now.config))
        services.push(s);
    }
    const flags = new Map<string, string>();
    const targets: TargetFlags[] = [];
    for (const f of snap.targets) {
      const text = flagsOf(f);
      flags.set(f.key, text);
      if (this.flags.get(f.key) !== text) targets.push(f);
    }
    const names = [...sent.keys()];
    const [order, maintenance] = [JSON.stringify(names), JSON.stringify(snap.maintenance)];
    const sameNames = order === this.names;
    if (services.length === 0 && targets.length === 0 && sameNames && maintenance === this.maintenance) return null;
    [this.sent, this.names, this.flags, this.maintenance] = [sent, order, flags, maintenance];
    return { names: sameNames ? null : names, services, targets, maintenance: snap.maintenance };
  }

  private sameConfig(a: object, b: object): boolean {
    return a === b || this.textOf(a) === this.textOf(b);
  }

  private textOf(config: object): string {
    let text = this.configs.get(config);
    if (text === undefined) this.configs.set(config, (text = JSON.stringify(config)));
    return text;
  }
}

function stateOf(s: ServiceSnapshot): string {
  return JSON.stringify([s.weightBp, s.stable, s.canary, s.retryOverride, s.targeting, s.rolloutId, s.pages]);
}
