// `veer rollout|promote|abort|pause|resume` as child processes against an admin app on a loopback
// port whose RolloutControl is a scripted fake: its rollouts advance on a timer, publish events and
// update the service status the way the real controller does.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import type { AdminDeps, RolloutAction, RolloutControl, RolloutRequest, RolloutStatus } from '../../src/api/ports.js';
import { ConflictError, NotFoundError, err, ok, type Result } from '../../src/domain/errors.js';
import { silentLogger } from '../../src/domain/log.js';
import { isTerminal, type EventKind, type Phase, type RolloutPolicy, type Verdict } from '../../src/domain/rollout.js';
import { rolloutPolicySchema } from '../../src/config/schema.js';
import { EventLog } from '../../src/rollout/events.js';
import { runVeer, type CliRun } from '../helpers/cli.js';
import { waitFor } from '../helpers/process.js';
import { FakeDirectory, fakeDeps, fakeRollout, fakeService, poolMetrics } from '../unit/api/fake-directory.js';

const TOKEN = 'cli-rollout-token';
const TICK_MS = 300;

interface Script {
  outcome: 'succeeded' | 'rolled-back' | 'never';
  reason?: string;
}

function verdict(result: Verdict['result'], reason: string): Verdict {
  const evidence = { requests: 500, errors: 2, errorRate: 0.004, p99Ms: 12 };
  return {
    result,
    failFast: false,
    reason,
    checks: [
      {
        name: 'error-rate',
        status: result === 'fail' ? 'fail' : 'pass',
        observed: 0.004,
        limit: 0.01,
        pValue: 0.8123,
        note: 'sequential test',
      },
    ],
    canary: evidence,
    stable: { requests: 2000, errors: 8, errorRate: 0.004, p99Ms: 11 },
    at: Date.parse('2024-01-01T00:00:10Z'),
  };
}

/** Advances each started rollout one step per tick: through the steps, then to its scripted end. */
class ScriptedRollouts implements RolloutControl {
  private readonly timers = new Set<NodeJS.Timeout>();
  private n = 0;

  constructor(
    private readonly directory: FakeDirectory,
    private readonly events: EventLog,
    private readonly scripts: Record<string, Script>,
  ) {}

  policyOf(service: string): RolloutPolicy | undefined {
    return this.directory.get(service) ? rolloutPolicySchema.parse({}) : undefined;
  }

  async start(service: string, req: RolloutRequest): Promise<Result<RolloutStatus>> {
    const current = this.directory.get(service);
    if (!current) return err(new NotFoundError('service', service));
    if (current.rollout && !isTerminal(current.rollout.phase)) {
      return err(
        new ConflictError(
          `service ${service} already has rollout ${current.rollout.id} in phase ${current.rollout.phase}; ` +
            'abort it or wait',
          'rollout_in_progress',
        ),
      );
    }
    const steps = (req.rollout.steps as number[] | undefined) ?? [5, 50, 100];
    this.n += 1;
    const status = fakeRollout({
      id: `r-${service}-${this.n}`,
      steps,
      step: 0,
      weight: steps[0] ?? 0,
      phase: 'progressing',
      lastVerdict: null,
      canary: { targets: 'targets' in req.canary ? req.canary.targets : [] },
    });
    this.publish(service, status, 'started');
    const script = this.scripts[service] ?? { outcome: 'never' };
    if (script.outcome !== 'never') this.schedule(service, status.id, script);
    return ok(status);
  }

  async act(
    service: string,
    action: RolloutAction,
    opts: { full: boolean; reason: string | null },
  ): Promise<Result<RolloutStatus>> {
    const s = this.directory.get(service);
    if (!s) return err(new NotFoundError('service', service));
    const r = s.rollout;
    if (!r) return err(new ConflictError(`service ${service} has no rollout to ${action}`, 'no_rollout'));
    const refuse = () =>
      err(new ConflictError(`cannot ${action} rollout ${r.id} of ${service}: phase is ${r.phase}`, 'invalid_phase'));
    if (isTerminal(r.phase)) return refuse();
    switch (action) {
      case 'pause':
        return ok(
          this.publish(service, { ...r, phase: 'paused', reason: opts.reason ?? 'paused by operator' }, 'paused'),
        );
      case 'resume':
        return r.phase === 'paused'
          ? ok(this.publish(service, { ...r, phase: 'progressing', reason: null }, 'resumed'))
          : refuse();
      case 'abort':
        return ok(
          this.publish(
            service,
            { ...r, phase: 'aborted', weight: 0, reason: opts.reason ?? 'aborted by operator' },
            'aborted',
          ),
        );
      case 'promote':
        if (opts.full)
          return ok(
            this.publish(service, { ...r, phase: 'succeeded', weight: 100, step: r.steps.length - 1 }, 'succeeded'),
          );
        return ok(this.publish(service, { ...r, step: r.step + 1, weight: r.steps[r.step + 1] ?? 100 }, 'step'));
    }
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers.clear();
  }

  private schedule(service: string, id: string, script: Script): void {
    const timer = setInterval(() => {
      const r = this.directory.get(service)?.rollout;
      if (!r || r.id !== id || isTerminal(r.phase)) {
        clearInterval(timer);
        this.timers.delete(timer);
        return;
      }
      this.tick(service, r, script);
    }, TICK_MS);
    this.timers.add(timer);
  }

  private tick(service: string, r: RolloutStatus, script: Script): void {
    if (r.phase === 'paused') return;
    const last = r.step >= r.steps.length - 1;
    const fail = script.outcome === 'rolled-back';
    if (r.phase === 'promoting') this.publish(service, { ...r, phase: 'succeeded' }, 'succeeded');
    else if (r.phase === 'rolling-back')
      this.publish(service, { ...r, phase: 'rolled-back', weight: 0 }, 'rolled-back');
    else if (fail && r.step === 1)
      this.publish(
        service,
        {
          ...r,
          phase: 'rolling-back',
          reason: script.reason ?? 'failed',
          lastVerdict: verdict('fail', script.reason ?? 'failed'),
        },
        'rolling-back',
      );
    else if (last)
      this.publish(
        service,
        { ...r, phase: 'promoting', lastVerdict: verdict('pass', 'canary within every limit') },
        'promoting',
      );
    else
      this.publish(
        service,
        {
          ...r,
          step: r.step + 1,
          weight: r.steps[r.step + 1] ?? 100,
          lastVerdict: verdict('pass', 'canary within every limit'),
        },
        'step',
      );
  }

  private publish(service: string, r: RolloutStatus, kind: EventKind): RolloutStatus {
    const s = this.directory.get(service);
    if (!s) return r;
    const metrics = {
      stable: poolMetrics({ requests: 2000, errors: 8, errorRate: 0.0038, p99Ms: 11 }),
      canary: poolMetrics({ requests: 500, errors: 2, errorRate: 0.004, p99Ms: 12.2 }),
    };
    this.directory.set({ ...s, weight: r.weight, rollout: r, metrics });
    this.events.append({
      service,
      rolloutId: r.id,
      kind,
      phase: r.phase as Phase,
      weight: r.weight,
      message: `${kind}${r.reason ? `: ${r.reason}` : ''}`,
    });
    return r;
  }
}

interface Admin {
  app: FastifyInstance;
  directory: FakeDirectory;
  url: string;
  events: EventLog;
  rollouts: ScriptedRollouts;
}

async function admin(over: (deps: AdminDeps) => Partial<AdminDeps> = () => ({})): Promise<Admin> {
  const names = ['web', 'bad', 'slow', 'plain', 'ops', 'dup', 'viapoll', 'full', 'idle', 'shown'];
  const directory = new FakeDirectory(names.map((n) => fakeService(n)));
  const events = new EventLog({ clock: { now: () => Date.now() } });
  const rollouts = new ScriptedRollouts(directory, events, {
    web: { outcome: 'succeeded' },
    viapoll: { outcome: 'succeeded' },
    bad: { outcome: 'rolled-back', reason: 'canary error rate 5.00% exceeds maxErrorRate 1.00%' },
  });
  const deps = fakeDeps(directory, { token: TOKEN, rollouts, events });
  const app = buildApp({ ...deps, ...over(deps) }, { logger: silentLogger });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, directory, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, events, rollouts };
}

let main: Admin;
let broken: Admin;

beforeAll(async () => {
  main = await admin();
  // An app whose event stream fails (500) but whose status reads work: the CLI must fall back to polling.
  broken = await admin((deps) => ({
    events: {
      recent: () => {
        throw new Error('feed down');
      },
      subscribe: deps.events.subscribe.bind(deps.events),
    },
  }));
});

afterAll(async () => {
  for (const a of [main, broken]) {
    a?.rollouts.stop();
    await a?.app.close();
  }
});

function veer(args: string[], url = main.url): Promise<CliRun> {
  return runVeer(args, { env: { VEER_ADMIN_URL: url, VEER_ADMIN_TOKEN: TOKEN } });
}

const PASS_LINE = 'canary err 0.40% p99 12ms | stable err 0.40% p99 11ms | pass: canary within every limit';

describe('veer rollout', () => {
  it('starts a rollout and exits 0 without --wait, printing its id and phase', async () => {
    const r = await veer([
      'rollout',
      'plain',
      '--targets',
      '127.0.0.1:9101, 127.0.0.1:9102',
      '--steps',
      '10,50,100',
      '--step-interval',
      '30s',
      '--strategy',
      'canary',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^plain: rollout r-plain-\d+ progressing \(canary, weight 10%\)$/);
  });

  it('with --wait follows the rollout to success: progress lines, exit 0', async () => {
    const r = await veer([
      'rollout',
      'web',
      '--targets',
      '127.0.0.1:9101',
      '--steps',
      '5,25,100',
      '--wait',
      '--timeout',
      '20s',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^web: rollout r-web-\d+ progressing/);
    expect(lines).toContain(`step 3/3 weight 100% | ${PASS_LINE}`);
    expect(lines).toContain(`promoting | step 3/3 weight 100% | ${PASS_LINE}`);
    expect(lines.some((l) => l.startsWith('step 2/3 weight 25% | '))).toBe(true);
    expect(lines.at(-1)).toMatch(/^rollout r-web-\d+ succeeded$/);
    // Each change printed once: no two identical lines in a row.
    expect(lines.every((l, i) => i === 0 || l !== lines[i - 1])).toBe(true);
    await waitFor(() => main.events.subscriberCount === 0, { timeoutMs: 5_000, what: 'stream closed by the CLI' });
  });

  it('with --wait exits 1 on rolled-back and prints the reason', async () => {
    const r = await veer(['rollout', 'bad', '--targets', '127.0.0.1:9201', '--wait', '--timeout', '20s']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^rollout r-bad-\d+ rolled-back: canary error rate 5\.00% exceeds maxErrorRate 1\.00%$/m);
    expect(r.stdout).toContain('rolling-back (canary error rate 5.00% exceeds maxErrorRate 1.00%) | step 2/3');
  });

  it('with --wait exits 1 when --timeout passes first, and does so in bounded time', async () => {
    const r = await veer(['rollout', 'slow', '--targets', '127.0.0.1:9301', '--wait', '--timeout', '1s']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /error: rollout r-slow-\d+ of slow did not finish within 1s \(--timeout\); it keeps running/,
    );
    expect(r.ms).toBeLessThan(12_000);
  });

  it('falls back to polling when the event stream fails', async () => {
    const r = await veer(
      ['rollout', 'viapoll', '--targets', '127.0.0.1:9401', '--wait', '--timeout', '20s'],
      broken.url,
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^note: event stream unavailable \(internal error\); polling every 1s$/m);
    expect(r.stdout).toMatch(/rollout r-viapoll-\d+ succeeded\n$/);
  });

  it('passes a 409 through when a rollout is already running', async () => {
    expect((await veer(['rollout', 'dup', '--targets', '127.0.0.1:9501'])).code).toBe(0);
    const r = await veer(['rollout', 'dup', '--targets', '127.0.0.1:9502']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(
      /^error: service dup already has rollout r-dup-\d+ in phase progressing; abort it or wait$/,
    );
  });

  it("prints the API's validation problems, named by flag, as a usage error", async () => {
    const r = await veer(['rollout', 'plain', '--targets', 'nope', '--steps', '5,0']);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('--targets (item 1): expected "host:port", got "nope"');
    expect(r.stderr).toContain('--steps (item 2): must be > 0');
  });

  it.each([
    [['rollout', 'web'], 'give exactly one of --targets'],
    [['rollout', 'web', '--targets', '127.0.0.1:1', '--image', 'app:2'], 'give exactly one of --targets'],
    [['rollout', 'web', '--targets', '127.0.0.1:1', '--count', '2'], '--env and --count go with --image'],
    [['rollout', 'web', '--image', 'app:2', '--count', 'two'], '--count: expected a whole number'],
    [['rollout', 'web', '--image', 'app:2', '--count', '0x2'], '--count: expected a whole number'],
    [['rollout', 'web', '--targets', '127.0.0.1:1', '--steps', '5,x'], '--steps: expected plain decimal weights'],
    [['rollout', 'web', '--targets', '127.0.0.1:1', '--steps', '0x10,100'], '--steps: expected plain decimal weights'],
    [['rollout', 'web', '--targets', '127.0.0.1:1', '--steps', '1e1,100'], '--steps: expected plain decimal weights'],
    [['rollout', 'web', '--targets', '127.0.0.1:1', '--steps', '5,,100'], 'without empty items'],
    [['rollout', 'web', '--targets', '127.0.0.1:1,'], '--targets: expected a comma-separated list'],
    [['rollout', '..', '--targets', '127.0.0.1:1'], '<service>: expected a service name'],
    [
      ['rollout', 'web', '--targets', '127.0.0.1:1', '--wait', '--timeout', 'soon'],
      '--timeout: expected a positive duration',
    ],
  ])('is a usage error: %j', async (args, message) => {
    const r = await veer(args);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain(message);
  });
});

describe('veer promote|pause|resume|abort', () => {
  it('acts on the rollout and prints the new phase; 409 names the phase', async () => {
    expect((await veer(['rollout', 'ops', '--targets', '127.0.0.1:9601', '--steps', '5,50,100'])).code).toBe(0);
    const pause = await veer(['pause', 'ops', '--reason', 'lunch']);
    expect([pause.code, pause.stdout.trim()]).toEqual([
      0,
      expect.stringMatching(/^ops: rollout r-ops-\d+ paused \(weight 5%\): lunch$/),
    ]);
    const resume = await veer(['resume', 'ops']);
    expect([resume.code, resume.stdout.trim()]).toEqual([
      0,
      expect.stringMatching(/^ops: rollout r-ops-\d+ progressing \(weight 5%\)$/),
    ]);
    const resumeAgain = await veer(['resume', 'ops']);
    expect(resumeAgain.code).toBe(1);
    expect(resumeAgain.stderr.trim()).toMatch(/^error: cannot resume rollout r-ops-\d+ of ops: phase is progressing$/);
    const promote = await veer(['promote', 'ops']);
    expect([promote.code, promote.stdout.trim()]).toEqual([0, expect.stringMatching(/progressing \(weight 50%\)$/)]);
    const abort = await veer(['abort', 'ops', '--reason', 'bad build']);
    expect([abort.code, abort.stdout.trim()]).toEqual([
      0,
      expect.stringMatching(/^ops: rollout r-ops-\d+ aborted \(weight 0%\): bad build$/),
    ]);
    const late = await veer(['pause', 'ops']);
    expect(late.code).toBe(1);
    expect(late.stderr.trim()).toMatch(/^error: cannot pause rollout r-ops-\d+ of ops: phase is aborted$/);
  });

  it('promote --full goes straight to the end', async () => {
    expect((await veer(['rollout', 'full', '--targets', '127.0.0.1:9701'])).code).toBe(0);
    const r = await veer(['promote', 'full', '--full']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/succeeded \(weight 100%\)$/);
  });

  it('reports an unknown service, a service without a rollout, and options that do not belong', async () => {
    const unknown = await veer(['abort', 'nope']);
    expect([unknown.code, unknown.stderr.trim()]).toEqual([1, "error: service 'nope' not found"]);
    const idle = await veer(['promote', 'idle']);
    expect([idle.code, idle.stderr.trim()]).toEqual([1, 'error: service idle has no rollout to promote']);
    expect((await veer(['resume', 'ops', '--full'])).code).toBe(64);
  });
});

describe('veer status with a rollout', () => {
  it('shows the rollout column and, for one service, the last verdict with its evidence', async () => {
    const shown = main.directory.get('shown');
    if (!shown) throw new Error('fixture missing');
    const rollout = fakeRollout({
      id: 'r-shown',
      phase: 'progressing',
      step: 1,
      weight: 25,
      steps: [5, 25, 50, 100],
      failures: 1,
      lastVerdict: verdict('pass', 'canary within every limit'),
    });
    main.directory.set({ ...shown, weight: 25, rollout });
    const all = await veer(['status']);
    expect(all.code).toBe(0);
    const row = all.stdout.split('\n').find((l) => l.startsWith('shown '));
    expect(row).toMatch(/\s25%\s.*\sprogressing 2\/4 25%$/);
    expect(all.stdout).not.toContain('last verdict');
    const one = await veer(['status', 'shown']);
    expect(one.code).toBe(0);
    expect(one.stdout).toContain('rollout r-shown (canary): progressing 2/4 25%, consecutive failures 1');
    expect(one.stdout).toContain('last verdict: pass at 2024-01-01T00:00:10.000Z: canary within every limit');
    expect(one.stdout).toMatch(/canary\s+500\s+2\s+0\.40%\s+12ms/);
    expect(one.stdout).toMatch(/stable\s+2000\s+8\s+0\.40%\s+11ms/);
    expect(one.stdout).toMatch(/error-rate\s+pass\s+0\.40%\s+1\.00%\s+0\.812\s+sequential test/);
  });
});
