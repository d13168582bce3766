// A malformed image name against a real dockerd: Node refuses to send the request (a space in the
// path), which is the caller's mistake, not an unreachable engine. Skipped when no engine answers,
// unless VEER_REQUIRE_DOCKER=1.
import { expect, it } from 'vitest';
import { dockerSuite } from '../../helpers/docker.js';
import { localEngine } from './local-engine.js';

const suite = await dockerSuite('docker/image-reference.test');

suite('an image name the engine cannot be asked about', () => {
  it('is an engine error naming the image, not "docker endpoint unreachable"', async () => {
    const engine = localEngine();
    try {
      const e = await engine.hasImage('veer test app:2').then(
        () => null,
        (x: unknown) => x as { code?: string; message?: string },
      );
      expect(e?.code).toBe('docker_error');
      expect(e?.message).toContain('veer test app:2');
      expect(e?.message).not.toContain('unreachable');
      // The engine itself still answers: nothing was lost.
      expect(await engine.hasImage('veer-test-app:1')).toBe(true);
    } finally {
      engine.close();
    }
  });
});
