import { describe, expect, it } from 'vitest';
import { RouteGroups } from '../../../src/metrics/route-groups.js';
import { buildTable, stickyRuntime, type PoolRuntime, type ServiceRoute } from '../../../src/dataplane/table.js';
import { readStickyBucket } from '../../../src/dataplane/split.js';
import type { PoolWindow } from '../../../src/metrics/window.js';
import type { ServiceConfig } from '../../../src/config/schema.js';
import { noPages } from '../../helpers/service-pages.js';

describe('stickyRuntime', () => {
  it('builds the scan prefix and the cookie attributes', () => {
    const s = stickyRuntime('veer-web', 86_400_000, false, 'lax');
    expect(s.namePrefix).toBe('veer-web=');
    expect(s.attributes).toBe('; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax');
  });

  it('capitalises SameSite and adds Secure when asked', () => {
    expect(stickyRuntime('c', 1000, true, 'strict').attributes).toBe(
      '; Path=/; Max-Age=1; HttpOnly; SameSite=Strict; Secure',
    );
    expect(stickyRuntime('c', 1000, true, 'none').attributes).toBe(
      '; Path=/; Max-Age=1; HttpOnly; SameSite=None; Secure',
    );
  });

  it('rounds Max-Age down to whole seconds', () => {
    expect(stickyRuntime('c', 90_999, false, 'lax').attributes).toContain('; Max-Age=90;');
    expect(stickyRuntime('c', 999, false, 'lax').attributes).toContain('; Max-Age=0;');
  });

  it('produces a Set-Cookie value that readStickyBucket reads back', () => {
    const s = stickyRuntime('veer-web', 3_600_000, true, 'lax');
    const setCookie = `${s.namePrefix}1234${s.attributes}`;
    // A browser sends back only "name=value".
    const cookieHeader = `other=1; ${setCookie.split(';')[0] as string}`;
    expect(readStickyBucket(cookieHeader, s.namePrefix)).toBe(1234);
  });
});

function poolRuntime(name: 'stable' | 'canary'): PoolRuntime {
  // The table never touches the window; routing tests need only its identity.
  return { name, targets: [], window: {} as PoolWindow };
}

function route(name: string, hosts: string[], pathPrefix: string, weightBp = 0): ServiceRoute {
  return {
    name,
    from: {} as ServiceConfig, // the table keeps it only to compare by identity
    hosts,
    pathPrefix,
    weightBp,
    stable: poolRuntime('stable'),
    canary: poolRuntime('canary'),
    groups: new RouteGroups({ routes: 'auto', excludePaths: [], base: pathPrefix }),
    byRoute: false,
    sticky: null,
    targeting: null,
    rolloutId: null,
    outlier: { consecutiveErrors: 5, ejectFor: 30_000, maxEjectedPercent: 50 },
    retryCanaryOnStable: false,
    maxRequestBody: Infinity,
    timeouts: { header: 30_000, body: 60_000, waitForTarget: 0 },
    pages: noPages(),
    grpc: null,
  };
}

describe('buildTable', () => {
  it('indexes routes by name and routes by host and path', () => {
    const web = route('web', ['*'], '/');
    const api = route('api', ['api.example.com'], '/v1');
    const t = buildTable(7, [web, api]);
    expect(t.version).toBe(7);
    expect(t.routes.get('web')).toBe(web);
    expect(t.routes.get('api')).toBe(api);
    expect(t.router.lookup('api.example.com', '/v1/users')).toBe(api);
    expect(t.router.lookup('api.example.com', '/other')).toBe(web);
  });
});
