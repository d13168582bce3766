import { describe, expect, it } from 'vitest';
import { ioredisOptions, parseRedisUrl, reconnectDelayMs, redactRedisUrl } from '../../../src/store/redis-url.js';

const tuning = { commandTimeoutMs: 700, connectTimeoutMs: 1_500 };

describe('parseRedisUrl', () => {
  it('reads a plain redis:// URL with defaults', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6380')).toEqual({
      mode: 'standalone',
      tls: false,
      hosts: [{ host: '127.0.0.1', port: 6380 }],
      db: 0,
    });
    expect(parseRedisUrl('redis://cache')).toMatchObject({ hosts: [{ host: 'cache', port: 6379 }], db: 0 });
    expect(parseRedisUrl('redis://cache/')).toMatchObject({ db: 0 });
  });

  it('reads password, username, db and TLS', () => {
    expect(parseRedisUrl('redis://:s3cret@h:1/2')).toEqual({
      mode: 'standalone',
      tls: false,
      hosts: [{ host: 'h', port: 1 }],
      password: 's3cret',
      db: 2,
    });
    expect(parseRedisUrl('rediss://app:p%40ss%2Fw@h:6380/3')).toEqual({
      mode: 'standalone',
      tls: true,
      hosts: [{ host: 'h', port: 6380 }],
      username: 'app',
      password: 'p@ss/w',
      db: 3,
    });
    // An unencoded "@" in the password still works: the last "@" ends the userinfo.
    expect(parseRedisUrl('redis://:a@b@h:1')).toMatchObject({ password: 'a@b', hosts: [{ host: 'h', port: 1 }] });
  });

  it('reads bracketed IPv6 hosts', () => {
    expect(parseRedisUrl('redis://[::1]:6390')).toMatchObject({ hosts: [{ host: '::1', port: 6390 }] });
    expect(parseRedisUrl('redis+cluster://[::1]:7000,[::1]')).toMatchObject({
      hosts: [
        { host: '::1', port: 7000 },
        { host: '::1', port: 6379 },
      ],
    });
  });

  it('reads sentinel URLs: sentinels, master name, optional db', () => {
    expect(parseRedisUrl('redis+sentinel://:pw@s1:26379,s2:26380,s3/mymaster/4')).toEqual({
      mode: 'sentinel',
      tls: false,
      hosts: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
        { host: 's3', port: 26379 },
      ],
      password: 'pw',
      masterName: 'mymaster',
      db: 4,
    });
    expect(parseRedisUrl('rediss+sentinel://s1/m')).toMatchObject({
      mode: 'sentinel',
      tls: true,
      masterName: 'm',
      db: 0,
    });
  });

  it('reads cluster URLs', () => {
    expect(parseRedisUrl('redis+cluster://h1:7000,h2:7001')).toEqual({
      mode: 'cluster',
      tls: false,
      hosts: [
        { host: 'h1', port: 7000 },
        { host: 'h2', port: 7001 },
      ],
      db: 0,
    });
  });

  it.each([
    ['http://h:1', 'unknown scheme'],
    ['h:6379', 'unknown scheme'],
    ['redis://h1:1,h2:2', 'exactly one host'],
    ['redis://h:0', 'out of range'],
    ['redis://h:70000', 'out of range'],
    ['redis://h:12x', 'bad host'],
    ['redis://', 'bad host'],
    ['redis://h/db', 'not a number'],
    ['redis://h/1/2', 'database number'],
    ['redis://h?db=1', 'query'],
    ['redis+sentinel://s1,s2', '/<masterName>'],
    ['redis+sentinel://s1/m/1/x', '/<masterName>'],
    ['redis+cluster://h1,h2/3', 'only database 0'],
    ['redis://:%E0%A4%A@h', 'percent-encoding'],
  ])('rejects %s (%s) as a config error without leaking a password', (url, why) => {
    let caught: unknown;
    try {
      parseRedisUrl(url);
    } catch (e) {
      caught = e;
    }
    expect(caught).toMatchObject({ code: 'config_invalid', problems: [{ path: 'state.redis' }] });
    expect((caught as Error).message).toContain(why);
  });

  it('never puts the password into the error message', () => {
    expect(() => parseRedisUrl('redis://:hunter2@h:99999')).toThrow(/redis:\/\/:\*\*\*@h:99999/);
    expect(() => parseRedisUrl('redis://:hunter2@h:99999')).not.toThrow(/hunter2/);
  });
});

describe('redactRedisUrl', () => {
  it('hides passwords and keeps everything else', () => {
    expect(redactRedisUrl('redis://:pw@h:1/2')).toBe('redis://:***@h:1/2');
    expect(redactRedisUrl('rediss://user:pw@h:1')).toBe('rediss://user:***@h:1');
    expect(redactRedisUrl('redis+sentinel://:a@b@s1,s2/m')).toBe('redis+sentinel://:***@s1,s2/m');
    expect(redactRedisUrl('redis://user@h')).toBe('redis://user@h');
    expect(redactRedisUrl('redis://h:1')).toBe('redis://h:1');
    expect(redactRedisUrl('not a url')).toBe('not a url');
  });
});

describe('ioredisOptions', () => {
  it('turns off the offline queue and bounds every wait for a single server', () => {
    const spec = ioredisOptions(parseRedisUrl('rediss://:pw@h:6380/2'), tuning);
    expect(spec.mode).toBe('standalone');
    expect(spec.options).toMatchObject({
      host: 'h',
      port: 6380,
      db: 2,
      password: 'pw',
      tls: {},
      enableOfflineQueue: false,
      commandTimeout: 700,
      connectTimeout: 1_500,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
    });
    expect(spec.options).not.toHaveProperty('username');
    expect(spec.mode !== 'cluster' && spec.options.retryStrategy?.(50)).toBe(2_000);
  });

  it('configures sentinels and the master name; the password is the master’s', () => {
    const spec = ioredisOptions(parseRedisUrl('redis+sentinel://:pw@s1:26379,s2:26380/mymaster/1'), tuning);
    expect(spec.mode).toBe('sentinel');
    expect(spec.options).toMatchObject({
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
      name: 'mymaster',
      db: 1,
      password: 'pw',
      enableOfflineQueue: false,
      commandTimeout: 700,
    });
    expect(spec.options).not.toHaveProperty('sentinelPassword');
    expect(spec.options).not.toHaveProperty('enableTLSForSentinelMode');
    expect(spec.mode !== 'cluster' && spec.options.sentinelRetryStrategy?.(1)).toBe(50);
    const tls = ioredisOptions(parseRedisUrl('rediss+sentinel://s1/m'), tuning);
    expect(tls.options).toMatchObject({ tls: {}, enableTLSForSentinelMode: true, sentinelTLS: {} });
  });

  it('puts the queue switch at the top level for Cluster and node settings in redisOptions', () => {
    const spec = ioredisOptions(parseRedisUrl('redis+cluster://:pw@h1:7000,h2:7001'), tuning);
    if (spec.mode !== 'cluster') throw new Error(`expected cluster, got ${spec.mode}`);
    expect(spec.nodes).toEqual([
      { host: 'h1', port: 7000 },
      { host: 'h2', port: 7001 },
    ]);
    expect(spec.options).toMatchObject({
      enableOfflineQueue: false,
      redisOptions: { password: 'pw', commandTimeout: 700, autoResendUnfulfilledCommands: false },
    });
    expect(spec.options.redisOptions).not.toHaveProperty('enableOfflineQueue');
    expect(spec.options.clusterRetryStrategy?.(3)).toBe(200);
  });

  it('reconnects to a failed-over master on READONLY, not on other errors', () => {
    const spec = ioredisOptions(parseRedisUrl('redis://h'), tuning);
    const decide = spec.mode !== 'cluster' ? spec.options.reconnectOnError : undefined;
    expect(decide?.(new Error("READONLY You can't write against a read only replica."))).toBe(true);
    expect(decide?.(new Error('ERR wrong number of arguments'))).toBe(false);
  });
});

describe('reconnectDelayMs', () => {
  it('backs off exponentially, never gives up, and never waits more than 2 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 1_000].map(reconnectDelayMs)).toEqual([
      50, 100, 200, 400, 800, 1_600, 2_000, 2_000, 2_000,
    ]);
    expect(reconnectDelayMs(0)).toBe(50);
  });
});
