// The rollout controller stepped by hand, phase by phase (in the style of Flagger's scheduler tests):
// fakes only - an in-memory store, a manual clock, real metric windows fed with synthetic traffic,
// acknowledgements the test releases - and the route read back through the same projection every
// replica computes.
import { afterEach, describe, expect, it } from 'vitest';
import type { RolloutStatus } from '../../../src/api/ports.js';
import { rolloutPolicySchema } from '../../../src/config/schema.js';
import type { Result } from '../../../src/domain/errors.js';
import { silentLogger } from '../../../src/domain/log.js';
import type { PoolName } from '../../../src/domain/pool.js';
import type { RolloutEvent, RolloutState } from '../../../src/domain/rollout.js';
import { routeFor, type Route, type RoutedService } from '../../../src/domain/route.js';
import { PoolWindow } from '../../../src/metrics/window.js';
import type { AckWait } from '../../../src/rollout/acks.js';
import { RolloutController } from '../../../src/rollout/controller.js';
import { Records, rolloutKey } from '../../../src/rollout/records.js';
import { MemoryStore } from '../../../src/store/memory.js';

const T0 = Date.UTC(2026, 0, 1); // a whole second: analysis windows start at whole seconds
const SVC = 'web';
const STABLE = '127.0.0.1:9001';
const CANARY = '127.0.0.1:9002';
// Two steps (20% then 50%), a step lasts 4s, analyses every 2s, 50 canary requests per step.
const POLICY = rolloutPolicySchema.parse({
  steps: [20, 50],
  stepInterval: '4s',
  analysisInterval: '2s',
  minRequests: 50,
  failureLimit: 2,
  drainTimeout: '10s',
});
const START = { canary: { targets: [CANARY] }, rollout: {} };
const NO_OPTS = { full: false, reason: null };

/** Bounded wait for a condition, one macrotask turn at a time (never a fixed sleep). */
async function until(pred: () => boolean, what: string, turns = 500): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (pred()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`not reached within ${turns} turns: ${what}`);
}

/** Lets queued work run for a few turns (to show that something does NOT happen). */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

/** Routing acknowledgements: records every wait; held until released unless `auto`. */
class AckGate {
  readonly calls: { service: string; targets: string[]; waitMs: number }[] = [];
  private readonly held: (() => void)[] = [];

  constructor(private auto: boolean) {}

  readonly waitClear = async (service: string, targets: readonly string[], waitMs: number): Promise<AckWait> => {
    this.calls.push({ service, targets: [...targets], waitMs });
    if (!this.auto) await new Promise<void>((r) => this.held.push(r));
    return { clear: true };
  };

  release(): void {
    this.auto = true;
    for (const r of this.held.splice(0)) r();
  }
}

type Emitted = Omit<RolloutEvent, 'seq' | 'at'>;

const service: RoutedService = {
  name: SVC,
  stable: [STABLE],
  canary: [],
  weightBp: 0,
  configHash: 'cfg-1',
  docker: null,
};

const live: Harness[] = [];

interface Harness {
  store: MemoryStore;
  records: Records;
  controller: RolloutController;
  acks: AckGate;
  events: Emitted[];
  kinds(): string[];
  now(): number;
  advance(ms: number): void;
  route(): Route;
  state(): RolloutState;
  /** Records `perSec` requests a second into each pool over [from, to) (canary answering `canaryStatus`). */
  traffic(from: number, to: number, opts?: { perSec?: number; canaryStatus?: number }): void;
}

function harness(opts: { store?: MemoryStore; ids?: string[]; autoAck?: boolean } = {}): Harness {
  const store = opts.store ?? new MemoryStore();
  let t = T0;
  const records = new Records({ store, log: silentLogger });
  const windows: Record<PoolName, PoolWindow> = {
    stable: new PoolWindow({ seconds: 900 }),
    canary: new PoolWindow({ seconds: 900 }),
  };
  const events: Emitted[] = [];
  const ids = [...(opts.ids ?? ['r1', 'r2', 'r3'])];
  const acks = new AckGate(opts.autoAck ?? false);
  // The route this replica applies: the projection of the records it holds.
  const routeOf = (name: string): Route | null =>
    name === SVC
      ? routeFor({
          service,
          manual: records.manual(name),
          rollout: records.rollout(name)?.value ?? null,
          members: records.members(name),
        })
      : null;
  const controller = new RolloutController({
    clock: { now: () => t },
    log: silentLogger,
    records,
    services: [SVC],
    metrics: { totals: async (_s, pool, from, to) => windows[pool].totals(from, to) },
    emit: (e) => void events.push(e),
    policyOf: (name) => (name === SVC ? POLICY : undefined),
    configHash: () => service.configHash,
    routeOf,
    acks,
    newId: () => ids.shift() ?? 'r-extra',
    timers: false,
  });
  const h: Harness = {
    store,
    records,
    controller,
    acks,
    events,
    kinds: () => events.map((e) => e.kind),
    now: () => t,
    advance: (ms) => void (t += ms),
    route: () => routeOf(SVC) as Route,
    state: () => {
      const s = controller.latest(SVC);
      if (s === null) throw new Error('no rollout on record');
      return s;
    },
    traffic: (from, to, o = {}) => {
      const perSec = o.perSec ?? 40;
      for (let sec = from; sec < to; sec += 1000) {
        for (let i = 0; i < perSec; i++) {
          const at = sec + Math.floor((i * 1000) / perSec);
          windows.stable.record(at, 200, 10);
          windows.canary.record(at, o.canaryStatus ?? 200, 10);
        }
      }
    },
  };
  live.push(h);
  return h;
}

/** One analysis interval later, with traffic over it, analysed. */
async function interval(h: Harness, opts: { canaryStatus?: number } = {}): Promise<void> {
  const from = h.now();
  h.advance(POLICY.analysisInterval);
  h.traffic(from, h.now(), opts);
  await h.controller.analyze(SVC);
}

function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`unexpected error: ${r.error.message}`);
  return r.value;
}

async function started(h: Harness): Promise<RolloutStatus> {
  await h.controller.restore();
  return value(await h.controller.start(SVC, START, POLICY));
}

const TOO_SHORT = 'not enough data: the canary had traffic in 2 s of this step, a verdict needs 4 s';

const ROUTE_RUNNING = (weightBp: number, rolloutId = 'r1'): Route => ({
  weightBp,
  stable: [STABLE],
  canary: [CANARY],
  draining: [],
  retryCanaryOnStable: false,
  targeting: [],
  rolloutId,
});
const ROUTE_ROLLING_BACK: Route = {
  weightBp: 0,
  stable: [STABLE],
  canary: [],
  draining: [CANARY],
  retryCanaryOnStable: false,
  targeting: [],
  rolloutId: null,
};
const ROUTE_BACK: Route = {
  weightBp: 0,
  stable: [STABLE],
  canary: [],
  draining: [],
  retryCanaryOnStable: null,
  targeting: [],
  rolloutId: null,
};

afterEach(async () => {
  for (const h of live.splice(0)) {
    h.acks.release();
    await h.controller.stop();
  }
});

describe('RolloutController, stepped by hand', () => {
  it('promotes a healthy canary step by step: progressing → promoting → succeeded', async () => {
    const h = harness();
    const st = await started(h);
    // Static targets with no health gate: ready at once, the first step's weight.
    expect(st).toMatchObject({ id: 'r1', phase: 'progressing', step: 0, weight: 20 });
    expect(h.state()).toMatchObject({ stableTargets: [STABLE], canaryTargets: [CANARY], configHash: 'cfg-1' });
    expect(h.route()).toEqual(ROUTE_RUNNING(2000));
    expect(h.kinds()).toEqual(['started', 'canary-ready']);

    // No whole second has passed: nothing to analyse yet.
    await h.controller.analyze(SVC);
    expect(h.kinds()).toEqual(['started', 'canary-ready']);

    // t+2s: holds: a verdict needs 4 s of the step's traffic (the least evidence a failure rests on).
    await interval(h);
    expect(h.state()).toMatchObject({ phase: 'progressing', step: 0, weightBp: 2000, lastAnalysisAt: T0 + 2000 });
    expect(h.state().lastVerdict?.result).toBe('inconclusive');
    expect(h.state().lastVerdict?.reason).toBe(TOO_SHORT);
    expect(h.state().lastVerdict?.canary.requests).toBe(80);
    expect(h.events.at(-1)).toMatchObject({ kind: 'analysis', rolloutId: 'r1', phase: 'progressing', weight: 20 });

    // t+4s: passes again and the step lasted stepInterval: next step.
    await interval(h);
    expect(h.state()).toMatchObject({ phase: 'progressing', step: 1, weightBp: 5000, stepStartedAt: T0 + 4000 });
    expect(h.route()).toEqual(ROUTE_RUNNING(5000));
    expect(h.events.at(-1)).toMatchObject({ kind: 'step', weight: 50 });

    // t+6s: within the step.
    await interval(h);
    expect(h.state()).toMatchObject({ phase: 'progressing', step: 1 });
    // The step's own window: only the 2s since the step began count.
    expect(h.state().lastVerdict?.canary.requests).toBe(80);

    // t+8s: the last step passed: promoting. The canary is the stable pool now, the old one drains.
    await interval(h);
    expect(h.state().phase, h.state().lastVerdict?.reason).toBe('promoting');
    expect(h.route()).toEqual({
      weightBp: 0,
      stable: [CANARY],
      canary: [],
      draining: [STABLE],
      retryCanaryOnStable: false,
      targeting: [],
      rolloutId: null,
    });
    await until(() => h.acks.calls.length === 1, 'the leader waits for acknowledgements');
    expect(h.acks.calls[0]).toEqual({
      service: SVC,
      targets: [STABLE],
      waitMs: POLICY.drainTimeout + 5000,
    });
    await turns(20);
    expect(h.state().phase).toBe('promoting'); // not before every replica acknowledged

    h.acks.release();
    await until(() => h.state().phase === 'succeeded', 'succeeded after retirement');
    expect(h.route()).toEqual({ ...ROUTE_BACK, stable: [CANARY] });
    expect(h.controller.active(SVC)).toBeNull();
    expect(h.controller.status(SVC)).toMatchObject({ phase: 'succeeded', step: 1 });
    expect(h.kinds()).toEqual(['started', 'canary-ready', 'analysis', 'step', 'analysis', 'promoting', 'succeeded']);
    // Persisted, not only cached.
    expect((await h.store.get<RolloutState>(rolloutKey(SVC)))?.value.phase).toBe('succeeded');
    expect(h.acks.calls).toHaveLength(1);
  });

  it('rolls a failing canary back: rolling-back → rolled-back', async () => {
    const h = harness();
    await started(h);
    // Every canary request failed. One second supplies at most 2/7 of the evidence a failure needs
    // (errors): the first 2 s hold, 4 s fail, and the next interval confirms on its own data.
    await interval(h, { canaryStatus: 503 });
    expect(h.state()).toMatchObject({ phase: 'progressing', failures: 0 });
    expect(h.state().lastVerdict?.result).toBe('inconclusive');
    await interval(h, { canaryStatus: 503 });
    expect(h.state()).toMatchObject({ phase: 'progressing', failures: 1 });
    expect(h.state().lastVerdict).toMatchObject({ result: 'fail', failFast: false });
    await interval(h, { canaryStatus: 503 });
    expect(h.state()).toMatchObject({ phase: 'rolling-back', rollbackOutcome: 'rolled-back', weightBp: 0 });
    expect(h.state().lastVerdict).toMatchObject({ result: 'fail' });
    expect(h.route()).toEqual(ROUTE_ROLLING_BACK);
    await until(() => h.acks.calls.length === 1, 'the leader waits for acknowledgements');
    expect(h.acks.calls[0]?.targets).toEqual([CANARY]);

    h.acks.release();
    await until(() => h.state().phase === 'rolled-back', 'rolled back after retirement');
    expect(h.route()).toEqual(ROUTE_BACK);
    expect(h.state().reason).toMatch(/^rolled back \(2 failed analyses in a row\)/);
    expect(h.kinds()).toEqual(['started', 'canary-ready', 'analysis', 'analysis', 'rolling-back', 'rolled-back']);
  });

  it('an operator abort during progressing drains the canary and ends aborted', async () => {
    const h = harness();
    await started(h);
    await interval(h);
    const st = value(await h.controller.act(SVC, 'abort', { full: false, reason: 'bad deploy' }));
    expect(st).toMatchObject({ phase: 'rolling-back', weight: 0, reason: 'bad deploy' });
    expect(h.state().rollbackOutcome).toBe('aborted');
    expect(h.route()).toEqual(ROUTE_ROLLING_BACK);
    await until(() => h.acks.calls.length === 1, 'the leader waits for acknowledgements');
    expect(h.acks.calls[0]?.targets).toEqual([CANARY]);

    // Analyses while rolling back change nothing, and neither does a shift: it would cut the drain short.
    await interval(h);
    expect(h.state().phase).toBe('rolling-back');
    const shift = await h.controller.shift(SVC, 5000);
    expect(shift.ok).toBe(false);
    if (!shift.ok) expect(shift.error.code).toBe('invalid_phase');
    expect(h.state()).toMatchObject({ phase: 'rolling-back', weightBp: 0 });

    h.acks.release();
    await until(() => h.state().phase === 'aborted', 'aborted after retirement');
    expect(h.route()).toEqual(ROUTE_BACK);
    expect(h.kinds()).toEqual(['started', 'canary-ready', 'analysis', 'rolling-back', 'aborted']);

    const again = await h.controller.act(SVC, 'abort', NO_OPTS);
    expect(again.ok).toBe(false);
    if (!again.ok) expect(again.error.code).toBe('invalid_phase');
  });

  it('pause holds the weight and the analyses; resume restarts the step clock', async () => {
    const h = harness();
    await started(h);
    const paused = value(await h.controller.act(SVC, 'pause', { full: false, reason: 'look at logs' }));
    expect(paused).toMatchObject({ phase: 'paused', weight: 20, reason: 'look at logs' });
    expect(h.route()).toEqual(ROUTE_RUNNING(2000));

    // Paused: analyse() does nothing, however much time passes.
    await interval(h);
    await interval(h);
    expect(h.state()).toMatchObject({ phase: 'paused', lastAnalysisAt: T0, lastVerdict: null });
    expect(h.kinds()).toEqual(['started', 'canary-ready', 'paused']);

    const resumed = value(await h.controller.act(SVC, 'resume', NO_OPTS));
    expect(resumed).toMatchObject({ phase: 'progressing', step: 0, weight: 20 });
    expect(h.state().stepStartedAt).toBe(T0 + 4000);

    // 2s after the resume: the paused time does not count toward the step (2 s of it so far).
    await interval(h);
    expect(h.state()).toMatchObject({ phase: 'progressing', step: 0 });
    expect(h.state().lastVerdict?.reason).toBe(TOO_SHORT);
    // 4s after the resume: the next step.
    await interval(h);
    expect(h.state()).toMatchObject({ phase: 'progressing', step: 1, weightBp: 5000 });
    expect(h.kinds()).toEqual(['started', 'canary-ready', 'paused', 'resumed', 'analysis', 'step']);
  });

  it('a manual shift during a rollout pauses it at that weight', async () => {
    const h = harness();
    await started(h);
    expect(value(await h.controller.shift(SVC, 2500))).toBe(true);
    expect(h.state()).toMatchObject({ phase: 'paused', weightBp: 2500, resumeTo: 'progressing', step: 0 });
    expect(h.state().reason).toContain('25%');
    expect(h.route()).toEqual(ROUTE_RUNNING(2500));
    expect(h.records.manual(SVC)).toBeNull(); // the rollout holds the weight, not a manual record
    expect(h.kinds()).toEqual(['started', 'canary-ready', 'paused']);

    // Resumed, it carries on from the shifted weight.
    expect(value(await h.controller.act(SVC, 'resume', NO_OPTS))).toMatchObject({ phase: 'progressing', weight: 25 });
    expect(h.route().weightBp).toBe(2500);
  });

  it('a manual shift without a rollout records the weight after the latest rollout', async () => {
    const h = harness({ autoAck: true });
    await h.controller.restore();
    expect(h.route().weightBp).toBe(0);

    // No rollout ever: after = null.
    expect(value(await h.controller.shift(SVC, 2500))).toBe(false);
    expect(h.records.manual(SVC)).toEqual({ weightBp: 2500, after: null });
    expect(h.route()).toEqual({
      weightBp: 2500,
      stable: [STABLE],
      canary: [],
      draining: [],
      retryCanaryOnStable: null,
      targeting: [],
      rolloutId: null,
    });

    // A rollout overrides it; once it is over, the weight set before it no longer applies.
    await h.controller.start(SVC, START, POLICY);
    expect(h.route().weightBp).toBe(2000);
    await h.controller.act(SVC, 'abort', NO_OPTS);
    await until(() => h.state().phase === 'aborted', 'aborted');
    expect(h.route().weightBp).toBe(0);

    // Set now: after = r1, and it applies.
    expect(value(await h.controller.shift(SVC, 3000))).toBe(false);
    expect(h.records.manual(SVC)).toEqual({ weightBp: 3000, after: 'r1' });
    expect(h.route().weightBp).toBe(3000);
    expect(h.state().phase).toBe('aborted'); // a finished rollout is not touched

    // The next rollout overrides it in turn.
    expect(value(await h.controller.start(SVC, START, POLICY))).toMatchObject({ id: 'r2', phase: 'progressing' });
    expect(h.route().weightBp).toBe(2000);
  });

  it('start is refused while a rollout is active; an unknown service is not found', async () => {
    const h = harness();
    await started(h);
    const second = await h.controller.start(SVC, START, POLICY);
    expect(second.ok).toBe(false);
    if (!second.ok) expect(second.error.code).toBe('rollout_in_progress');
    const unknown = await h.controller.start('nope', START, POLICY);
    expect(unknown.ok).toBe(false);
    if (!unknown.ok) expect(unknown.error.code).toBe('not_found');
  });

  it("a reload's abort is judged behind a start in flight, on the rollout that start wrote", async () => {
    const h = harness();
    // Not awaited: the start holds the service's queue while the abort is asked (a reload racing it).
    const starting = h.controller.start(SVC, START, POLICY);
    const kept = h.controller.abortFor(SVC, 'targets changed', (s) => s.configHash !== 'cfg-1');
    expect(value(await starting)).toMatchObject({ id: 'r1' });
    expect(value(await kept)).toBeNull();
    expect(h.state().phase).not.toBe('rolling-back');
    const moved = h.controller.abortFor(SVC, 'targets changed', (s) => s.configHash === 'cfg-1');
    expect(value(await moved)).toMatchObject({ id: 'r1', phase: 'rolling-back', reason: 'targets changed' });
  });

  it('a canary target that is stable now is refused, naming it (it would be judged against itself)', async () => {
    const h = harness();
    const r = await h.controller.start(SVC, { canary: { targets: [CANARY, STABLE] }, rollout: {} }, POLICY);
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.error).toMatchObject({
        code: 'invalid_request',
        problems: [
          { path: 'canary.targets[1]', message: `${STABLE} is in service web's stable pool: a canary needs its own` },
        ],
      });
    expect(h.route().weightBp).toBe(0);
  });
});

describe('RolloutController: only the leader carries out what a phase owes', () => {
  it('a replica whose lease went while it read the records does not lead with that token', async () => {
    const h = harness({ autoAck: true });
    await h.controller.lead(7, () => false);
    expect(h.controller.isLeading()).toBe(false);
    await h.controller.lead(8, () => true);
    expect(h.controller.isLeading()).toBe(true);
  });

  it("a follower records an abort; the leader's retirement carries it out", async () => {
    const store = new MemoryStore();
    const leader = harness({ store, autoAck: true });
    await started(leader);
    await interval(leader);
    expect(leader.controller.isLeading()).toBe(true);

    // Another replica on the same store, with its own records, that never led.
    const follower = harness({ store, autoAck: true, ids: ['f1'] });
    await follower.controller.refresh();
    expect(follower.controller.isLeading()).toBe(false);
    expect(follower.state()).toMatchObject({ id: 'r1', phase: 'progressing' });

    // A follower does not analyse.
    follower.advance(2 * POLICY.analysisInterval);
    follower.traffic(T0, follower.now());
    await follower.controller.analyze(SVC);
    expect(follower.state().lastAnalysisAt).toBe(leader.state().lastAnalysisAt);

    const st = value(await follower.controller.act(SVC, 'abort', { full: false, reason: 'from a follower' }));
    expect(st).toMatchObject({ phase: 'rolling-back', reason: 'from a follower' });
    expect((await store.get<RolloutState>(rolloutKey(SVC)))?.value.phase).toBe('rolling-back');
    expect(follower.route()).toEqual(ROUTE_ROLLING_BACK);
    await turns(50);
    expect(follower.acks.calls).toEqual([]);
    expect(follower.state().phase).toBe('rolling-back');
    // Without a change feed the leader has not seen it yet.
    expect(leader.state().phase).toBe('progressing');
    expect(leader.acks.calls).toEqual([]);

    // The leader reads the change: that wakes it, and it retires the canary.
    await leader.records.read(SVC);
    await until(() => leader.state().phase === 'aborted', 'the leader ends the rollback');
    expect(leader.acks.calls.map((c) => c.targets)).toEqual([[CANARY]]);
    expect(follower.acks.calls).toEqual([]);
    expect(follower.kinds()).toEqual(['rolling-back']);
    expect(leader.kinds()).toEqual(['started', 'canary-ready', 'analysis', 'aborted']);

    await follower.controller.refresh();
    expect(follower.state().phase).toBe('aborted');
    expect(follower.route()).toEqual(ROUTE_BACK);
  });
});

/** A store where another replica writes the rollout record between a start's read and its write, `times` times. */
class InterleavingStore extends MemoryStore {
  constructor(
    private times: number,
    private readonly between: (current: RolloutState | null) => RolloutState,
  ) {
    super();
  }

  override async put<T>(
    key: string,
    value: T,
    expectedVersion?: number,
  ): Promise<import('../../../src/store/port.js').PutResult> {
    if (key === rolloutKey(SVC) && this.times > 0 && (value as RolloutState).phase === 'starting') {
      this.times--;
      const now = await this.get<RolloutState>(key);
      await super.put(key, this.between(now?.value ?? null), now?.version ?? 0);
    }
    return super.put(key, value, expectedVersion);
  }
}

describe('a start racing another write to the rollout record', () => {
  const ended = (s: RolloutState | null): RolloutState => ({ ...(s as RolloutState), phase: 'aborted' });
  /** A first rollout, aborted and over; then `times` writes by another replica land in the next start. */
  async function afterOne(between: (s: RolloutState | null) => RolloutState, times: number): Promise<Harness> {
    const store = new InterleavingStore(0, between);
    const h = harness({ store, ids: ['r1', 'r2'], autoAck: true });
    await started(h);
    value(await h.controller.act(SVC, 'abort', NO_OPTS));
    await until(() => h.state().phase === 'aborted', 'the first rollout to end');
    Object.assign(store, { times });
    return h;
  }

  it('reads again and starts when the write in between left no rollout running (an ended one put back)', async () => {
    const h = await afterOne(ended, 2);
    const second = value(await h.controller.start(SVC, START, POLICY));
    expect(second.id).toBe('r2');
    expect(h.state().id).toBe('r2');
  });

  it('gives up with state_conflict when every attempt is overtaken', async () => {
    const h = await afterOne(ended, 1_000);
    const r = await h.controller.start(SVC, START, POLICY);
    expect(r.ok ? null : r.error.code).toBe('state_conflict');
    expect(h.state().phase).toBe('aborted');
  });

  it('refuses with rollout_in_progress when the write in between started a rollout', async () => {
    const running = (s: RolloutState | null): RolloutState => ({
      ...(s as RolloutState),
      id: 'elsewhere',
      phase: 'progressing',
    });
    const h = await afterOne(running, 1);
    const r = await h.controller.start(SVC, START, POLICY);
    expect(r.ok ? null : r.error.code).toBe('rollout_in_progress');
  });
});
