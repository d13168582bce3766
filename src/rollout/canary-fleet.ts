// The port through which a rollout makes and removes containers (Docker pools). Owned here, by its
// consumer; the Docker adapter in src/docker implements it and main wires it in.
import type { Result } from '../domain/errors.js';
import type { StableSpec } from '../domain/history.js';
import type { RolloutState } from '../domain/rollout.js';

export interface CanaryFleet {
  /** null when the service can take an image rollout, else why not (shown to the caller). */
  refuse(service: string): string | null;
  /** The generation now stable (from the latest rollout, or inferred from the running containers). */
  stableGeneration(service: string): Promise<string | null>;
  /**
   * The generation's running containers: how many (the canary's default count), and the image and
   * whole env of the first by name (what an undo recreates); null when none runs.
   */
  describe(service: string, generation: string | null): Promise<StableSpec | null>;
  /** The endpoints running the generation that do not have `image` (an undo cannot pull it back). */
  lacking(service: string, generation: string | null, image: string): Promise<string[]>;
  /**
   * Creates the rollout's canary containers (idempotent: by name) and waits until every one serves,
   * giving up at `deadline`. The error names the container and its last health output.
   */
  launch(s: RolloutState, deadline: number, signal: AbortSignal): Promise<Result<string[], string>>;
  /** How many containers of the generation run, on the engines that answered; those that did not, by name. */
  running(service: string, generation: string): Promise<{ count: number; unanswered: string[] }>;
  /** Drained already: removes every container of that generation of the service. Idempotent. */
  retire(service: string, generation: string | null): Promise<void>;
  /** After a restart: removes the service's own containers that no live generation claims. */
  reconcile(service: string): Promise<number>;
}
