// planReload: what a new config file changes live, and what it leaves for a restart.
import { describe, expect, it } from 'vitest';
import { parseConfigObject } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';
import { planReload } from '../../../src/reload/plan.js';

const LOCAL = { localAddresses: new Set(['127.0.0.1']) };

function config(obj: Record<string, unknown>): Config {
  const r = parseConfigObject({ state: { store: 'memory' }, ...obj }, {}, LOCAL);
  if (!r.ok) throw r.error;
  return r.value;
}

const svc = (name: string, targets: string[], extra: Record<string, unknown> = {}) => ({
  name,
  match: { hosts: [`${name}.test`] },
  stable: { targets },
  ...extra,
});
const dockerSvc = (name: string, label: string) => ({
  name,
  match: { hosts: [`${name}.test`] },
  stable: { docker: { selector: { app: label }, port: 8080 } },
});

describe('planReload', () => {
  it('names added, removed and changed services and applies them', () => {
    const old = config({ services: [svc('a', ['127.0.0.1:1']), svc('b', ['127.0.0.1:2'])] });
    const next = config({ services: [svc('a', ['127.0.0.1:9']), svc('c', ['127.0.0.1:3'])] });
    const p = planReload(old, next);
    expect(p).toMatchObject({ added: ['c'], removed: ['b'], changed: ['a'], restart: [], rebind: false });
    expect(p.config.services.map((s) => s.name)).toEqual(['a', 'c']);
    expect(p.config.services[0]?.stable.targets.map((t) => t.id)).toEqual(['127.0.0.1:9']);
  });

  it('an identical file changes nothing', () => {
    const c = { services: [svc('a', ['127.0.0.1:1'])], notifications: { webhooks: [{ url: 'http://127.0.0.1:1/' }] } };
    expect(planReload(config(c), config(c))).toMatchObject({
      added: [],
      removed: [],
      changed: [],
      restart: [],
      rebind: false,
      token: false,
      webhooks: false,
    });
  });

  it('keeps what needs a restart as it runs and names it', () => {
    const old = config({ services: [svc('a', ['127.0.0.1:1'])] });
    const next = config({
      state: { store: 'file', path: '/tmp/x.json' },
      proxy: { maxHeaders: 50 },
      admin: { listen: '127.0.0.1:9191', token: 'secret', ui: { sessionTtl: '1h' } },
      listen: '127.0.0.1:8181',
      services: [svc('a', ['127.0.0.1:1'])],
    });
    const p = planReload(old, next);
    expect(p.restart).toEqual(['state', 'proxy', 'admin.listen', 'admin.ui']);
    expect(p.config.state).toEqual(old.state);
    expect(p.config.proxy).toEqual(old.proxy);
    expect(p.config.admin).toEqual({ listen: old.admin.listen, token: 'secret', ui: old.admin.ui });
    expect(p).toMatchObject({ rebind: true, token: true });
    expect(p.config.listen).toEqual({ host: '127.0.0.1', port: 8181 });
  });

  it('a service whose Docker pools appear or change keeps running as it is; one removed is removed', () => {
    const old = config({ services: [dockerSvc('d', 'one'), dockerSvc('gone', 'x')] });
    const next = config({ services: [dockerSvc('d', 'two'), dockerSvc('new', 'y')] });
    const p = planReload(old, next);
    expect(p.restart).toEqual(['services[d].stable.docker', 'services[new].stable.docker']);
    expect(p.config.services).toEqual([old.services[0]]);
    expect(p).toMatchObject({ added: [], removed: ['gone'], changed: [] });
  });
});
