import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { inspectConfigFile, inspectConfigText, parseConfigObject } from '../../../src/config/load.js';
import { configParts, salvage } from '../../../src/config/config-tree.js';
import { preflight } from '../../../src/config/preflight.js';
import { configSchema } from '../../../src/config/schema.js';
import { localAddressSet } from '../../../src/domain/self-address.js';
import type { Problem } from '../../../src/domain/errors.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const fixture = (name: string) => join(root, 'test/fixtures/config', name);
/** A pinned host: the machine's own interfaces must not change what these tests see. */
const host = { localAddresses: localAddressSet(['127.0.0.1', '::1', '10.9.8.7', 'gateway-1']) };

function problems(text: string): Problem[] {
  const r = inspectConfigText(text, {}, undefined, host).result;
  if (r.ok) throw new Error('expected problems');
  return [...r.error.problems];
}

const paths = (ps: readonly Problem[]): string[] => ps.map((p) => p.path).sort();

describe('every problem at once', () => {
  it('reports a duplicate name, bad endpoint, self target, exposed admin, bad Redis URL and field errors', async () => {
    const r = await inspectConfigFile(fixture('cross-errors.yaml'), {}, host);
    if (r.result.ok) throw new Error('expected invalid');
    const byPath = new Map(r.result.error.problems.map((p) => [p.path, p.message]));
    expect(byPath).toEqual(
      new Map([
        ['services[0].rollout.steps[1]', 'must be greater than the previous step (50)'],
        ['services[1].weight', expect.stringContaining('must be between 0 and 100')],
        ['services[2].name', 'duplicate service name "web" (also services[0])'],
        ['services[2].stable.docker.endpoint', 'no docker endpoint named "far" (docker.endpoints has: local)'],
        ['services[0].stable.targets[1]', "is veer's own data-plane listener 0.0.0.0:8080: traffic would loop"],
        ['admin.token', expect.stringContaining('required when admin.listen is not a loopback address')],
        ['state.redis', expect.stringMatching(/^unknown scheme; expected redis:\/\//)],
      ]),
    );
    expect(r.result.error.problems).toHaveLength(7);
  });

  it('a duplicate name is reported even when a field of the same service is wrong', () => {
    const p = problems('services:\n  - name: web\n  - name: web\n    weight: 500\n    bogus: 1\n');
    expect(paths(p)).toEqual(['services[1].bogus', 'services[1].name', 'services[1].weight']);
  });

  it('identical host and prefix in two services is still an error (case aside), reported with field errors', () => {
    const p = problems(
      'listen: nope\nservices:\n' +
        '  - name: a\n    match: { hosts: [Example.com] }\n' +
        '  - name: b\n    match: { hosts: [example.com] }\n',
    );
    expect(p).toContainEqual({
      path: 'services',
      message: 'services "a" and "b" both match host "example.com" with path prefix "/"',
    });
    expect(p).toContainEqual(expect.objectContaining({ path: 'listen' }));
  });

  it('the same problem found twice is reported once', () => {
    const p = problems('services:\n  - name: web\n  - name: web\n  - name: web\n');
    expect(p).toEqual([
      { path: 'services[1].name', message: 'duplicate service name "web" (also services[0])' },
      { path: 'services[2].name', message: 'duplicate service name "web" (also services[0])' },
    ]);
  });

  it('an exposed admin is found even next to an unknown key in the admin section', () => {
    const p = problems('admin: { listen: "0.0.0.0:9090", tokn: x }\n');
    expect(paths(p)).toEqual(['admin.token', 'admin.tokn']);
  });

  it('an unset token variable is reported once, as the cause', () => {
    const r = parseConfigObject({ admin: { listen: '0.0.0.0:9090', token: '${NOPE}' } }, {}, host);
    expect(!r.ok && r.error.problems).toEqual([
      { path: 'admin.token', message: 'environment variable NOPE is not set' },
    ]);
  });
});

describe('self targets in the config', () => {
  it.each([
    ['listen: 127.0.0.1:8080', 'localhost:8080', 'services[0].stable.targets[0]'],
    ['listen: 0.0.0.0:8080', '10.9.8.7:8080', 'services[0].stable.targets[0]'],
    ['listen: 0.0.0.0:8080', 'gateway-1:8080', 'services[0].stable.targets[0]'],
    ['admin: { listen: 127.0.0.1:9999 }', '127.0.0.1:9999', 'services[0].stable.targets[0]'],
  ])('%s refuses %s', (head, target, path) => {
    const p = problems(`${head}\nservices:\n  - name: web\n    stable: { targets: ["${target}"] }\n`);
    expect(p).toEqual([{ path, message: expect.stringMatching(/^is veer's own (data-plane|admin) listener /) }]);
  });

  it('checks canary targets too, and ignores a listener on port 0', () => {
    expect(
      paths(
        problems(
          'listen: 127.0.0.1:8080\nservices:\n' +
            '  - name: web\n    canary: { targets: ["127.0.0.1:9001", "127.0.0.1:8080"] }\n',
        ),
      ),
    ).toEqual(['services[0].canary.targets[1]']);
    expect(
      parseConfigObject(
        {
          listen: '127.0.0.1:0',
          admin: { listen: '127.0.0.1:0' },
          services: [{ name: 'web', stable: { targets: ['127.0.0.1:1'] } }],
        },
        {},
        host,
      ).ok,
    ).toBe(true);
  });
});

describe('what start checks beyond the schema', () => {
  it('a malformed Redis URL names state.redis', () => {
    expect(problems('state: { store: redis, redis: "redis://a:6379,b:6379" }\n')).toEqual([
      { path: 'state.redis', message: expect.stringContaining('exactly one host expected') },
    ]);
  });

  it('a bad Docker endpoint is a problem when Docker is used, a warning otherwise', () => {
    const eps = 'docker: { endpoints: [ { name: far, host: "ftp://x" } ] }\n';
    expect(
      problems(`${eps}services:\n  - name: web\n    stable: { docker: { selector: { a: b }, port: 80 } }\n`),
    ).toEqual([
      {
        path: 'docker.endpoints[0]',
        message: expect.stringContaining('docker endpoint "far": host "ftp://x" is not understood'),
      },
    ]);
    const unused = inspectConfigText(eps, {}, undefined, host);
    expect(unused.result.ok).toBe(true);
    expect(unused.warnings).toEqual([
      { path: 'docker.endpoints[0]', message: expect.stringContaining('unused by this config') },
    ]);
  });

  it('an unreadable TLS file of a used endpoint is a problem', () => {
    const p = problems(
      'docker: { gc: true, endpoints: [ { name: tls, host: "tcp://10.0.0.1:2376", ' +
        'ca: /nonexistent/ca.pem, cert: /nonexistent/c.pem, key: /nonexistent/k.pem } ] }\n',
    );
    expect(p).toEqual([
      { path: 'docker.endpoints[0]', message: expect.stringContaining('cannot read ca file "/nonexistent/ca.pem"') },
    ]);
  });
});

describe('config-tree', () => {
  it('salvage drops the failing keys and keeps the rest with defaults', () => {
    expect(salvage(configSchema.shape.admin, { listen: '0.0.0.0:1', token: 5 })).toEqual({
      listen: { host: '0.0.0.0', port: 1 },
      token: '',
      ui: { sessionTtl: 12 * 3600_000, secureCookie: 'auto' },
    });
    expect(salvage(configSchema.shape.listen, 'nope')).toBeNull();
  });

  it('reads what is well-formed and leaves out the rest', () => {
    const parts = configParts({
      services: [{ name: 'a', match: { hosts: 5 }, stable: { targets: ['bad', '127.0.0.1:1'] } }, 'junk'],
      docker: { endpoints: 'x' },
    });
    expect(parts.services[0]).toMatchObject({ name: 'a', match: null, pools: { stable: { targets: [{ index: 1 }] } } });
    expect(parts.services[1]).toMatchObject({ name: null, match: { hosts: ['*'], pathPrefix: '/' } });
    expect(parts.docker.endpoints).toBeNull();
  });

  it('preflight of an empty tree finds nothing', () => {
    expect(preflight(null, host.localAddresses)).toEqual({ problems: [], warnings: [] });
  });
});
