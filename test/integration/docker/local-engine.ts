// What the Docker integration tests that drive veer's own adapter share: the local engine as veer
// opens it, and whether a container is still there.
import { dockerOptions } from '../../../src/docker/endpoint.js';
import { DockerEngine } from '../../../src/docker/engine.js';
import { docker } from '../../helpers/docker.js';

/** veer's adapter for the local socket; the caller closes it. */
export function localEngine(): DockerEngine {
  const o = dockerOptions({ name: 'local', host: 'unix:///var/run/docker.sock' });
  if (!o.ok) throw new Error(o.message);
  return new DockerEngine('local', o.options, o.publishedHost);
}

/** Whether the engine still has the container (running or not). */
export const containerExists = (id: string): Promise<boolean> =>
  docker()
    .getContainer(id)
    .inspect()
    .then(
      () => true,
      () => false,
    );
