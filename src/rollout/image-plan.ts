// Checks an image rollout request against the service's Docker pool and fixes its plan: the
// generation it replaces and how many containers to create (as many as are stable, unless given).
import type { RolloutRequest } from '../api/ports.js';
import { UnavailableError, ValidationError, err, errorMessage, ok, type Result } from '../domain/errors.js';
import type { StableSpec } from '../domain/history.js';
import type { DockerRollout } from '../domain/rollout.js';
import type { CanaryFleet } from './canary-fleet.js';

const NO_DOCKER = 'image rollouts need Docker pools (no docker endpoint is configured)';

/** null for a static-target rollout; refuses static targets for a Docker-backed stable pool. */
export async function imagePlan(
  fleet: CanaryFleet | undefined,
  service: string,
  req: RolloutRequest,
  exactEnv = false,
): Promise<Result<DockerRollout | null>> {
  const why = fleet ? fleet.refuse(service) : NO_DOCKER;
  if ('targets' in req.canary) {
    // A promotion would make static targets stable while the watcher keeps routing containers.
    if (why === null)
      return err(
        new ValidationError([
          {
            path: 'canary.targets',
            message:
              `service ${service}'s stable pool comes from Docker; ` +
              'roll out an image instead ({"canary": {"image": "app:2"}})',
          },
        ]),
      );
    return ok(null);
  }
  if (!fleet || why !== null) return err(new ValidationError([{ path: 'canary.image', message: why ?? NO_DOCKER }]));
  let stableGeneration: string | null;
  let stableSpec: StableSpec | null;
  let count = req.canary.count;
  try {
    stableGeneration = await fleet.stableGeneration(service);
    // What the stable generation runs now: an undo of this rollout recreates it.
    stableSpec = await fleet.describe(service, stableGeneration);
    if (stableSpec === null)
      return err(
        new ValidationError([
          {
            path: 'canary.image',
            message: `service ${service} has no running stable container to clone; start one first`,
          },
        ]),
      );
    count ??= stableSpec.count;
  } catch (e) {
    return err(new UnavailableError(`cannot list the stable containers of ${service}: ${errorMessage(e)}`));
  }
  return ok({
    image: req.canary.image,
    env: [...req.canary.env],
    count,
    stableGeneration,
    stableSpec,
    ...(exactEnv ? { exactEnv } : {}),
  });
}
