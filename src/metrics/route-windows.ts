// A pool's traffic per route group: one small window per group, created when the group's first
// request is recorded. The data plane records groups only while a service routes a canary, so the
// memory (about 1 KiB per second of ring per group) is spent only where a judge reads it.
import type { FailureKind } from '../domain/upstream-failure.js';
import type { RouteGroups } from './route-groups.js';
import type { MergeOutcome, TotalsLike, WindowTotals } from './window.js';

/** Five minutes: the judge's stable reference looks that far back. */
export const ROUTE_WINDOW_SECONDS = 300;

/** What RouteWindows needs of a window (PoolWindow, without importing it back). */
export interface GroupWindow {
  record(nowMs: number, status: number, latencyMs: number): void;
  recordFailure(nowMs: number, kind: FailureKind, latencyMs: number): void;
  totals(fromMs: number, toMs: number): WindowTotals;
  mergeSecond(rec: { sec: number } & TotalsLike): MergeOutcome;
}

export class RouteWindows {
  private groups: RouteGroups | null = null;
  private windows: GroupWindow[] = [];

  constructor(private readonly create: () => GroupWindow) {}

  /** The service's groups; new groups (another classification) start with empty windows. */
  use(groups: RouteGroups): void {
    if (groups === this.groups) return;
    this.groups = groups;
    this.windows = [];
  }

  /** The window of group `i` of the groups in use. */
  at(i: number): GroupWindow {
    return (this.windows[i] ??= this.create());
  }

  /** The window of the group a request's code names (RouteGroups.code), null for groups no longer in use. */
  coded(code: number): GroupWindow | null {
    const i = this.groups === null ? -1 : this.groups.groupOfCode(code);
    return i < 0 ? null : this.at(i);
  }

  /** The window of a group by name (another replica's record), null without groups in use. */
  named(name: string): GroupWindow | null {
    return this.groups === null ? null : this.at(this.groups.indexOf(name));
  }

  /** Each group's totals over the range, by name; undefined when no group has a window. */
  totals(fromMs: number, toMs: number): Record<string, WindowTotals> | undefined {
    if (this.groups === null || this.windows.length === 0) return undefined;
    const out: Record<string, WindowTotals> = {};
    let any = false;
    this.windows.forEach((w, i) => {
      const t = w.totals(fromMs, toMs);
      if (t.requests === 0) return;
      out[this.groups?.names[i] as string] = t;
      any = true;
    });
    return any ? out : undefined;
  }
}
