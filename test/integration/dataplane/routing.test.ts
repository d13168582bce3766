// Host and path routing through a real veer to real upstreams: each service has its own upstream,
// so the upstream that answers names the route that matched.
import { describe, expect, it } from 'vitest';
import { errorCode, hasStackTrace, http, useHarness } from '../../helpers/veer.js';

const h = useHarness();

async function routedVeer() {
  const names = ['exact', 'wild', 'deepwild', 'anyapi', 'anyapiv2', 'exactapi'] as const;
  const ups = Object.fromEntries(
    await Promise.all(names.map(async (n) => [n, await h.upstream(n)] as const)),
  ) as Record<(typeof names)[number], Awaited<ReturnType<typeof h.upstream>>>;
  const svc = (name: string, hosts: string[], pathPrefix: string, target: string) => ({
    name,
    match: { hosts, pathPrefix },
    stable: { targets: [target] },
  });
  const v = await h.veer({
    services: [
      svc('exact', ['api.example.com'], '/', ups.exact.address),
      svc('exactapi', ['api.example.com'], '/api', ups.exactapi.address),
      svc('wild', ['*.example.com'], '/', ups.wild.address),
      svc('deepwild', ['*.b.example.com'], '/', ups.deepwild.address),
      // No catch-all "*" + "/": requests for unknown hosts outside /api must find no route.
      svc('anyapi', ['*'], '/api', ups.anyapi.address),
      svc('anyapiv2', ['*'], '/api/v2', ups.anyapiv2.address),
    ],
  });
  const via = async (host: string, path: string) => {
    const r = await http(`${v.url}${path}`, { headers: { host } });
    return { status: r.status, upstream: r.headers['x-upstream'], r };
  };
  return { v, ups, via };
}

describe('routing', () => {
  it('routes an exact host, and prefers its longer path prefix', async () => {
    const { via, ups } = await routedVeer();
    expect(await via('api.example.com', '/')).toMatchObject({ status: 200, upstream: 'exact' });
    expect(await via('api.example.com', '/api/users')).toMatchObject({ status: 200, upstream: 'exactapi' });
    expect(await via('api.example.com', '/apix')).toMatchObject({ status: 200, upstream: 'exact' });
    expect(ups.exact.hits).toBe(2);
    expect(ups.exactapi.hits).toBe(1);
    expect(ups.exactapi.requests[0]?.url).toBe('/api/users');
  });

  it('matches wildcards, the most specific suffix first', async () => {
    const { via, ups } = await routedVeer();
    expect(await via('shop.example.com', '/x')).toMatchObject({ status: 200, upstream: 'wild' });
    expect(await via('a.b.example.com', '/x')).toMatchObject({ status: 200, upstream: 'deepwild' });
    expect(await via('x.y.b.example.com', '/x')).toMatchObject({ status: 200, upstream: 'deepwild' });
    // "*.example.com" does not match the bare domain; the "*" host only serves /api.
    expect((await via('example.com', '/x')).status).toBe(404);
    expect(ups.wild.hits).toBe(1);
    expect(ups.deepwild.hits).toBe(2);
  });

  it('falls back to "*" with the longest path prefix on a segment boundary', async () => {
    const { via, ups } = await routedVeer();
    expect(await via('other.test', '/api')).toMatchObject({ status: 200, upstream: 'anyapi' });
    expect(await via('other.test', '/api/v1/x')).toMatchObject({ status: 200, upstream: 'anyapi' });
    expect(await via('other.test', '/api/v2')).toMatchObject({ status: 200, upstream: 'anyapiv2' });
    expect(await via('other.test', '/api/v2/items?x=1')).toMatchObject({ status: 200, upstream: 'anyapiv2' });
    expect(await via('other.test', '/api/v2x')).toMatchObject({ status: 200, upstream: 'anyapi' });
    expect((await via('other.test', '/apix')).status).toBe(404);
    expect(ups.anyapi.hits).toBe(3);
    expect(ups.anyapiv2.hits).toBe(2);
  });

  it('ignores the port and the case of the Host header', async () => {
    const { via, ups } = await routedVeer();
    expect(await via('api.example.com:8080', '/')).toMatchObject({ status: 200, upstream: 'exact' });
    expect(await via('API.Example.COM', '/')).toMatchObject({ status: 200, upstream: 'exact' });
    expect(await via('shop.example.com:443', '/')).toMatchObject({ status: 200, upstream: 'wild' });
    expect(ups.exact.hits).toBe(2);
    // The upstream sees the Host the client sent, port included.
    expect(ups.exact.requests[0]?.headers.host).toBe('api.example.com:8080');
  });

  it('answers 404 JSON no_route when nothing matches, without touching an upstream', async () => {
    const { via, ups } = await routedVeer();
    const { r } = await via('nothing.test', '/home');
    expect(r.status).toBe(404);
    expect(r.headers['content-type']).toBe('application/json');
    expect(errorCode(r)).toBe('no_route');
    expect(JSON.parse(r.text)).toEqual({
      error: { code: 'no_route', message: expect.any(String), requestId: expect.any(String) },
    });
    expect(hasStackTrace(r.text)).toBe(false);
    expect(Object.values(ups).reduce((n, u) => n + u.hits, 0)).toBe(0);
  });
});
