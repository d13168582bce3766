import { afterEach, describe, expect, it } from 'vitest';
import { parseConfigObject } from '../../../src/config/load.js';

const web = (stable: unknown, canary: unknown = {}): unknown => ({ name: 'web', stable, canary });

function problems(obj: unknown): Array<{ path: string; message: string }> {
  const r = parseConfigObject(obj, {});
  if (r.ok) throw new Error('expected problems');
  return r.error.problems.map((p) => ({ path: p.path, message: p.message }));
}

describe('docker config', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const k of ['DOCKER_HOST', 'DOCKER_CERT_PATH', 'DOCKER_TLS_VERIFY']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it("defaults: the local socket, owner veer, no gc, the container's own stop timeout, onRestart resume", () => {
    delete process.env.DOCKER_HOST;
    const r = parseConfigObject({ services: [web({ docker: { selector: { app: 'web' }, port: 8080 } })] }, {});
    if (!r.ok) throw r.error;
    expect(r.value.docker).toEqual({
      endpoints: [{ name: 'local', host: 'unix:///var/run/docker.sock' }],
      owner: 'veer',
      gc: false,
    });
    expect(r.value.services[0]?.rollout.onRestart).toBe('resume');
  });

  it('honours DOCKER_HOST, with the TLS files of DOCKER_CERT_PATH when DOCKER_TLS_VERIFY is set', () => {
    process.env.DOCKER_HOST = 'tcp://10.1.2.3:2376';
    process.env.DOCKER_CERT_PATH = '/certs';
    process.env.DOCKER_TLS_VERIFY = '1';
    const r = parseConfigObject({}, {});
    if (!r.ok) throw r.error;
    expect(r.value.docker.endpoints).toEqual([
      {
        name: 'default',
        host: 'tcp://10.1.2.3:2376',
        ca: '/certs/ca.pem',
        cert: '/certs/cert.pem',
        key: '/certs/key.pem',
      },
    ]);
  });

  it('stopTimeout and onRestart parse; bad values name their field', () => {
    const r = parseConfigObject(
      {
        docker: { stopTimeout: '20s' },
        services: [
          { ...(web({ docker: { selector: { a: 'b' }, port: 1 } }) as object), rollout: { onRestart: 'rollback' } },
        ],
      },
      {},
    );
    if (!r.ok) throw r.error;
    expect(r.value.docker.stopTimeout).toBe(20_000);
    expect(r.value.services[0]?.rollout.onRestart).toBe('rollback');
    expect(problems({ services: [{ name: 'web', rollout: { onRestart: 'later' } }] })[0]?.path).toBe(
      'services[0].rollout.onRestart',
    );
    expect(problems({ docker: { owner: 'has space' } })[0]?.path).toBe('docker.owner');
  });

  it('refuses targets and docker in one pool, a Docker canary without Docker stable, bad endpoints', () => {
    expect(
      problems({ services: [web({ targets: ['127.0.0.1:1'], docker: { selector: { a: 'b' }, port: 1 } })] }),
    ).toEqual([{ path: 'services[0].stable.docker', message: 'give either "targets" or "docker", not both' }]);
    expect(
      problems({ services: [web({ targets: ['127.0.0.1:1'] }, { docker: { selector: { a: 'b' }, port: 1 } })] }),
    ).toEqual([
      { path: 'services[0].canary.docker', message: 'a Docker canary pool needs a Docker stable pool (stable.docker)' },
    ]);
    expect(problems({ services: [web({ docker: { selector: { a: 'b' }, port: 1, endpoint: 'far' } })] })).toEqual([
      {
        path: 'services[0].stable.docker.endpoint',
        message: 'no docker endpoint named "far" (docker.endpoints has: local)',
      },
    ]);
    expect(
      problems({ docker: { endpoints: [] }, services: [web({ docker: { selector: { a: 'b' }, port: 1 } })] }),
    ).toEqual([{ path: 'services[0].stable.docker', message: 'needs a Docker engine, but docker.endpoints is empty' }]);
    // No Docker pool: an empty list just means "no Docker".
    expect(parseConfigObject({ docker: { endpoints: [] } }, {}).ok).toBe(true);
    expect(
      problems({
        docker: {
          endpoints: [
            { name: 'a', host: 'unix:///x' },
            { name: 'a', host: 'unix:///y' },
          ],
        },
      }),
    ).toEqual([{ path: 'docker.endpoints[1].name', message: 'duplicate endpoint name "a"' }]);
  });
});
