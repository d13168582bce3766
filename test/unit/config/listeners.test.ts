// Listener addresses as `veer validate` checks them: two listeners that cannot both bind, and a
// target that is one of veer's own listeners (the TLS one included).
import { afterAll, describe, expect, it } from 'vitest';
import { inspectConfigText } from '../../../src/config/load.js';
import { localAddressSet } from '../../../src/domain/self-address.js';
import { SelfAddresses } from '../../../src/self-address.js';
import { testCa } from '../../helpers/certs.js';

const ca = testCa();
afterAll(() => ca.remove());
const pair = ca.issue(['a.test']);
const host = { localAddresses: localAddressSet(['127.0.0.1', '10.1.2.3']) };

function problems(listen: string, admin: string, tls: string, targets = '127.0.0.1:9001'): Array<[string, string]> {
  const text = [
    `listen: ${listen}`,
    `admin: { listen: ${admin} }`,
    `tls: { listen: "${tls}", certificates: [{ cert: ${pair.cert}, key: ${pair.key} }] }`,
    `services: [{ name: web, stable: { targets: ["${targets}"] } }]`,
  ].join('\n');
  const r = inspectConfigText(text, {}, undefined, host).result;
  return r.ok ? [] : r.error.problems.map((p) => [p.path, p.message]);
}

describe('listener addresses', () => {
  it('refuses the TLS listener on the data plane port, naming both keys', () => {
    expect(problems('0.0.0.0:8080', '127.0.0.1:9090', '0.0.0.0:8080')).toEqual([
      [
        'tls.listen',
        '0.0.0.0:8080 takes the port of listen (0.0.0.0:8080); each listener needs its own port or a host of its own',
      ],
    ]);
  });

  it('a wildcard IPv4 listener clashes with a loopback one on the same port, "::" with anything', () => {
    expect(problems('127.0.0.1:8080', '127.0.0.1:9090', '0.0.0.0:8080').map(([p]) => p)).toEqual(['tls.listen']);
    expect(problems('127.0.0.1:8443', '127.0.0.1:9090', '[::]:8443').map(([p]) => p)).toEqual(['tls.listen']);
    expect(problems('0.0.0.0:9090', '127.0.0.1:9090', '0.0.0.0:8443').map(([p]) => p)).toEqual(['admin.listen']);
  });

  it('localhost clashes with 127.0.0.1 and ::1 on the same port (it binds to whichever it resolves to first)', () => {
    expect(problems('127.0.0.1:8080', 'localhost:8080', '0.0.0.0:8443').map(([p]) => p)).toEqual(['admin.listen']);
    expect(problems('localhost:8443', '127.0.0.1:9090', '[::1]:8443').map(([p]) => p)).toEqual(['tls.listen']);
    expect(problems('localhost:8080', 'localhost:9090', 'localhost:8080').map(([p]) => p)).toEqual(['tls.listen']);
    expect(problems('localhost:8080', '127.0.0.2:8080', '0.0.0.0:8443')).toEqual([]);
  });

  it('accepts the same port on different hosts or families, and port 0 twice', () => {
    expect(problems('127.0.0.1:8443', '127.0.0.1:9090', '127.0.0.2:8443')).toEqual([]);
    expect(problems('0.0.0.0:8443', '127.0.0.1:9090', '[::1]:8443')).toEqual([]);
    expect(problems('127.0.0.1:0', '127.0.0.1:0', '127.0.0.1:0')).toEqual([]);
  });

  it('refuses a target that is the TLS listener', () => {
    expect(problems('127.0.0.1:8080', '127.0.0.1:9090', '0.0.0.0:8443', '10.1.2.3:8443')).toEqual([
      ['services[0].stable.targets[0]', "is veer's own TLS listener 0.0.0.0:8443: traffic would loop"],
    ]);
  });

  it('at run time the bound TLS port counts as veer itself', () => {
    const self = new SelfAddresses(
      {
        listen: { host: '127.0.0.1', port: 0 },
        admin: { listen: { host: '127.0.0.1', port: 0 }, token: '', ui: { sessionTtl: 60_000, secureCookie: 'auto' } },
        tls: undefined,
      },
      () => localAddressSet(['127.0.0.1']),
    );
    const target = { id: '127.0.0.1:41234', host: '127.0.0.1', port: 41234 };
    expect(self.isSelf(target)).toBeNull();
    self.bound({
      'data-plane': { address: '127.0.0.1', port: 41000, family: 'IPv4' },
      admin: { address: '127.0.0.1', port: 41001, family: 'IPv4' },
      tls: { address: '127.0.0.1', port: 41234, family: 'IPv4' },
    });
    expect(self.isSelf(target)).toBe("veer's own TLS listener 127.0.0.1:41234: traffic would loop");
  });
});
