// What the workers are sent of a data-plane snapshot: only the services that changed since the last one
// (with every name, in order, so a removed or reordered service is seen too), and the targets' verdicts and
// maintenance whole (a few bytes per target). A shift of one service among a thousand sent the whole
// service set, configs and all, and each worker rebuilt every route: ~150 ms to reach them, against 50.
import type { PlaneDelta, PlaneSnapshot, ServiceSnapshot } from '../dataplane/plane-snapshot.js';

export class SnapshotDiff {
  /** Each service as last sent, as text, by name. */
  private sent = new Map<string, string>();
  private names = '';
  private rest = '';
  /**
   * A config's text, by the object: configs are parsed anew on a reload and never changed in place, so
   * a shift does not write a thousand configs out again to find the one service it changed.
   */
  private readonly configs = new WeakMap<object, string>();

  /** The change from the last snapshot given here (none at first: every service) to `snap`; null: none. */
  next(snap: PlaneSnapshot): PlaneDelta | null {
    const texts = new Map<string, string>();
    const services: ServiceSnapshot[] = [];
    for (const s of snap.services) {
      const text = this.textOf(s);
      texts.set(s.config.name, text);
      if (this.sent.get(s.config.name) !== text) services.push(s);
    }
    const names = [...texts.keys()];
    const [order, rest] = [JSON.stringify(names), JSON.stringify([snap.targets, snap.maintenance])];
    if (services.length === 0 && order === this.names && rest === this.rest) return null;
    [this.sent, this.names, this.rest] = [texts, order, rest];
    return { names, services, targets: snap.targets, maintenance: snap.maintenance };
  }

  private textOf(s: ServiceSnapshot): string {
    let config = this.configs.get(s.config);
    if (config === undefined) this.configs.set(s.config, (config = JSON.stringify(s.config)));
    return `${config}\n${JSON.stringify([s.weightBp, s.stable, s.canary, s.retryOverride, s.targeting, s.rolloutId])}`;
  }
}
