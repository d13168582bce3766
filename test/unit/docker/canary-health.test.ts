// Why an unhealthy canary failed is never an empty string: the health check's output, else the
// container's last log lines, else a sentence saying there was neither.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { HealthGate, unhealthyReason } from '../../../src/docker/canary-health.js';
import { logExcerpt } from '../../../src/docker/engine-logs.js';
import type { ContainerDriver, ContainerView } from '../../../src/docker/port.js';

const NAMED = 'canary container web-r1-1 (local)';
/** A Docker-backed service without a health check of its own: the HTTP probe on "/" decides. */
const SVC = { docker: { name: 'web', stable: { selector: {}, port: 8080 }, manageCanary: true }, health: null };

describe('unhealthyReason', () => {
  it("quotes the health check's output", () => {
    expect(unhealthyReason(NAMED, 'probe: 503 Service Unavailable', 'ignored')).toBe(
      `${NAMED} is unhealthy: probe: 503 Service Unavailable`,
    );
  });

  it.each([null, '', '  \n'])('falls back to the last log lines when the check printed %j', (output) => {
    expect(unhealthyReason(NAMED, output, '\nlistening on 8080\ndb: connection refused\n')).toBe(
      `${NAMED} is unhealthy (its health check printed nothing); last log lines: listening on 8080\n` +
        'db: connection refused',
    );
  });

  it.each([
    [null, ''],
    ['', ' \n '],
  ])('says there was neither (output %j, logs %j)', (output, logs) => {
    expect(unhealthyReason(NAMED, output, logs)).toBe(`${NAMED} is unhealthy: no health output and no log lines`);
  });

  it('keeps the end of long logs', () => {
    const reason = unhealthyReason(NAMED, '', `${'x'.repeat(5_000)}\nthe last line`);
    expect(reason.length).toBeLessThan(1_200);
    expect(reason).toMatch(/last log lines: …x+\nthe last line$/);
  });
});

describe('logExcerpt', () => {
  it('trims, and keeps the last characters of a long text', () => {
    expect(logExcerpt('  a\nb \n')).toBe('a\nb');
    expect(logExcerpt('abcdefghij', 5)).toBe('…ghij');
  });
});

function unhealthy(healthOutput: string | null): ContainerView {
  return {
    endpoint: 'local',
    id: 'c1',
    name: 'web-r1-1',
    image: 'app:2',
    labels: {},
    running: true,
    health: 'unhealthy',
    ports: { '8080/tcp': [{ hostIp: '127.0.0.1', hostPort: 32768 }] },
    networks: {},
    networkMode: 'bridge',
    autoRemove: false,
    restartPolicy: 'no',
    healthOutput,
    exitCode: null,
    restarts: { count: 0, restarting: false, lastExit: null },
    error: '',
    created: 0,
  };
}

async function gateReason(v: ContainerView, logs: () => Promise<string>): Promise<string> {
  const engine = { endpoint: 'local', publishedHost: '127.0.0.1', inspect: async () => v, logs } as unknown;
  const gate = new HealthGate({ engine: () => engine as ContainerDriver, clock: { now: () => 0 }, pollMs: 1 });
  const r = await gate.awaitHealthy(SVC, [v], 1_000, 1_000, new AbortController().signal);
  if (r.ok) throw new Error('expected the gate to fail');
  return r.error;
}

describe('HealthGate: an unhealthy canary', () => {
  it('whose check printed nothing is explained by its logs', async () => {
    const reason = await gateReason(unhealthy(''), async () => 'panic: config missing\n');
    expect(reason).toBe(
      `${NAMED} is unhealthy (its health check printed nothing); last log lines: panic: config missing`,
    );
  });

  it('with neither output nor logs (nor an answer for logs) says so', async () => {
    expect(await gateReason(unhealthy(null), async () => '')).toBe(
      `${NAMED} is unhealthy: no health output and no log lines`,
    );
    expect(await gateReason(unhealthy(''), () => Promise.reject(new Error('engine gone')))).toBe(
      `${NAMED} is unhealthy: no health output and no log lines`,
    );
  });

  it("with a check's output does not read the logs", async () => {
    let read = false;
    const reason = await gateReason(unhealthy('exit 1: 503'), async () => {
      read = true;
      return 'x';
    });
    expect(reason).toBe(`${NAMED} is unhealthy: exit 1: 503`);
    expect(read).toBe(false);
  });
});

describe('HealthGate: a crash-looping canary', () => {
  const looping = (restarts: ContainerView['restarts']): ContainerView => ({
    ...unhealthy(null),
    health: 'none',
    ports: {},
    restarts,
  });

  it('is reported restarting with its last exit and output, not as a port problem', async () => {
    const reason = await gateReason(
      looping({ count: 3, restarting: true, lastExit: 1 }),
      async () => 'RangeError: options.port should be >= 0 and < 65536\n',
    );
    expect(reason).toBe(
      `${NAMED} is restarting (last exit 1, restarted 3 times); last output: ` +
        'RangeError: options.port should be >= 0 and < 65536',
    );
  });

  it('restarting for the first times is waited for, saying why when the wait ends, without logs if none', async () => {
    const reason = await gateReason(looping({ count: 1, restarting: true, lastExit: null }), async () => '');
    expect(reason).toBe(`${NAMED} was not healthy within 1s: is restarting (restarted 1 time)`);
  });

  it('running again after a restart, and serving, passes the gate', async () => {
    const up = createServer((_req, res) => res.end('ok')).listen(0, '127.0.0.1');
    await once(up, 'listening');
    try {
      const port = (up.address() as AddressInfo).port;
      const served: ContainerView = {
        ...looping({ count: 1, restarting: false, lastExit: null }),
        ports: { '8080/tcp': [{ hostIp: '127.0.0.1', hostPort: port }] },
      };
      const engine = {
        endpoint: 'local',
        publishedHost: '127.0.0.1',
        inspect: async () => served,
        logs: async () => '',
      };
      const gate = new HealthGate({
        engine: () => engine as unknown as ContainerDriver,
        clock: { now: () => 0 },
        pollMs: 1,
      });
      const r = await gate.awaitHealthy(SVC, [served], 1_000, 1_000, new AbortController().signal);
      expect(r).toEqual({ ok: true, value: [`127.0.0.1:${port}`] });
    } finally {
      up.close();
    }
  });
});

describe('HealthGate: a canary that exits after its last look', () => {
  it('is reported by its exit and output when the wait ends, not by the probe that last failed', async () => {
    // A port nothing listens on: the probe fails at once, as a container's does while its process starts.
    const closed = createServer().listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, 'close');
    const starting: ContainerView = {
      ...unhealthy(null),
      health: 'none',
      ports: { '8080/tcp': [{ hostIp: '127.0.0.1', hostPort: port }] },
    };
    const exited: ContainerView = { ...starting, running: false, exitCode: 1 };
    // Each look reads Docker's record once and takes 600 ms: the second look is the last before the 1 s deadline,
    // and the container has exited by the third read.
    let now = 0;
    let reads = 0;
    const engine = {
      endpoint: 'local',
      publishedHost: '127.0.0.1',
      inspect: async () => {
        now += 600;
        return ++reads <= 2 ? starting : exited;
      },
      logs: async () => 'RangeError [ERR_SOCKET_BAD_PORT]: options.port should be >= 0 and < 65536\n',
    };
    const gate = new HealthGate({
      engine: () => engine as unknown as ContainerDriver,
      clock: { now: () => now },
      pollMs: 1,
    });
    const r = await gate.awaitHealthy(SVC, [starting], 1_000, 1_000, new AbortController().signal);
    expect(reads).toBe(3);
    expect(r).toEqual({
      ok: false,
      error:
        `${NAMED} exited with code 1; last output: ` +
        'RangeError [ERR_SOCKET_BAD_PORT]: options.port should be >= 0 and < 65536',
    });
  });
});
