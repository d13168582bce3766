// `undo` and `retry`, on any replica: plan from the history and the latest rollout (rerun-plan.ts),
// check what the engine must still have, then start an ordinary rollout through the commands - so
// the one-rollout-at-a-time rule, the record and the leader's duties are those of any rollout.
import type { PolicyResolver, RolloutRequest } from '../api/ports.js';
import { ConflictError, NotFoundError, UnavailableError, err, errorMessage, type Result } from '../domain/errors.js';
import type { RolloutPolicy, RolloutState } from '../domain/rollout.js';
import type { CanaryFleet } from './canary-fleet.js';
import type { RolloutCommands } from './commands.js';
import type { RolloutHistory } from './history.js';
import type { Records } from './records.js';
import { retryPlan, undoPlan, type Rerun } from './rerun-plan.js';

export interface RerunsDeps {
  records: Records;
  history: RolloutHistory;
  commands: RolloutCommands;
  policyOf(service: string): RolloutPolicy | undefined;
  fleet?: CanaryFleet | undefined;
}

export class Reruns {
  constructor(private readonly d: RerunsDeps) {}

  async undo(service: string, resolve: PolicyResolver): Promise<Result<RolloutState>> {
    if (this.d.policyOf(service) === undefined) return err(new NotFoundError('service', service));
    const entries = await this.d.history.list(service);
    const plan = undoPlan(service, entries, this.d.records.rollout(service)?.value ?? null);
    if (!plan.ok) return plan;
    const gone = await this.imageGone(service, plan.value.req);
    if (gone !== null) return err(gone);
    return this.run(service, plan.value, 'undo', resolve);
  }

  async retry(service: string, resolve: PolicyResolver): Promise<Result<RolloutState>> {
    if (this.d.policyOf(service) === undefined) return err(new NotFoundError('service', service));
    await this.d.records.read(service, ['rollout']);
    const plan = retryPlan(service, this.d.records.rollout(service)?.value ?? null);
    if (!plan.ok) return plan;
    return this.run(service, plan.value, 'retry', resolve);
  }

  private run(
    service: string,
    plan: Rerun,
    kind: 'undo' | 'retry',
    resolve: PolicyResolver,
  ): Promise<Result<RolloutState>> {
    const policy = resolve(plan.req.rollout);
    if (!policy.ok) return Promise.resolve(policy);
    return this.d.commands.start(service, plan.req, policy.value, {
      origin: { kind, of: plan.of },
      exactEnv: plan.exactEnv,
    });
  }

  /**
   * An undo recreates the previous generation from its image, which the engines running the service
   * must still have: nothing can be pulled back once it was removed (or never came from a registry).
   */
  private async imageGone(service: string, req: RolloutRequest): Promise<ConflictError | UnavailableError | null> {
    if (!('image' in req.canary) || !this.d.fleet) return null;
    const image = req.canary.image;
    try {
      const lacking = await this.d.fleet.lacking(service, await this.d.fleet.stableGeneration(service), image);
      if (lacking.length === 0) return null;
      return new ConflictError(
        `cannot undo: image ${image} of the previous generation is no longer on docker endpoint(s) ` +
          `${lacking.join(', ')}; roll out an image instead`,
        'undo_unavailable',
      );
    } catch (e) {
      return new UnavailableError(`cannot check image ${image} on the docker engines: ${errorMessage(e)}`);
    }
  }
}
