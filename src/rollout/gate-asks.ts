// The leader's gate asks, one per service at most: the pending gate is asked once for each recorded
// state of its wait (at once when it falls due, then an analysisInterval after each refusal), and
// the answer is handed to the machine, which ignores it if the rollout moved on meanwhile. The HTTP
// call runs outside the service's queue, so an operator's abort never waits for a slow gate.
// Exactly once per occasion on one leader; a new leader asks a gate whose answer was not recorded
// again (the answer may have been a pass that the old leader did not live to record).
import type { Clock } from '../domain/clock.js';
import type { GateAnswer, GateConfig } from '../domain/gate.js';
import type { RolloutState } from '../domain/rollout.js';
import { gateConfig, gateRequest, nextAskAt, type GateRequest } from './gate-wait.js';
import type { MachineEvent } from './machine.js';

/** Asks one gate (with its timeout and retries); never rejects. */
export interface GateCaller {
  ask(gate: GateConfig, request: GateRequest, signal: AbortSignal): Promise<GateAnswer>;
}

/** What the asks need of the leader. */
export interface GateHost {
  clock: Clock;
  /** Whether this replica may act (leads, not stopping). */
  acting(): boolean;
  token(): number | null;
  /** Applies the event in the service's queue; whether it was recorded. */
  feed(service: string, event: MachineEvent, token: number | null): Promise<boolean>;
  track(p: Promise<void>): void;
}

interface Ask {
  key: string;
  abort: AbortController;
  timer: NodeJS.Timeout | null;
}

const noCaller: GateCaller = {
  ask: async () => ({ passed: false, status: null, error: 'no gate client here', firstLine: '', attempts: 0 }),
};

export class GateAsks {
  private readonly asks = new Map<string, Ask>();

  constructor(
    private readonly caller: GateCaller | undefined,
    private readonly host: GateHost,
  ) {}

  /** Asks `s`'s pending gate when due, unless this very wait is asked (or scheduled) already. */
  ask(service: string, s: RolloutState): void {
    const wait = s.gate;
    if (!wait || !this.host.acting()) return;
    const key = `${s.id}/${wait.name}/${wait.since}/${wait.refusals}`;
    if (this.asks.get(service)?.key === key) return;
    this.stop(service);
    const ask: Ask = { key, abort: new AbortController(), timer: null };
    this.asks.set(service, ask);
    this.later(service, s, ask, nextAskAt(s) - this.host.clock.now());
  }

  stop(service: string): void {
    const ask = this.asks.get(service);
    if (!ask) return;
    ask.abort.abort();
    if (ask.timer) clearTimeout(ask.timer);
    this.asks.delete(service);
  }

  stopAll(): void {
    for (const service of [...this.asks.keys()]) this.stop(service);
  }

  private later(service: string, s: RolloutState, ask: Ask, ms: number): void {
    ask.timer = setTimeout(
      () => {
        ask.timer = null;
        this.host.track(this.call(service, s, ask));
      },
      Math.max(0, ms),
    );
    ask.timer.unref();
  }

  private async call(service: string, s: RolloutState, ask: Ask): Promise<void> {
    const wait = s.gate;
    const gate = wait ? gateConfig(s, wait.name) : undefined;
    if (!wait || !gate || ask.abort.signal.aborted || !this.host.acting()) return;
    const token = this.host.token();
    const answer = await (this.caller ?? noCaller).ask(gate, gateRequest(s, wait.name), ask.abort.signal);
    if (ask.abort.signal.aborted || !this.host.acting() || this.host.token() !== token) return;
    const event: MachineEvent = { type: 'gate', gate: wait.name, since: wait.since, answer };
    const recorded = await this.host.feed(service, event, token);
    // Not recorded (the store refused or is away) and the rollout still waits as it did: ask again
    // later rather than never. A recorded answer changes the wait, and the leader's wake asks anew.
    if (!recorded && this.asks.get(service) === ask) this.later(service, s, ask, s.policy.analysisInterval);
  }
}
