// The rollout controller: the face the rest of veer sees. It puts together the jobs, each in its
// own file - operators' commands (commands.ts), the stored records (records.ts, record-feed.ts), the
// leader's loop (leader.ts) and its effect runner (retirement.ts) - and keeps them to one rule: on
// one replica, work on one service is done in order (one queue), and only the leader acts.
import type {
  PolicyResolver,
  RolloutAction,
  RolloutControl,
  RolloutHistoryControl,
  RolloutHistoryEntry,
  RolloutRequest,
  RolloutStatus,
} from '../api/ports.js';
import { KeyedQueue } from '../domain/async.js';
import { NotFoundError, err, ok, type Result } from '../domain/errors.js';
import { isTerminal, type RolloutPolicy, type RolloutState } from '../domain/rollout.js';
import type { Member } from '../domain/route.js';
import { RolloutCommands } from './commands.js';
import type { ControllerDeps } from './controller-ports.js';
import { RolloutHistory } from './history.js';
import { LeaderLoop } from './leader.js';
import { RecordFeed } from './record-feed.js';
import { Reruns } from './reruns.js';
import { Retirement } from './retirement.js';
import { historyView, rolloutStatus } from './status.js';
import { Transitions } from './transitions.js';

export class RolloutController implements RolloutControl, RolloutHistoryControl {
  private readonly leader: LeaderLoop;
  private readonly commands: RolloutCommands;
  private readonly book: RolloutHistory;
  private readonly reruns: Reruns;
  private readonly feed: RecordFeed | null;
  private readonly off: () => void;

  constructor(private readonly d: ControllerDeps) {
    const queue = new KeyedQueue();
    const records = d.records;
    const transitions = new Transitions({
      records,
      clock: d.clock,
      log: d.log,
      emit: d.emit,
      fenced: (why) => this.follow(why),
    });
    const retirement = new Retirement({
      emit: d.emit,
      routeOf: d.routeOf,
      acks: d.acks,
      fleet: d.fleet,
      stopLaunch: (service) => this.leader.launches.stop(service),
    });
    const history = new RolloutHistory({ records, log: d.log, fenced: (why) => this.follow(why) });
    this.book = history;
    this.leader = new LeaderLoop({ ...d, transitions, retirement, history, queue, timers: d.timers !== false });
    this.commands = new RolloutCommands({
      ...d,
      transitions,
      history,
      queue,
      stableNow: (service) => d.routeOf(service)?.stable ?? [],
      wake: (service) => this.leader.wake(service),
    });
    this.reruns = new Reruns({ ...d, records, history, commands: this.commands });
    this.feed = d.feed
      ? new RecordFeed({ records, feed: d.feed, services: d.services, log: d.log, beforeReread: () => this.reseed() })
      : null;
    // Wherever a rollout record changed (here, on another replica, by the leader itself), the leader
    // looks at what it owes now.
    this.off = records.onChange((service, kind) => {
      if (kind === 'rollout') void this.leader.wake(service);
    });
  }

  /** A single veer: it leads from the start, and `onRestart: rollback` applies to what it resumes. */
  async restore(): Promise<void> {
    await this.leader.lead(null, true);
  }

  /** Several replicas: follow the records; `lead` is called when this replica wins the lease. */
  startFollowing(): void {
    this.feed?.start();
  }

  /** Rejects when a read fails (the caller tries again); leads nothing when the lease went meanwhile. */
  async lead(token: number, held: () => boolean): Promise<void> {
    this.d.log.log('info', 'leading rollouts', { token });
    await this.d.records.reseed(this.d.services, token);
    await this.refresh();
    // Lost while reading: `follow` found nothing to stop then, so leading now would act on a dead token.
    if (!held()) return void this.d.log.log('warn', 'lease lost while taking over; not leading', { token });
    await this.leader.lead(token, false);
  }

  follow(reason: string): void {
    this.leader.follow(reason);
  }

  isLeading(): boolean {
    return this.leader.isLeading();
  }

  /** Re-reads every record from the store now. */
  async refresh(): Promise<void> {
    for (const service of this.d.services) await this.d.records.read(service);
  }

  /** The service's most recent rollout, terminal or not (which container generations are live). */
  latest(service: string): RolloutState | null {
    return this.d.records.rollout(service)?.value ?? null;
  }

  active(service: string): RolloutState | null {
    const s = this.latest(service);
    return s && !isTerminal(s.phase) ? s : null;
  }

  status(service: string): RolloutStatus | null {
    const s = this.latest(service);
    return s ? rolloutStatus(s, this.d.routeOf(service)?.canary ?? []) : null;
  }

  policyOf(service: string): RolloutPolicy | undefined {
    return this.d.policyOf(service);
  }

  async start(service: string, req: RolloutRequest, policy: RolloutPolicy): Promise<Result<RolloutStatus>> {
    const r = await this.commands.start(service, req, policy);
    return r.ok ? ok(this.statusOf(r.value)) : r;
  }

  async act(
    service: string,
    action: RolloutAction,
    opts: { full: boolean; reason: string | null },
  ): Promise<Result<RolloutStatus>> {
    const r = await this.commands.act(service, action, opts);
    return r.ok ? ok(this.statusOf(r.value)) : r;
  }

  /** See RolloutCommands.abortFor: a reload's abort of a rollout its config no longer supports. */
  abortFor(service: string, reason: string, when?: (s: RolloutState) => boolean): Promise<Result<RolloutState | null>> {
    return this.commands.abortFor(service, reason, when);
  }

  async history(service: string, limit: number): Promise<Result<RolloutHistoryEntry[]>> {
    if (this.d.policyOf(service) === undefined) return err(new NotFoundError('service', service));
    return ok((await this.book.list(service)).slice(0, limit).map(historyView));
  }

  async undo(service: string, resolve: PolicyResolver): Promise<Result<RolloutStatus>> {
    const r = await this.reruns.undo(service, resolve);
    return r.ok ? ok(this.statusOf(r.value)) : r;
  }

  async retry(service: string, resolve: PolicyResolver): Promise<Result<RolloutStatus>> {
    const r = await this.reruns.retry(service, resolve);
    return r.ok ? ok(this.statusOf(r.value)) : r;
  }

  /** A manual shift: pauses a running rollout at that weight, else records the operator's weight. */
  shift(service: string, weightBp: number): Promise<Result<boolean>> {
    return this.commands.shift(service, weightBp);
  }

  /** The leader's Docker watcher records what it saw, with the leader's fencing token. */
  async recordMembers(service: string, members: Member[]): Promise<void> {
    if (!this.leader.isLeading()) return;
    const token = this.leader.tokenNow();
    const version = await this.d.records.versionOf(service, 'members');
    const put = await this.d.records.write(service, 'members', members, version, token);
    if (!put.ok && put.reason === 'fenced') this.follow(`membership write refused: fencing token ${token} is stale`);
  }

  analyze(service: string): Promise<void> {
    return this.leader.analyze(service);
  }

  async stop(): Promise<void> {
    this.feed?.stop();
    this.off();
    await this.leader.stop();
  }

  private statusOf(s: RolloutState): RolloutStatus {
    return rolloutStatus(s, this.d.routeOf(s.service)?.canary ?? []);
  }

  /** After the store reconnected: the leader writes back what it lost, before anyone re-reads. */
  private async reseed(): Promise<void> {
    if (this.leader.isLeading()) await this.d.records.reseed(this.d.services, this.leader.tokenNow());
  }
}
