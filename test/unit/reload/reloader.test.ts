// The reloader's order and refusals, with parts that record what they were asked to do.
import { describe, expect, it } from 'vitest';
import { parseConfigObject } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';
import { ConfigError, err, ok, type Result } from '../../../src/domain/errors.js';
import { silentLogger } from '../../../src/domain/log.js';
import { Reloader, type ReloadParts } from '../../../src/reload/reloader.js';

const config = (obj: Record<string, unknown>): Config => {
  const r = parseConfigObject({ state: { store: 'memory' }, ...obj }, {}, { localAddresses: new Set() });
  if (!r.ok) throw r.error;
  return r.value;
};
const svc = (name: string) => ({ name, match: { hosts: [`${name}.test`] }, stable: { targets: ['127.0.0.1:1'] } });

interface Faults {
  rebindFails?: boolean;
  /** The services whose running rollout the new config takes the pools from. */
  outdated?: string[];
  /** `prepare` throws this many times (the store unavailable). */
  prepareFails?: number;
}

function setup(first: Config, files: Array<Result<Config, ConfigError>>, f: Faults = {}) {
  const calls: string[] = [];
  const events: string[] = [];
  const parts: ReloadParts = {
    load: async () => files.shift() ?? err(new ConfigError('no file')),
    prepare: async (added) => {
      if ((f.prepareFails ?? 0) > 0) {
        f.prepareFails = (f.prepareFails ?? 0) - 1;
        throw new Error('redis unavailable');
      }
      calls.push(`prepare ${added.join(',')}`);
    },
    abort: async (s) => void calls.push(`abort ${s}`),
    abortOutdated: async (s, why) => {
      calls.push(`asked ${s.name}`);
      if (f.outdated?.includes(s.name) === true) calls.push(`abort ${s.name} (${why})`);
    },
    apply: (services) => void calls.push(`apply ${services.map((s) => s.name).join(',')}`),
    rebind: async (l) => {
      calls.push(`rebind ${l.port}`);
      if (f.rebindFails === true) throw new Error('EADDRINUSE');
      return { address: l.host, port: l.port };
    },
    setToken: (t) => void calls.push(`token ${t}`),
    setWebhooks: async () => void calls.push('webhooks'),
    setAccessLog: async (c) => void calls.push(`access log ${c.enabled ? c.output : 'off'}`),
    reloadTls: async () => void calls.push('tls'),
  };
  const reloader = new Reloader({ config: first, parts, log: silentLogger, emit: (e) => void events.push(e.message) });
  return { reloader, calls, events };
}

describe('Reloader', () => {
  it('applies in order: prepare, abort the removed, swap, abort again, token, webhooks, log, TLS', async () => {
    const notifications = { webhooks: [{ url: 'http://127.0.0.1:1/hook' }] };
    const accessLog = { output: '/tmp/veer-access.log' };
    const next = config({ admin: { token: 't2' }, notifications, accessLog, services: [svc('a'), svc('c')] });
    const { reloader, calls, events } = setup(config({ services: [svc('a'), svc('b')] }), [ok(next)]);
    const r = await reloader.reload('api');
    expect(r.ok && r.value).toMatchObject({ added: ['c'], removed: ['b'], token: true });
    const access = 'access log /tmp/veer-access.log';
    // The second abort catches a start that raced the reload (queued after the first, before the swap).
    expect(calls).toEqual(['prepare c', 'abort b', 'apply a,c', 'abort b', 'token t2', 'webhooks', access, 'tls']);
    expect(events).toEqual(['config reloaded (api)']);
    expect(reloader.config()).toEqual(next);
  });

  it("aborts, around the swap, a rollout whose pools a changed service's new targets take away", async () => {
    const moved = { ...svc('a'), stable: { targets: ['127.0.0.1:2'] } };
    const next = config({ services: [moved, svc('b')] });
    const { reloader, calls } = setup(config({ services: [svc('a'), svc('b')] }), [ok(next)], { outdated: ['a'] });
    expect((await reloader.reload('api')).ok).toBe(true);
    const why = "(the service's targets changed in the config: the rollout's pools are no longer routed)";
    // Only the changed service is asked; whether its rollout is outdated is decided in its command queue,
    // again after the swap, for a start that raced the reload (abortFor skips one already ending).
    expect(calls).toEqual(['prepare ', 'asked a', `abort a ${why}`, 'apply a,b', 'asked a', `abort a ${why}`, 'tls']);
  });

  it('a file that drops the token while the running admin API listens beyond loopback is refused', async () => {
    const exposed = config({ admin: { listen: '0.0.0.0:9090', token: 't1' }, services: [svc('a')] });
    const next = config({ admin: { listen: '127.0.0.1:9090', token: '' }, services: [svc('a'), svc('b')] });
    const { reloader, calls, events } = setup(exposed, [ok(next)]);
    const r = await reloader.reload('api');
    expect(!r.ok && r.error.problems).toEqual([
      {
        path: 'admin.token',
        message:
          'required while the admin API listens on 0.0.0.0, beyond loopback: admin.listen changes only at a ' +
          'restart, so keep the token until then',
      },
    ]);
    expect(calls).toEqual([]);
    expect(events[0]).toContain('config reload refused (api)');
    expect(reloader.config().admin.token).toBe('t1');
    // On loopback the same file is a token change like any other.
    const local = setup(config({ admin: { token: 't1' }, services: [svc('a')] }), [ok(next)]);
    expect((await local.reloader.reload('api')).ok).toBe(true);
    expect(local.calls).toContain('token ');
  });

  it('an invalid file changes nothing and is announced', async () => {
    const first = config({ services: [svc('a')] });
    const bad = new ConfigError('invalid configuration: services[0].weight: too big');
    const { reloader, calls, events } = setup(first, [err(bad)]);
    const r = await reloader.reload('signal');
    expect(r.ok).toBe(false);
    expect(calls).toEqual([]);
    expect(events[0]).toContain('config reload refused (signal)');
    expect(reloader.config()).toBe(first);
  });

  it('a listener that cannot bind refuses the whole reload, naming listen', async () => {
    const first = config({ services: [svc('a')] });
    const next = config({ listen: '127.0.0.1:7001', services: [svc('b')] });
    const { reloader, calls } = setup(first, [ok(next)], { rebindFails: true });
    const r = await reloader.reload('watch');
    expect(!r.ok && r.error.problems[0]?.path).toBe('listen');
    expect(calls).toEqual(['rebind 7001']);
    expect(reloader.config()).toBe(first);
  });

  it('a reload that fails after the listener moved keeps the move: the next one does not bind it again', async () => {
    const first = config({ services: [svc('a')] });
    const next = config({ listen: '127.0.0.1:7002', services: [svc('a'), svc('b')] });
    const { reloader, calls } = setup(first, [ok(next), ok(next)], { prepareFails: 1 });
    const r = await reloader.reload('api');
    expect(!r.ok && r.error.message).toBe('config reload failed (api): redis unavailable');
    expect(calls).toEqual(['rebind 7002']);
    expect(reloader.config().services.map((s) => s.name)).toEqual(['a']);
    // The same file again, the store back: the services are applied, the listener is not bound a second time.
    expect((await reloader.reload('api')).ok).toBe(true);
    expect(calls).toEqual(['rebind 7002', 'prepare b', 'apply a,b', 'tls']);
  });

  it('runs one reload at a time, in the order asked', async () => {
    const a = config({ services: [svc('a')] });
    const { reloader, calls } = setup(a, [ok(config({ services: [svc('x')] })), ok(config({ services: [svc('y')] }))]);
    await Promise.all([reloader.reload('api'), reloader.reload('signal')]);
    expect(calls.filter((c) => c.startsWith('apply'))).toEqual(['apply x', 'apply y']);
  });
});
